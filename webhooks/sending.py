"""Sending deliveries: claim the due ones, POST them (no lock held), record the outcome, schedule retries.

- **Claim, then send.** A sender locks due rows with ``FOR UPDATE SKIP LOCKED`` only long enough to move
  their ``next_attempt_at`` past a lease (``LEASE``) and stamp a lease id, then commits: a concurrent
  sender skips them, and no row lock is held while waiting on someone else's server. The outcome is
  written only if the lease is still the one stamped (a replay in between takes the row over). A sender
  that dies mid-POST leaves the row due again when the lease runs out: at least once, never two at once.
- **Retries.** A failure (no 2xx, a timeout, no connection) is retried after ``backoff(tries)``: doubling
  from ``BACKOFF_BASE`` up to ``BACKOFF_CAP``, with equal jitter (half fixed, half random), so each wait is
  at least the previous one's ceiling. After ``MAX_TRIES`` the delivery is ``failed``; an operator may
  replay it. The schedule is the ``next_attempt_at`` column, so nothing depends on a process staying up.
- **Auto-disable.** An endpoint whose last ``DISABLE_AFTER_FAILURES`` attempts all failed, over at least
  ``DISABLE_AFTER`` (a day), is disabled; the console shows it on the webhooks page and the dashboard
  until an operator enables it again. Its pending deliveries wait; nothing new is fanned out to it meanwhile.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

import httpx
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce

from groupbuy import audit, clock

from . import signing, urlcheck
from .models import Attempt, Delivery, Endpoint

logger = logging.getLogger(__name__)

MAX_TRIES = 12
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=6)
LEASE = timedelta(minutes=5)
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DISABLE_AFTER_FAILURES = 10
DISABLE_AFTER = timedelta(hours=24)
CLAIM_BATCH = 32
SENDERS = 8
EXCERPT_BYTES = 2048
EXCERPT_CHARS = 500
USER_AGENT = "Groupbuy-Webhooks/1.0"


def backoff(tries: int, *, rng: random.Random | None = None) -> timedelta:
    """The wait after the ``tries``-th failed attempt: ceiling = base·2^(tries−1) capped; half of it fixed,
    half random (equal jitter), so retries of many deliveries spread out yet each wait grows."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(tries - 1, 0))
    return ceiling / 2 + (ceiling / 2) * (rng or random).random()


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    lease: uuid.UUID
    url: str
    secrets: tuple[str, ...]
    body: str
    event_uuid: str
    event_type: str
    is_replay: bool


@dataclass(frozen=True)
class Result:
    outcome: str
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    excerpt: str = ""
    error: str = ""

    @property
    def is_ok(self) -> bool:
        return self.outcome == Attempt.Outcome.OK


def _secrets(endpoint: Endpoint, now: datetime) -> tuple[str, ...]:
    keep_old = endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now
    return (endpoint.secret, endpoint.previous_secret) if keep_old else (endpoint.secret,)


def claim_due(
    *, now: datetime | None = None, limit: int = CLAIM_BATCH, delivery_ids: list[int] | None = None
) -> list[Claim]:
    """Claim up to ``limit`` due deliveries of active endpoints (see the module docstring)."""
    now = now or clock.now()
    lease = uuid.uuid4()
    with transaction.atomic():
        due = Delivery.objects.filter(
            status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__is_active=True
        ).order_by("next_attempt_at", "pk")
        if delivery_ids is not None:
            due = due.filter(pk__in=delivery_ids)
        rows = list(due.select_for_update(skip_locked=True, of=("self",)).select_related("endpoint")[:limit])
        if not rows:
            return []
        Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(next_attempt_at=now + LEASE, lease=lease)
    return [
        Claim(
            delivery_id=d.pk,
            lease=lease,
            url=d.endpoint.url,
            secrets=_secrets(d.endpoint, now),
            body=d.body,
            event_uuid=str(d.event_uuid),
            event_type=d.event_type,
            is_replay=d.is_replay_queued,
        )
        for d in rows
    ]


def post(claim: Claim, *, client: httpx.Client) -> Result:
    """POST one claimed delivery, signed now. Touches no database (runs in a sender thread)."""
    started_at = clock.now()
    began = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - began) * 1000)

    problem, pinned = urlcheck.send_check(claim.url)
    if problem:
        return Result(Attempt.Outcome.REFUSED, started_at, took(), error=problem[:200])
    body = claim.body.encode()
    timestamp = int(started_at.timestamp())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        signing.EVENT_ID_HEADER: claim.event_uuid,
        signing.EVENT_TYPE_HEADER: claim.event_type,
        signing.DELIVERY_HEADER: str(claim.delivery_id),
        signing.SIGNATURE_HEADER: signing.signature_header(claim.secrets, timestamp, body),
    }
    url, extensions = claim.url, {}
    if pinned is not None:
        # To the address just checked, under the endpoint's name. A new connection each time: a pooled one
        # to that address may have been opened (and its certificate checked) for another name.
        url, headers["Host"], headers["Connection"] = pinned.url, pinned.host_header, "close"
        if urlsplit(url).scheme == "https":
            extensions["sni_hostname"] = pinned.server_name
    try:
        with client.stream("POST", url, content=body, headers=headers, extensions=extensions) as response:
            read = b""
            for chunk in response.iter_bytes():
                read += chunk
                if len(read) >= EXCERPT_BYTES:
                    break
            excerpt = read[:EXCERPT_BYTES].decode("utf-8", errors="replace")[:EXCERPT_CHARS]
            outcome = Attempt.Outcome.OK if 200 <= response.status_code < 300 else Attempt.Outcome.HTTP_ERROR
            return Result(outcome, started_at, took(), status_code=response.status_code, excerpt=excerpt)
    except httpx.TimeoutException as exc:
        return Result(Attempt.Outcome.TIMEOUT, started_at, took(), error=(str(exc) or "timeout")[:200])
    except httpx.HTTPError as exc:
        return Result(Attempt.Outcome.CONNECTION, started_at, took(), error=(str(exc) or type(exc).__name__)[:200])


