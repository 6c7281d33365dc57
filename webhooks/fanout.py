"""The fan-out: stream rows (``groupbuy.stream``) → one ``Delivery`` per subscribed endpoint, durably.

The stream is the outbox: each fact's row is written in the fact's own transaction (``events.publish``, the
join's SQL). The fan-out reads rows after its cursor (``stream.Cursor`` "webhooks.fanout"), recent ones
too, so a delivery exists a moment after the commit (the kick, ``apps.kick``); it inserts deliveries
idempotently (unique endpoint + event id, ON CONFLICT DO NOTHING) and moves its cursor only past rows
older than ``SETTLE``: a row whose id was taken before a later row's but that committed after it is still
ahead of the cursor on the next run. A crash anywhere (before the kick, mid-batch) loses nothing; the
periodic task (``tasks.run``) resumes from the cursor.

An endpoint gets the events received after it was created, while it is active.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max

from groupbuy import clock
from groupbuy.stream.models import Cursor, Event
from groupbuy.stream.relay import SETTLE

from . import catalog
from .models import Delivery, Endpoint

CURSOR = "webhooks.fanout"
BATCH = 1000
COLUMNS = (
    "id",
    "uuid",
    "name",
    "occurred_at",
    "received_at",
    "user_id",
    "community_id",
    "campaign_id",
    "order_id",
    "amount_fen",
    "properties",
)


def _start_position(until: datetime) -> int:
    """Where a new cursor starts: the newest settled row (no endpoint wants the history before it)."""
    newest = Event.objects.filter(received_at__lte=until).order_by("-pk").values_list("pk", flat=True).first()
    return newest or 0


def fanout(
    *, now: datetime | None = None, settle: timedelta = SETTLE, batch: int = BATCH, max_batches: int = 50
) -> int:
    """Create the deliveries owed for the stream rows after the cursor; returns how many were created.
    Safe to run concurrently (the cursor row is locked per batch) and again (inserts are idempotent)."""
    now = now or clock.now()
    until = now - settle
    if not Cursor.objects.filter(name=CURSOR).exists():
        Cursor.objects.get_or_create(name=CURSOR, defaults={"position": _start_position(until)})
    if not Endpoint.objects.filter(is_active=True).exists():
        # Nobody listens: move past the settled rows without reading them (an endpoint gets only what follows it).
        with transaction.atomic():
            cursor = Cursor.objects.select_for_update().get(name=CURSOR)
            position = _start_position(until)
            if position > cursor.position:
                Cursor.objects.filter(name=CURSOR).update(position=position, updated_at=clock.now())
        return 0
    created = 0
    scanned_to = None
    for _ in range(max_batches):
        with transaction.atomic():
            cursor = Cursor.objects.select_for_update().get(name=CURSOR)
            start = max(cursor.position, scanned_to or 0)
            rows = list(
                Event.objects.filter(pk__gt=start, name__in=catalog.STREAM_NAMES).order_by("pk").only(*COLUMNS)[:batch]
            )
            created += _deliveries_for(rows)
            full = len(rows) == batch
            settled = Event.objects.filter(pk__gt=cursor.position, received_at__lte=until)
            if full:
                settled = settled.filter(pk__lte=rows[-1].pk)
            position = settled.aggregate(last=Max("pk"))["last"]
            if position:
                Cursor.objects.filter(name=CURSOR).update(position=position, updated_at=clock.now())
        if not full:
            break
        scanned_to = rows[-1].pk
    return created


def _deliveries_for(rows: list[Event]) -> int:
    if not rows:
        return 0
    endpoints = list(Endpoint.objects.filter(is_active=True).only("pk", "brand_id", "event_types", "created_at"))
    if not endpoints:
        return 0
    brands = catalog.brands_of(rows)
    now = clock.now()
    owed = []
    for row in rows:
        kind = catalog.BY_STREAM_NAME[row.name]
        brand_id = brands.get(row.pk)
        targets = [
            e
            for e in endpoints
            if e.brand_id == brand_id and kind.name in e.event_types and e.created_at <= row.received_at
        ]
        if not targets:
            continue
        body = catalog.encode(
            catalog.envelope(
                event_id=str(row.uuid),
                type_name=kind.name,
                occurred_at=row.occurred_at,
                brand_id=brand_id,
                data=catalog.data_of(row, kind),
            )
        )
        owed += [
            Delivery(
                endpoint_id=e.pk,
                event_uuid=row.uuid,
                event_type=kind.name,
                stream_event_id=row.pk,
                body=body,
                next_attempt_at=now,
                created_at=now,
            )
            for e in targets
        ]
    if not owed:
        return 0
    # Rows inside the settle window are read again on every run: skip what exists, and let the unique
    # constraint absorb a concurrent run (ON CONFLICT DO NOTHING).
    known = set(
        Delivery.objects.filter(
            endpoint_id__in={d.endpoint_id for d in owed}, event_uuid__in={d.event_uuid for d in owed}
        ).values_list("endpoint_id", "event_uuid")
    )
    fresh = [d for d in owed if (d.endpoint_id, d.event_uuid) not in known]
    Delivery.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)
