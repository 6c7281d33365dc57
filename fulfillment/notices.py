"""Fulfilment notices: the member is told exactly once per order per member-facing state.

Channels per state, and why:

- ``shipped`` → inbox: good news with nothing to do yet; a text message would be noise.
- ``at_pickup`` → inbox + SMS + the leader's group copy: the one moment the member must act (go and
  collect), so it reaches them outside the app too, with the point, its hours and the pickup code; the
  leader posts one copy-ready line for the whole point in the WeChat group.
- ``picked_up`` → inbox: a receipt; they were there.
- ``shortage`` → inbox + SMS: money comes back and the member may want to buy elsewhere — worth a text.
- ``uncollected`` → inbox + SMS: a reminder only works if it is seen.
- ``at_warehouse`` / ``out_for_delivery`` are not told (the order page shows them live); asking for them
  queues nothing.

How "exactly once" is kept (the pattern of ``livestream/warmup/delivery.py``, whose docstring gives the
reasoning step by step):

1. **Queue.** ``notices_queue`` runs in the mover's transaction and inserts one ``Notice`` per (order,
   state, channel) — or per (point, day, state) for the leader copy — ignoring conflicts
   (``notice_once_per_order`` / ``notice_once_per_point_day``). The notice exists iff the move committed.
2. **Inbox and leader copy** (our own database): claimed with ``SKIP LOCKED``; the ``Notification`` is
   created and the row marked ``sent`` in the claiming transaction — all of it commits or none of it.
3. **SMS** (an outside provider, never called while holding locks): claimed with ``SKIP LOCKED``, marked
   ``sending`` with a lease and ``attempts + 1``, committed; then sent, and marked ``sent`` by a
   conditional update on (status, attempts). A worker killed before the provider call loses nothing: the
   lease runs out and another worker claims the row. (The same honest limit as warm-ups: a kill between the
   provider accepting and the ``sent`` commit repeats one text after the lease.)
4. Errors count attempts, retry with a growing delay and give up as ``failed`` after ``MAX_ATTEMPTS``.

Rows are sent a second after the mover's commit (a Celery task is queued on commit, one a second per process in a
rush) and by the periodic task ``fulfillment.tasks.send_notices``, so a lost queue message or a Redis outage
delays a notice, never loses it.
Logs never carry a text (it holds the pickup code) or a full phone number.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from community.models import Membership, User
from community.phones import mask_phone
from community.providers.sms import SMSDeliveryError, get_sms_provider
from groupbuy import clock
from livestream.models import Notification
from livestream.warmup.delivery import LEASE, MAX_ATTEMPTS, RETRY_AFTER, WORKER_DIED

from . import notices_texts as texts
from .models import Notice, Parcel, Shortage

logger = logging.getLogger(__name__)

State = Parcel.State
Channel = Notice.Channel
CHANNELS: dict[str, tuple[str, ...]] = {
    State.SHIPPED: (Channel.INBOX,),
    State.AT_PICKUP: (Channel.INBOX, Channel.SMS, Channel.LEADER_COPY),
    State.PICKED_UP: (Channel.INBOX,),
    State.SHORTAGE: (Channel.INBOX, Channel.SMS),
    State.UNCOLLECTED: (Channel.INBOX, Channel.SMS),
}
# States whose text names the pickup code: a member's orders sharing a hand-out get one SMS between them.
MERGED_SMS = (State.AT_PICKUP, State.UNCOLLECTED)
QUEUE_CHUNK = 1000
BATCH = 250  # rows per claiming transaction: short locks, few round trips (≈1,000 inbox rows/s on a busy 2-core box)


# --- queueing (in the mover's transaction) ----------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Queued:
    """One order to tell, read flat (a 100k-order step must not build seven models per order)."""

    order_id: int
    user_id: int
    phone: str | None
    seq: int
    title: str
    brand: str
    point_id: int
    point: str
    address: str
    hours: str
    handout_id: int | None
    code: str | None
    delivery_date: date

    def facts(self, short: dict[int, list]) -> texts.OrderFacts:
        return texts.OrderFacts(
            title=self.title,
            seq=self.seq,
            brand=self.brand,
            point=self.point,
            address=self.address,
            hours=self.hours,
            code=self.code or "",
            delivery_date=self.delivery_date,
            short_items=texts.short_items(short.get(self.order_id, [])),
        )


_QUEUED_FIELDS = (
    "order_id",
    "order__user_id",
    "order__user__phone",
    "order__seq",
    "order__campaign__title",
    "order__campaign__brand__name",
    "pickup_point_id",
    "pickup_point__name",
    "pickup_point__address",
    "pickup_point__opening_hours",
    "handout_id",
    "handout__code",
    "delivery_date",
)


def _short_lines(order_ids: list[int]) -> dict[int, list]:
    rows = Shortage.objects.filter(order_line__order_id__in=order_ids).values_list(
        "order_line__order_id", "order_line__item__sku__product__name", "order_line__item__sku__spec", "quantity"
    )
    out: dict[int, list] = defaultdict(list)
    for order_id, name, spec, quantity in rows:
        out[order_id].append((name, spec, quantity))
    return out


def notices_queue(*, order_ids: Iterable[int], state: str, now: datetime | None = None) -> int:
    """Queue the notices of ``state`` for these orders (each member once per order and channel, the point's
    leader once per day); call it inside the transaction that moved them. Returns how many rows were new.
    States that are not member-facing queue nothing."""
    if state not in State.values:
        raise ValueError(f"unknown parcel state {state!r}")
    channels = CHANNELS.get(state, ())
    ids = sorted(set(order_ids))
    if not channels or not ids:
        return 0
    now = now or clock.now()
    if state in MERGED_SMS:
        # Chunks follow hand-outs, so a member's orders sharing one are queued (and texted) together.
        handout_of: dict[int, int | None] = {}
        for start in range(0, len(ids), QUEUE_CHUNK):
            chunk = ids[start : start + QUEUE_CHUNK]
            handout_of.update(Parcel.objects.filter(order_id__in=chunk).values_list("order_id", "handout_id"))
        ids.sort(key=lambda pk: (handout_of.get(pk) or 0, pk))
    created = 0
    for start in range(0, len(ids), QUEUE_CHUNK):
        chunk = ids[start : start + QUEUE_CHUNK]
        parcels = [
            _Queued(*row)
            for row in Parcel.objects.filter(order_id__in=chunk)
            .exclude(state=State.CANCELLED)
            .values_list(*_QUEUED_FIELDS)
        ]
        short = _short_lines(chunk) if state == State.SHORTAGE else {}
        facts = {p.order_id: p.facts(short) for p in parcels}
        rows: list[Notice] = []
        points: set[tuple[int, date]] = set()
        # One text per pickup code: a member's orders merged into one hand-out share it (the inbox still has
        # one message per order). The lowest order id carries it, so queueing again finds the same row.
        texters: dict[int, list[_Queued]] = defaultdict(list)
        if state in MERGED_SMS:
            for p in sorted(parcels, key=lambda p: p.order_id):
                texters[p.handout_id or -p.order_id].append(p)
        sms_for = {group[0].order_id: [facts[g.order_id] for g in group] for group in texters.values()}
        for p in parcels:
            title, body = texts.member_text(state, facts[p.order_id], now=now)
            common = {
                "order_id": p.order_id,
                "user_id": p.user_id,
                "pickup_point_id": p.point_id,
                "delivery_date": p.delivery_date,
                "state": state,
                "created_at": now,
            }
            for channel in channels:
                if channel == Channel.INBOX:
                    rows.append(Notice(channel=channel, text=f"{title}\n{body}", **common))
                elif channel == Channel.SMS and p.phone:
                    if state not in MERGED_SMS:
                        rows.append(Notice(channel=channel, text=texts.sms_text(body, facts[p.order_id]), **common))
                    elif p.order_id in sms_for:
                        text = texts.member_sms(state, sms_for[p.order_id], now=now)
                        rows.append(Notice(channel=channel, text=text, **common))
                elif channel == Channel.LEADER_COPY:
                    points.add((p.point_id, p.delivery_date))
        for point_id, day in sorted(points):
            rows.append(
                Notice(
                    pickup_point_id=point_id,
                    delivery_date=day,
                    state=state,
                    channel=Channel.LEADER_COPY,
                    created_at=now,
                )
            )
        # The rows already there (or a racing writer's) are skipped by the constraints; RETURNING counts the rest.
        created += _insert_new(rows)
    if created:
        transaction.on_commit(_send_soon)
    return created


_INSERT_BATCH = 500


def _insert_new(rows: list[Notice]) -> int:
    """Insert the rows whose (order, state, channel) — or (point, day, state, channel) — has none yet, in one
    ``INSERT … ON CONFLICT DO NOTHING RETURNING`` per 500 rows (PostgreSQL and SQLite ≥ 3.35); how many were new."""
    quote = connection.ops.quote_name
    fields = [field for field in Notice._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(quote(field.column) for field in fields)
    row_marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    new = 0
    with connection.cursor() as cur:
        for start in range(0, len(rows), _INSERT_BATCH):
            batch = rows[start : start + _INSERT_BATCH]
            params = [
                field.get_db_prep_save(field.pre_save(row, True), connection) for row in batch for field in fields
            ]
            cur.execute(
                f"INSERT INTO {quote(Notice._meta.db_table)} ({columns}) VALUES {', '.join([row_marks] * len(batch))} "
                f"ON CONFLICT DO NOTHING RETURNING {quote(Notice._meta.pk.column)}",
                params,
            )
            new += len(cur.fetchall())
    return new


# A rush of moves (50 counters verifying at once) queues one sender per process for the next second instead of
# one per move: the sender runs a second after it was queued, so the rows of every move that committed before
# the reservation ran out (with a quarter second to spare) are pending when it claims them.
SEND_DELAY_S = 1.0
_send_reserved_until = 0.0
_send_lock = threading.Lock()


def _send_soon() -> None:
    """Queue a sender after the move commits (one a second at most per process, see above); with the broker
    down the periodic task sends instead."""
    global _send_reserved_until
    from . import tasks

    now = time.monotonic()
    with _send_lock:
        if now < _send_reserved_until:
            return
        _send_reserved_until = now + SEND_DELAY_S - 0.25
    try:
        tasks.send_notices.apply_async(countdown=SEND_DELAY_S)
    except Exception:
        with _send_lock:
            _send_reserved_until = 0.0
        logger.warning("could not queue the notices task; the periodic sweep will send them", exc_info=True)


# --- sending (after commit, any number of workers) --------------------------------------------------


def _claimable(now: datetime) -> Q:
    return Q(status=Notice.Status.PENDING) & (Q(lease_until__isnull=True) | Q(lease_until__lte=now)) | Q(
        status=Notice.Status.SENDING, lease_until__lte=now
    )


def _leaders(point_ids: set[int]) -> dict[int, list[int]]:
    """Who gets a point's group copy: its own leader, else the active 团长 of its community."""
    from community.models import PickupPoint

    points = list(PickupPoint.objects.filter(pk__in=point_ids).values_list("pk", "leader_id", "community_id"))
    community_ids = {c for _p, leader, c in points if not leader}
    by_community: dict[int, list[int]] = defaultdict(list)
    for community_id, user_id in Membership.objects.filter(
        community_id__in=community_ids, role=Membership.Role.LEADER, status=Membership.Status.ACTIVE
    ).values_list("community_id", "user_id"):
        by_community[community_id].append(user_id)
    return {pk: [leader] if leader else sorted(by_community[c]) for pk, leader, c in points}