def record(claim: Claim, result: Result, *, now: datetime | None = None) -> Delivery | None:
    """Write an attempt's outcome, if the claim still holds: the attempt log, the next try or the end, and
    the endpoint's run of failures (which may disable it)."""
    now = now or clock.now()
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=claim.delivery_id, lease=claim.lease).first()
        if delivery is None:
            return None  # taken over (a replay re-queued it): its new claim records its own attempt
        delivery.attempts += 1
        delivery.tries += 1
        Attempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            is_replay=claim.is_replay,
            started_at=result.started_at,
            duration_ms=result.duration_ms,
            outcome=result.outcome,
            status_code=result.status_code,
            response_excerpt=result.excerpt,
            error=result.error,
        )
        delivery.lease = None
        delivery.is_replay_queued = False
        delivery.last_status_code = result.status_code
        if result.is_ok:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = Delivery.Status.DELIVERED, now, None
        elif delivery.tries >= MAX_TRIES:
            delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
        else:
            delivery.next_attempt_at = now + backoff(delivery.tries)
        delivery.save(
            update_fields=[
                "attempts",
                "tries",
                "lease",
                "is_replay_queued",
                "last_status_code",
                "status",
                "delivered_at",
                "next_attempt_at",
            ]
        )
        endpoints = Endpoint.objects.filter(pk=delivery.endpoint_id)
        if result.is_ok:
            endpoints.update(consecutive_failures=0, failing_since=None, last_success_at=now)
        else:
            endpoints.update(
                consecutive_failures=F("consecutive_failures") + 1,
                failing_since=Coalesce(F("failing_since"), Value(result.started_at)),
            )
            disabled = endpoints.filter(
                is_active=True,
                consecutive_failures__gte=DISABLE_AFTER_FAILURES,
                failing_since__lte=now - DISABLE_AFTER,
            ).update(is_active=False, disabled_at=now, disabled_reason=Endpoint.DisabledReason.FAILING)
            if disabled:
                logger.warning("webhook endpoint %s disabled after repeated failures", delivery.endpoint_id)
                endpoint = Endpoint.objects.get(pk=delivery.endpoint_id)
                audit.record(
                    "webhooks.endpoint_changed",
                    target=audit.Target("webhooks.endpoint", endpoint.pk, endpoint.url),
                    brand_id=endpoint.brand_id,
                    before={"is_active": True},
                    after={"is_active": False},
                    note=f"disabled after {endpoint.consecutive_failures} failed attempts in a row",
                )
    return delivery


def send_due(*, now: datetime | None = None, rounds: int = 10, delivery_ids: list[int] | None = None) -> int:
    """Send every due delivery (a claim of ``CLAIM_BATCH`` at a time, POSTed by ``SENDERS`` threads);
    returns how many attempts were made. Safe to run in any number of workers at once."""
    claims = claim_due(now=now, delivery_ids=delivery_ids)
    if not claims:
        return 0  # the common case every few seconds: no client, no threads
    sent = 0
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client, ThreadPoolExecutor(SENDERS) as pool:
        for _ in range(rounds):
            results = list(pool.map(partial(post, client=client), claims))
            for claim, result in zip(claims, results, strict=True):
                record(claim, result, now=now)
            sent += len(claims)
            claims = claim_due(now=now, delivery_ids=delivery_ids)
            if not claims:
                break
    return sent


KEEP = timedelta(days=30)
PRUNE_BATCH = 5000


def prune(*, now: datetime | None = None, batch: int = PRUNE_BATCH) -> int:
    """Delete delivered and failed deliveries (with their attempts) older than ``KEEP``; returns how many.
    Pending ones stay whatever their age (an endpoint disabled for a month still owes them). Oldest first,
    by id, a batch per statement, so it never scans the whole table."""
    cutoff = (now or clock.now()) - KEEP
    removed = 0
    while True:
        ids = list(
            Delivery.objects.filter(
                created_at__lt=cutoff, status__in=[Delivery.Status.DELIVERED, Delivery.Status.FAILED]
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return removed
        with transaction.atomic():
            Attempt.objects.filter(delivery_id__in=ids).delete()
            Delivery.objects.filter(pk__in=ids).delete()
        removed += len(ids)
        if len(ids) < batch:
            return removed
