"""Writes for webhook endpoints and deliveries. Every refusal is a ``WebhookInvalid`` raised before
anything is written; access (the operator's brand) is checked here, not only in the views."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from community import access
from community.models import Brand, User
from groupbuy import audit, clock
from groupbuy.commit import after_commit
from groupbuy.errors import DomainError

from . import catalog, signing, urlcheck
from .models import Delivery, Endpoint

# How long the old secret still signs (a second v1=) after a rotation, so receivers can switch without a gap.
ROTATION_OVERLAP = timedelta(hours=24)
MAX_ENDPOINTS_PER_BRAND = 20


class WebhookInvalid(DomainError):
    def __init__(self, message: str, *, field: str = "", code: str = "invalid") -> None:
        super().__init__(message, code=code)
        self.field = field


@dataclass(frozen=True)
class EndpointInput:
    url: str
    event_types: Sequence[str]
    description: str = ""


def _check_staff(by: User, brand_id: int) -> None:
    if not by.is_operator or not access.may_see_brand(user=by, brand=brand_id):
        raise WebhookInvalid(_("Only the brand's operators can manage its webhooks."), code="forbidden")


def _clean(data: EndpointInput) -> dict:
    url = (data.url or "").strip()
    if not url:
        raise WebhookInvalid(_("Enter the URL to send events to."), field="url")
    if len(url) > 500:
        raise WebhookInvalid(_("The URL is too long (at most 500 characters)."), field="url")
    problem = urlcheck.save_problem(url)
    if problem:
        raise WebhookInvalid(problem, field="url")
    types = list(dict.fromkeys(data.event_types or []))
    if not types:
        raise WebhookInvalid(_("Choose at least one event type."), field="event_types")
    unknown = [t for t in types if t not in catalog.BY_NAME]
    if unknown:
        raise WebhookInvalid(_("Unknown event type: %(type)s") % {"type": unknown[0]}, field="event_types")
    description = (data.description or "").strip()
    if len(description) > 100:
        raise WebhookInvalid(_("The description is too long (at most 100 characters)."), field="description")
    return {"url": url, "event_types": [t.name for t in catalog.TYPES if t.name in types], "description": description}


def endpoint_create(*, by: User, brand: Brand, data: EndpointInput) -> Endpoint:
    """A new active endpoint of ``brand`` with a fresh secret (the caller shows it once)."""
    _check_staff(by, brand.pk)
    fields = _clean(data)
    if Endpoint.objects.filter(brand=brand).count() >= MAX_ENDPOINTS_PER_BRAND:
        raise WebhookInvalid(
            _("A brand may have at most %(n)s endpoints.") % {"n": MAX_ENDPOINTS_PER_BRAND}, code="too_many"
        )
    with transaction.atomic():
        endpoint = Endpoint.objects.create(
            brand=brand, secret=signing.new_secret(), created_by=by, created_at=clock.now(), **fields
        )
        _audit(by, endpoint, after=fields, note="created")
    return endpoint


def endpoint_update(*, by: User, endpoint: Endpoint, data: EndpointInput) -> Endpoint:
    _check_staff(by, endpoint.brand_id)
    fields = _clean(data)
    before = {name: getattr(endpoint, name) for name in fields}
    with transaction.atomic():
        Endpoint.objects.filter(pk=endpoint.pk).update(**fields)
        _audit(by, endpoint, before=before, after=fields)
    endpoint.refresh_from_db()
    return endpoint


def endpoint_rotate_secret(*, by: User, endpoint: Endpoint) -> str:
    """A new secret (returned, to be shown once); the old one keeps signing for ``ROTATION_OVERLAP``."""
    _check_staff(by, endpoint.brand_id)
    secret = signing.new_secret()
    with transaction.atomic():
        locked = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret, locked.previous_secret_until = locked.secret, clock.now() + ROTATION_OVERLAP
        locked.secret = secret
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
        _audit(by, locked, note="secret rotated")  # never the secret itself
    endpoint.refresh_from_db()
    return secret


def endpoint_disable(*, by: User, endpoint: Endpoint) -> Endpoint:
    _check_staff(by, endpoint.brand_id)
    with transaction.atomic():
        if Endpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
            is_active=False, disabled_at=clock.now(), disabled_reason=Endpoint.DisabledReason.OPERATOR
        ):
            _audit(by, endpoint, before={"is_active": True}, after={"is_active": False})
    endpoint.refresh_from_db()
    return endpoint


def endpoint_enable(*, by: User, endpoint: Endpoint) -> Endpoint:
    """Active again, its run of failures forgotten: pending deliveries are sent at once (those whose retries
    ran out stay failed; replay them). Events that happened while it was disabled are not sent."""
    _check_staff(by, endpoint.brand_id)
    with transaction.atomic():
        Endpoint.objects.filter(pk=endpoint.pk).update(
            is_active=True, disabled_at=None, disabled_reason="", consecutive_failures=0, failing_since=None
        )
        _audit(by, endpoint, before={"is_active": endpoint.is_active}, after={"is_active": True})
    endpoint.refresh_from_db()
    _send_soon()
    return endpoint


def endpoint_delete(*, by: User, endpoint: Endpoint) -> None:
    _check_staff(by, endpoint.brand_id)
    with transaction.atomic():
        _audit(by, endpoint, before={"url": endpoint.url}, note="deleted")
        endpoint.delete()


def _require_active(endpoint: Endpoint) -> None:
    if not endpoint.is_active:
        raise WebhookInvalid(_("This endpoint is disabled. Enable it first."), code="disabled")


def endpoint_send_test(*, by: User, endpoint: Endpoint) -> Delivery:
    """A ``webhook.test`` delivery with a new event id, queued now (signed and retried like any other)."""
    _check_staff(by, endpoint.brand_id)
    _require_active(endpoint)
    now = clock.now()
    event_id = uuid.uuid4()
    body = catalog.encode(
        catalog.envelope(
            event_id=str(event_id),
            type_name=catalog.TEST_TYPE,
            occurred_at=now,
            brand_id=endpoint.brand_id,
            data={"message": "This is a test event from Groupbuy."},
        )
    )
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        event_uuid=event_id,
        event_type=catalog.TEST_TYPE,
        body=body,
        is_test=True,
        next_attempt_at=now,
        created_at=now,
    )
    _send_soon()
    return delivery


def delivery_replay(*, by: User, delivery: Delivery) -> Delivery:
    """Send ``delivery`` again now: the same body under the same event id (receivers that already have
    it ignore it), with a fresh signature and a new round of retries. Takes over a claim in flight."""
    _check_staff(by, delivery.endpoint.brand_id)
    _require_active(delivery.endpoint)
    with transaction.atomic():
        locked = Delivery.objects.select_for_update().get(pk=delivery.pk)
        locked.status = Delivery.Status.PENDING
        locked.next_attempt_at = clock.now()
        locked.lease = None
        locked.tries = 0
        locked.replays += 1
        locked.is_replay_queued = True
        locked.save(update_fields=["status", "next_attempt_at", "lease", "tries", "replays", "is_replay_queued"])
        audit.record(
            "webhooks.delivery_replayed",
            actor=by,
            target=audit.Target("webhooks.delivery", locked.pk, f"{locked.event_type} {locked.event_uuid}"),
            brand_id=delivery.endpoint.brand_id,
            note=str(locked.event_uuid),
        )
    _send_soon()
    return locked


def _audit(by: User, endpoint: Endpoint, *, before=None, after=None, note: str = "") -> None:
    audit.record(
        "webhooks.endpoint_changed",
        actor=by,
        target=audit.Target("webhooks.endpoint", endpoint.pk, endpoint.url),
        brand_id=endpoint.brand_id,
        before=before,
        after=after,
        note=note,
    )


def _send_soon() -> None:
    from . import tasks

    after_commit(tasks.kick)