def _member_link(order_id: int) -> str:
    return reverse("jielong:member-order", args=[order_id])


def notices_claim(*, now: datetime, batch: int | None = None) -> tuple[int, list[Notice]]:
    """One short transaction: inbox and leader-copy rows are delivered outright; SMS rows are leased and
    returned for the caller to send after commit."""
    from community.models import PickupPoint

    with transaction.atomic():
        rows = list(
            Notice.objects.filter(_claimable(now)).select_for_update(skip_locked=True).order_by("pk")[: batch or BATCH]
        )
        if not rows:
            return 0, []
        lease_until = _clock(now) + LEASE
        leader_rows = [r for r in rows if r.channel == Channel.LEADER_COPY]
        leaders = _leaders({r.pickup_point_id for r in leader_rows})
        point_by_id = PickupPoint.objects.in_bulk({r.pickup_point_id for r in leader_rows})
        inbox: list[Notification] = []
        leased: list[Notice] = []
        # Rows that end the same way are written by one UPDATE (a bulk_update of 100 rows is a slow CASE).
        changes: dict[tuple, list[int]] = defaultdict(list)

        def write(row: Notice, **values) -> None:
            for name, value in values.items():
                setattr(row, name, value)
            changes[tuple(sorted(values.items()))].append(row.pk)

        for row in rows:
            row.attempts += 1
            if row.channel == Channel.SMS:
                error = WORKER_DIED if row.status == Notice.Status.SENDING else row.last_error
                if row.status == Notice.Status.SENDING and row.attempts > MAX_ATTEMPTS:
                    given_up = f"gave up after {row.attempts - 1} attempts: {WORKER_DIED}"
                    write(row, status=Notice.Status.FAILED, lease_until=None, last_error=given_up)
                    continue
                write(row, status=Notice.Status.SENDING, lease_until=lease_until, last_error=error)
                leased.append(row)
                continue
            if row.channel == Channel.INBOX:
                title, _sep, body = row.text.partition("\n")
                inbox.append(Notification(user_id=row.user_id, title=title, body=body, link=_member_link(row.order_id)))
                write(row, status=Notice.Status.SENT, sent_at=now, lease_until=None)
                continue
            point = point_by_id[row.pickup_point_id]
            text = texts.leader_copy_text(point=point, delivery_date=row.delivery_date, now=now)
            if not leaders[row.pickup_point_id]:
                write(row, status=Notice.Status.FAILED, lease_until=None, last_error="no leader to tell", text=text)
                continue
            with translation.override(settings.LANGUAGE_CODE):
                title = _("For your WeChat group: %(title)s") % {
                    "title": _("arrived at %(point)s") % {"point": point.name}
                }
            link = f"{reverse('fulfillment:pickup-point', args=[point.pk])}?date={row.delivery_date.isoformat()}"
            inbox.extend(
                Notification(user_id=user_id, title=title[:100], body=text, link=link)
                for user_id in leaders[row.pickup_point_id]
            )
            write(row, status=Notice.Status.SENT, sent_at=now, lease_until=None, text=text)
        Notification.objects.bulk_create(inbox)
        for values, pks in changes.items():
            Notice.objects.filter(pk__in=pks).update(attempts=F("attempts") + 1, **dict(values))
    return len(rows), leased


