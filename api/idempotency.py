"""``Idempotency-Key`` on every POST that creates or moves money or stock.

The record of a key is inserted in the same transaction as the effect, before it: a second request with the
same key waits on the unique index until the first commits, then finds the stored answer (same request) or
refuses (``idempotency_key_reused``, another request). A first request that fails with a server error rolls
its record back with its effect, so the key can be tried again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.response import Response

from groupbuy import clock
from groupbuy.errors import DomainError

from .auth import caller_owner
from .errors import ApiError, body
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEY_MAX = 100


def request_hash(request, data) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def idempotency_key(request) -> str:
    key = request.headers.get(HEADER, "")
    if not key:
        raise ApiError(
            status_code=400,
            code="idempotency_key_required",
            message=_("Send an Idempotency-Key header (a unique string per operation) with this request."),
        )
    if len(key) > KEY_MAX or not key.isascii() or not key.isprintable():
        raise ApiError(
            status_code=400,
            code="idempotency_key_invalid",
            message=_("The Idempotency-Key is 1 to %(n)s printable ASCII characters.") % {"n": KEY_MAX},
        )
    return key


def _replay(record: IdempotencyRecord, digest: str) -> Response:
    if record.request_hash != digest:
        raise ApiError(
            status_code=422,
            code="idempotency_key_reused",
            message=_("This Idempotency-Key was already used with a different request."),
        )
    response = Response(record.body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(request, data, effect: Callable[[str], tuple[int, dict]]) -> Response:
    """Run ``effect(scoped_key)`` once per (caller, key); ``scoped_key`` (32 hex) keys the service's own
    idempotency (a ledger key). ``data`` is the validated body (hashed with the
    method and path). A domain refusal is stored too: the same request gets the same refusal."""
    key = idempotency_key(request)
    owner = caller_owner(request)
    digest = request_hash(request, data)
    stored = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
    if stored is not None:
        return _replay(stored, digest)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    owner=owner, key=key, request_hash=digest, status_code=0, body={}, created_at=clock.now()
                )
        except IntegrityError:
            # A concurrent request with this key committed first: answer as it did.
            return _replay(IdempotencyRecord.objects.get(owner=owner, key=key), digest)
        try:
            with transaction.atomic():
                status_code, payload = effect(hashlib.sha256(f"{owner}:{key}".encode()).hexdigest()[:32])
        except DomainError as refused:
            status_code, payload = 409, body(refused.code or "refused", refused.message)
        record.status_code, record.body = status_code, payload
        record.save(update_fields=["status_code", "body"])
    return Response(payload, status=status_code)


KEEP = timedelta(days=7)


def records_purge(*, now=None) -> int:
    """Delete the records older than ``KEEP``; returns how many. A key reused after that is a new request."""
    cutoff = (now or clock.now()) - KEEP
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
