"""Reading webhooks for the console, always narrowed to the brands the viewer may see."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, Q, QuerySet

from community import access
from community.models import User

from .models import Delivery, Endpoint


def endpoints(*, viewer: User) -> QuerySet[Endpoint]:
    return (
        access.for_staff(Endpoint.objects.select_related("brand"), user=viewer)
        .annotate(
            pending=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING)),
            failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
        )
        .order_by("brand__name", "pk")
    )


def auto_disabled(*, viewer: User) -> list[Endpoint]:
    """Endpoints switched off after repeated failures: what the operator must be told about."""
    found = Endpoint.objects.filter(is_active=False, disabled_reason=Endpoint.DisabledReason.FAILING)
    return list(access.for_staff(found.select_related("brand"), user=viewer).order_by("-disabled_at", "pk"))


def deliveries(
    *, viewer: User, endpoint_id: int | None = None, status: str = "", event_type: str = "", event_id: str = ""
) -> QuerySet[Delivery]:
    """The delivery log, newest first, filtered as the console's filter bar says."""
    found = access.for_staff(Delivery.objects.select_related("endpoint"), user=viewer, via="endpoint__brand")
    if endpoint_id:
        found = found.filter(endpoint_id=endpoint_id)
    if status in Delivery.Status.values:
        found = found.filter(status=status)
    if event_type:
        found = found.filter(event_type=event_type)
    if event_id:
        found = found.filter(event_uuid=event_id) if len(event_id) == 36 else _uuid_prefix(found, event_id)
    return found.order_by("-created_at", "-pk")


def _uuid_prefix(found: QuerySet[Delivery], prefix: str) -> QuerySet[Delivery]:
    # PostgreSQL compares a uuid's text with hyphens; SQLite stores 32 hex digits without them.
    if connection.vendor != "postgresql":
        prefix = prefix.replace("-", "")
    return found.filter(event_uuid__startswith=prefix)