def _clock(now: datetime) -> datetime:
    """The later of the run's clock and the wall clock: a long run keeps its leases fresh."""
    return max(now, clock.now())


def _still_ours(row: Notice):
    return Notice.objects.filter(pk=row.pk, status=Notice.Status.SENDING, attempts=row.attempts)


def _mark_failed(row: Notice, error: str, now: datetime) -> None:
    values = {"last_error": error[:200]}
    if row.attempts >= MAX_ATTEMPTS:
        values.update(status=Notice.Status.FAILED, lease_until=None)
    else:
        values.update(status=Notice.Status.PENDING, lease_until=_clock(now) + RETRY_AFTER * row.attempts)
    _still_ours(row).update(**values)


def _send_sms(row: Notice, now: datetime) -> None:
    phone = User.objects.filter(pk=row.user_id).values_list("phone", flat=True).first()
    if not phone:
        _mark_failed(row, "no phone", now)
        return
    # A worker that lost its lease to another must not send.
    if not _still_ours(row).update(lease_until=_clock(now) + LEASE):
        return
    try:
        get_sms_provider().send(phone=phone, message=row.text)
    except SMSDeliveryError as exc:
        logger.warning("fulfilment SMS %s to %s failed: %s", row.pk, mask_phone(phone), exc)
        _mark_failed(row, str(exc), now)
        return
    except Exception as exc:
        logger.warning("fulfilment SMS %s to %s failed: %s", row.pk, mask_phone(phone), type(exc).__name__)
        _mark_failed(row, f"{type(exc).__name__}: {exc}", now)
        return
    _still_ours(row).update(status=Notice.Status.SENT, sent_at=clock.now(), lease_until=None, last_error="")


def notices_send(*, now: datetime | None = None, max_batches: int = 50) -> int:
    """Claim and send pending notices in small batches; returns how many rows this worker claimed."""
    now = now or clock.now()
    total = 0
    for _batch in range(max_batches):
        count, leased = notices_claim(now=now)
        if not count:
            break
        for row in leased:
            _send_sms(row, now)
        total += count
    return total
