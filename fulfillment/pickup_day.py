"""Reads of the pickup counter (核销): per point per day, what was picked up, what is outstanding, what waited
too long (超时未取) — for the leader's phone page and the operator's delivery-day page."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone

from community.models import PickupPoint, User
from groupbuy import clock

from . import access
from .models import Handout, HandoutLine, Parcel

State = Parcel.State
DEAD = (State.CANCELLED, State.SHORTAGE)


@dataclasses.dataclass(frozen=True)
class PointCounts:
    """Orders (parcels) of one point on one day, by where they are; ``handouts`` counts members to serve."""

    point_id: int
    orders: int = 0  # live orders (neither cancelled nor short)
    picked_up: int = 0
    at_point: int = 0  # arrived, waiting for the member (待取货)
    uncollected: int = 0  # 超时未取
    handouts: int = 0
    handouts_picked_up: int = 0

    @property
    def outstanding(self) -> int:
        """Live orders not yet picked up (on their way, waiting, or late)."""
        return self.orders - self.picked_up

    @property
    def percent_picked_up(self) -> int:
        return round(100 * self.picked_up / self.orders) if self.orders else 0


def point_counts(*, point_ids: list[int] | tuple[int, ...], delivery_date: date) -> dict[int, PointCounts]:
    """Counts per point for one day, in one grouped query (points with nothing that day are absent)."""
    live = ~Q(state__in=DEAD)
    rows = (
        Parcel.objects.filter(pickup_point_id__in=point_ids, delivery_date=delivery_date)
        .values("pickup_point_id")
        .annotate(
            orders=Count("pk", filter=live),
            picked_up=Count("pk", filter=Q(state=State.PICKED_UP)),
            at_point=Count("pk", filter=Q(state=State.AT_PICKUP)),
            uncollected=Count("pk", filter=Q(state=State.UNCOLLECTED)),
            handouts=Count("handout_id", filter=live, distinct=True),
            handouts_picked_up=Count("handout_id", filter=Q(state=State.PICKED_UP), distinct=True),
        )
        .order_by()
    )
    return {row["pickup_point_id"]: PointCounts(point_id=row.pop("pickup_point_id"), **row) for row in rows}


@dataclasses.dataclass(frozen=True)
class Backlog:
    """What is at a point besides ``today``'s orders: orders of other days waiting there (待取货, not yet late —
    an earlier day's, or the next day's arrived the evening before) and every order not collected in time
    (超时未取, of any day, today's included)."""

    waiting: int = 0
    uncollected: int = 0
    picked_up: int = 0  # other days' orders picked up today (collected late, or early)


def point_backlog(*, point_ids, today: date) -> dict[int, Backlog]:
    """Per point, one grouped query (points with no backlog are absent)."""
    start = timezone.make_aware(datetime.combine(today, time.min), clock.localtime().tzinfo)
    picked_today = Q(state=State.PICKED_UP, picked_up_at__gte=start, picked_up_at__lt=start + timedelta(days=1))
    rows = (
        Parcel.objects.filter(pickup_point_id__in=point_ids)
        .filter((Q(state=State.AT_PICKUP) | picked_today) & ~Q(delivery_date=today) | Q(state=State.UNCOLLECTED))
        .values("pickup_point_id")
        .annotate(
            waiting=Count("pk", filter=Q(state=State.AT_PICKUP)),
            uncollected=Count("pk", filter=Q(state=State.UNCOLLECTED)),
            picked_up=Count("pk", filter=Q(state=State.PICKED_UP)),
        )
        .order_by()
    )
    return {row.pop("pickup_point_id"): Backlog(**row) for row in rows}


@dataclasses.dataclass(frozen=True)
class PointDayRow:
    point: PickupPoint
    counts: PointCounts
    backlog: Backlog = Backlog()

    @property
    def outstanding(self) -> int:
        """Everything a leader still has to hand over at the point: the day's, and other days' waiting."""
        return self.counts.outstanding + self.backlog.waiting

    @property
    def picked_up_today(self) -> int:
        return self.counts.picked_up + self.backlog.picked_up


def brand_pickup_day(*, brand_id: int, delivery_date: date) -> list[PointDayRow]:
    """Every point of the brand with orders that day, with its counts (the operator's delivery-day page)."""
    point_ids = list(
        Parcel.objects.filter(brand_id=brand_id, delivery_date=delivery_date)
        .values_list("pickup_point_id", flat=True)
        .distinct()
        .order_by()
    )
    counts = point_counts(point_ids=point_ids, delivery_date=delivery_date)
    points = (
        PickupPoint.objects.filter(pk__in=point_ids).select_related("community").order_by("community__name", "name")
    )
    return [PointDayRow(point=p, counts=counts.get(p.pk, PointCounts(point_id=p.pk))) for p in points]


@dataclasses.dataclass(frozen=True)
class DayPickup:
    """The operator's view of a delivery day at the counters: per point, and the day's totals."""

    rows: list[PointDayRow]
    orders: int
    picked_up: int
    uncollected: int
    uncollected_after_hours: int

    @property
    def outstanding(self) -> int:
        return self.orders - self.picked_up

    @property
    def percent_picked_up(self) -> int:
        return round(100 * self.picked_up / self.orders) if self.orders else 0


def day_pickup(*, brand_id: int, delivery_date: date) -> DayPickup:
    rows = brand_pickup_day(brand_id=brand_id, delivery_date=delivery_date)
    return DayPickup(
        rows=rows,
        orders=sum(r.counts.orders for r in rows),
        picked_up=sum(r.counts.picked_up for r in rows),
        uncollected=sum(r.counts.uncollected for r in rows),
        uncollected_after_hours=settings.FULFILMENT_UNCOLLECTED_AFTER_HOURS,
    )


def verifier_points(*, user: User, day: date) -> list[PointDayRow]:
    """The points ``user`` may verify at, with that day's counts (the leader's /m/pickup/ list)."""
    points = list(access.points_user_may_verify(user).select_related("community").order_by("community__name", "name"))
    if not points:
        return []
    ids = [p.pk for p in points]
    counts = point_counts(point_ids=ids, delivery_date=day)
    backlog = point_backlog(point_ids=ids, today=day)
    return [
        PointDayRow(point=p, counts=counts.get(p.pk, PointCounts(point_id=p.pk)), backlog=backlog.get(p.pk, Backlog()))
        for p in points
    ]


def member_home_entry(request: HttpRequest, community_ids: list[int]) -> dict:
    """The member home's "核销取货" entry: only leaders and 核销员 (anyone with a point to verify at) see it."""
    rows = verifier_points(user=request.user, day=clock.localdate())
    return {
        "rows": rows,
        "outstanding": sum(r.outstanding for r in rows),
        "uncollected": sum(r.backlog.uncollected for r in rows),
        "picked_up": sum(r.picked_up_today for r in rows),
    }


def default_day(*, point: PickupPoint) -> date:
    """The day a point's counter opens on: today if anything is delivered there today, else the next delivery
    day (a leader looks at tomorrow's list the evening before), else today."""
    today = clock.localdate()
    upcoming = (
        Parcel.objects.filter(pickup_point=point, delivery_date__gte=today)
        .order_by("delivery_date")
        .values_list("delivery_date", flat=True)
        .first()
    )
    return upcoming or today


# --- one point's day, hand-out by hand-out -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HandoutRow:
    handout_id: int
    code: str
    delivery_date: date
    member_name: str
    phone_tail: str
    items: str  # "上海青 500g ×2、鸡蛋 ×1"
    units: int
    orders: int
    state: str  # the hand-out's state as the counter sees it: a Parcel.State value
    verified_at: datetime | None
    verified_by_name: str


@dataclasses.dataclass(frozen=True)
class PointDay:
    point: PickupPoint
    delivery_date: date
    outstanding: list[HandoutRow]  # not picked up yet (arrived first, then still on the way)
    picked_up: list[HandoutRow]  # latest first
    uncollected: list[HandoutRow]  # 超时未取, of this day and earlier days still waiting
    counts: PointCounts
    earlier_orders: int = 0  # orders of other days waiting at the point (listed under outstanding, today only)

    @property
    def outstanding_orders(self) -> int:
        return self.counts.outstanding + self.earlier_orders


_OUTSTANDING_ORDER = {State.AT_PICKUP: 0, State.OUT_FOR_DELIVERY: 1, State.AT_WAREHOUSE: 2, State.SHIPPED: 3}


def _rows(handouts: list[Handout]) -> list[HandoutRow]:
    ids = [h.pk for h in handouts]
    states: dict[int, list[str]] = defaultdict(list)
    for handout_id, state in Parcel.objects.of_handouts(handouts).values_list("handout_id", "state"):
        states[handout_id].append(state)
    items: dict[int, list[tuple[str, int]]] = defaultdict(list)
    lines = HandoutLine.objects.filter(handout_id__in=ids, quantity__gt=0).select_related("sku__product")
    for line in lines.order_by("sku__product__name", "sku_id"):
        items[line.handout_id].append((str(line.sku), line.quantity))
    rows = []
    for h in handouts:
        live = [s for s in states[h.pk] if s not in DEAD]
        if not live:
            continue  # nothing to hand over: cancelled or short
        if h.verified_at is not None:
            state = State.PICKED_UP
        elif State.UNCOLLECTED in live:
            state = State.UNCOLLECTED
        else:
            state = min(live, key=lambda s: _OUTSTANDING_ORDER.get(s, 9))
        rows.append(
            HandoutRow(
                handout_id=h.pk,
                code=h.code,
                delivery_date=h.delivery_date,
                member_name=h.user.display_name,
                phone_tail=(h.user.phone or "")[-4:],
                items="、".join(f"{label} ×{q}" for label, q in items[h.pk]),
                units=sum(q for _label, q in items[h.pk]),
                orders=len(live),
                state=state,
                verified_at=h.verified_at,
                verified_by_name=h.verified_by.display_name if h.verified_by else "",
            )
        )
    return rows


def point_day(*, point: PickupPoint, delivery_date: date) -> PointDay:
    """One point's hand-outs of one day, split into outstanding and picked up, plus every hand-out of the point
    still waiting past its time (超时未取), whatever its day."""
    base = Handout.objects.select_related("user", "verified_by")
    todays = _rows(list(base.filter(pickup_point=point, delivery_date=delivery_date)))
    late_ids = (
        Parcel.objects.filter(pickup_point=point, state=State.UNCOLLECTED)
        .exclude(delivery_date=delivery_date)
        .values("handout_id")
    )
    earlier_late = _rows(list(base.filter(pk__in=late_ids, verified_at__isnull=True).order_by("delivery_date")))
    outstanding = [r for r in todays if r.state not in (State.PICKED_UP, State.UNCOLLECTED)]
    outstanding.sort(key=lambda r: (_OUTSTANDING_ORDER.get(r.state, 9), r.member_name))
    earlier_rows: list[HandoutRow] = []
    if delivery_date == clock.localdate():
        # Other days' hand-outs waiting at the point (not late yet; an earlier day's, or the next day's that
        # arrived the evening before) are handed over today too.
        waiting_ids = (
            Parcel.objects.filter(pickup_point=point, state=State.AT_PICKUP)
            .exclude(delivery_date=delivery_date)
            .values("handout_id")
        )
        others = base.filter(pk__in=waiting_ids, verified_at__isnull=True).order_by("delivery_date", "pk")
        earlier_rows = [r for r in _rows(list(others)) if r.state == State.AT_PICKUP]
        outstanding += earlier_rows
    # Picked up that day: the day's hand-outs, and other days' collected on it — newest first.
    start = timezone.make_aware(datetime.combine(delivery_date, time.min), clock.localtime().tzinfo)
    late_pickups = base.filter(
        pickup_point=point, verified_at__gte=start, verified_at__lt=start + timedelta(days=1)
    ).exclude(delivery_date=delivery_date)
    picked = sorted(
        (r for r in todays + _rows(list(late_pickups)) if r.state == State.PICKED_UP),
        key=lambda r: (r.verified_at, r.handout_id),
        reverse=True,
    )
    late = [r for r in todays if r.state == State.UNCOLLECTED] + earlier_late
    counts = point_counts(point_ids=[point.pk], delivery_date=delivery_date).get(point.pk, PointCounts(point.pk))
    return PointDay(
        point=point,
        delivery_date=delivery_date,
        outstanding=outstanding,
        picked_up=picked,
        uncollected=late,
        counts=counts,
        earlier_orders=sum(r.orders for r in earlier_rows),
    )
