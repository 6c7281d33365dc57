"""Reading tracking: the delivery-day page's tracking section and the leader's "received" card."""

from __future__ import annotations

import dataclasses
from datetime import date

from django.db.models import Count, Q
from django.urls import reverse

from catalogue.models import Supplier
from community.models import PickupPoint

from .documents.qr import qr_svg
from .models import BatchMove, LoadLine, Notice, Parcel, Route, RouteStop, Warehouse
from .notices_texts import arrivals, leader_copy_text
from .tracking import ASIDE, least_advanced, reached_states, state_label, step_moves_nothing
from .tracking_driver import driver_link_expires, driver_token

State = Parcel.State
Kind = BatchMove.Kind
ORDER = [*Parcel.FLOW, State.UNCOLLECTED, State.SHORTAGE, State.CANCELLED]
ARRIVED = (State.AT_PICKUP, State.PICKED_UP, State.UNCOLLECTED)
LOG_LIMIT = 50
FAILED_LIMIT = 20


@dataclasses.dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    count: int


@dataclasses.dataclass(frozen=True)
class Blocked:
    """A step not recorded that has nothing to move: nothing of the day concerns it, or its orders are at its
    state or past it already (``at``: the state the least advanced of them is in, e.g. 待取货)."""

    at: str = ""

    @property
    def label(self) -> str:
        return state_label(self.at) if self.at else ""


def blocked_steps(*, brand_id: int, delivery_date: date, keys) -> dict[tuple, Blocked]:
    """Of the step ``keys`` (kind, supplier, warehouse, route, point) not yet recorded, those with nothing to
    move, read set-based (three grouped queries whatever the number of targets)."""
    states = reached_states(brand_id=brand_id, delivery_date=delivery_date)
    out = {}
    for key in keys:
        reached = states.get(key, set())
        if step_moves_nothing(key[0], reached):
            out[key] = Blocked(least_advanced(reached) if reached else "")
    return out


@dataclasses.dataclass(frozen=True)
class Step:
    """One target's batch step: done (``move``), refused if pressed (``blocked``), or a button."""

    target: object
    move: BatchMove | None
    blocked: Blocked | None = None


@dataclasses.dataclass(frozen=True)
class StopStep:
    point: PickupPoint
    position: int
    arrived: BatchMove | None
    has_goods: bool
    blocked: Blocked | None = None


@dataclasses.dataclass(frozen=True)
class RouteStep:
    route: Route
    departed: BatchMove | None
    stops: tuple[StopStep, ...]
    driver_url: str
    driver_qr: str
    driver_expires: object
    blocked: Blocked | None = None  # 发车 would be refused


@dataclasses.dataclass(frozen=True)
class PointStep:
    point: PickupPoint
    received: BatchMove | None
    orders: int
    arrived: int
    picked_up: int
    blocked: Blocked | None = None


@dataclasses.dataclass(frozen=True)
class NoticeRow:
    state_label: str
    channel_label: str
    pending: int
    sent: int
    failed: int


@dataclasses.dataclass(frozen=True)
class LeaderCopy:
    point: PickupPoint
    text: str


@dataclasses.dataclass(frozen=True)
class DayTracking:
    counts: tuple[StateCount, ...]
    orders: int
    suppliers: tuple[Step, ...]
    warehouses: tuple[Step, ...]
    routes: tuple[RouteStep, ...]
    points: tuple[PointStep, ...]
    log: tuple[BatchMove, ...]
    notices: tuple[NoticeRow, ...]
    failed: tuple[Notice, ...]
    leader_copies: tuple[LeaderCopy, ...]


def _key(move: BatchMove) -> tuple:
    return (move.kind, move.supplier_id, move.warehouse_id, move.route_id, move.pickup_point_id)


def _open_keys(done, *, routes, stops_by_route, point_ids, supplier_ids) -> list[tuple]:
    """Every step the section could offer that has not been recorded."""
    keys = [(Kind.SUPPLIER_SHIPPED, pk, None, None, None) for pk in supplier_ids]
    keys += [(Kind.POINT_RECEIVED, None, None, None, pk) for pk in point_ids]
    for route in routes:
        keys += [
            (Kind.ROUTE_DEPARTED, None, None, route.pk, None),
            (Kind.WAREHOUSE_RECEIVED, None, route.warehouse_id, None, None),
        ]
        keys += [(Kind.STOP_ARRIVED, None, None, route.pk, s.pickup_point_id) for s in stops_by_route.get(route.pk, [])]
    return [k for k in keys if k not in done]


def day_tracking(*, brand_id: int, delivery_date: date, point_ids, route_ids, supplier_ids, absolute) -> DayTracking:
    """Everything the tracking section shows for one brand's day; ``absolute(path)`` makes the driver links
    absolute (``request.build_absolute_uri``)."""
    day = {"brand_id": brand_id, "delivery_date": delivery_date}
    by_state = dict(Parcel.objects.filter(**day).values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    counts = tuple(StateCount(s, str(State(s).label), by_state.get(s, 0)) for s in ORDER)
    moves = list(BatchMove.objects.filter(**day).select_related("by", "supplier", "warehouse", "route", "pickup_point"))
    done = {_key(m): m for m in moves}

    routes = list(Route.objects.filter(pk__in=route_ids).select_related("warehouse").order_by("name"))
    loaded = set(
        LoadLine.objects.filter(**day, route_id__in=route_ids, quantity__gt=0)
        .values_list("route_id", "pickup_point_id")
        .distinct()
    )
    stops_by_route: dict[int, list[RouteStop]] = {}
    for stop in RouteStop.objects.filter(route_id__in=route_ids).select_related("pickup_point").order_by("position"):
        stops_by_route.setdefault(stop.route_id, []).append(stop)
    blocked = blocked_steps(
        brand_id=brand_id,
        delivery_date=delivery_date,
        keys=_open_keys(
            done, routes=routes, stops_by_route=stops_by_route, point_ids=point_ids, supplier_ids=supplier_ids
        ),
    )
    suppliers = tuple(
        Step(s, done.get(k := (Kind.SUPPLIER_SHIPPED, s.pk, None, None, None)), blocked.get(k))
        for s in Supplier.objects.filter(pk__in=supplier_ids).order_by("name")
    )
    warehouses = tuple(
        Step(w, done.get(k := (Kind.WAREHOUSE_RECEIVED, None, w.pk, None, None)), blocked.get(k))
        for w in Warehouse.objects.filter(pk__in={r.warehouse_id for r in routes}).order_by("name")
    )
    route_steps = []
    for route in routes:
        token = driver_token(route_id=route.pk, delivery_date=delivery_date)
        url = absolute(reverse("fulfillment:driver", args=[token]))
        route_steps.append(
            RouteStep(
                route=route,
                departed=done.get((Kind.ROUTE_DEPARTED, None, None, route.pk, None)),
                stops=tuple(
                    StopStep(
                        point=s.pickup_point,
                        position=s.position,
                        arrived=done.get(k := (Kind.STOP_ARRIVED, None, None, route.pk, s.pickup_point_id)),
                        has_goods=(route.pk, s.pickup_point_id) in loaded,
                        blocked=blocked.get(k),
                    )
                    for s in stops_by_route.get(route.pk, [])
                ),
                driver_url=url,
                driver_qr=qr_svg(url),
                driver_expires=driver_link_expires(delivery_date),
                blocked=blocked.get((Kind.ROUTE_DEPARTED, None, None, route.pk, None)),
            )
        )

    per_point = {
        row["pickup_point_id"]: row
        for row in Parcel.objects.filter(**day)
        .exclude(state__in=[State.CANCELLED, State.SHORTAGE])
        .values("pickup_point_id")
        .annotate(
            orders=Count("pk"),
            arrived=Count("pk", filter=Q(state__in=ARRIVED)),
            picked_up=Count("pk", filter=Q(state=State.PICKED_UP)),
        )
    }
    points = PickupPoint.objects.filter(pk__in=point_ids).select_related("community").order_by("name")
    point_steps = tuple(
        PointStep(
            point=p,
            received=done.get((Kind.POINT_RECEIVED, None, None, None, p.pk)),
            orders=per_point.get(p.pk, {}).get("orders", 0),
            arrived=per_point.get(p.pk, {}).get("arrived", 0),
            picked_up=per_point.get(p.pk, {}).get("picked_up", 0),
            blocked=blocked.get((Kind.POINT_RECEIVED, None, None, None, p.pk)),
        )
        for p in points
    )
    log = tuple(sorted(moves, key=lambda m: (m.at, m.pk), reverse=True)[:LOG_LIMIT])

    notices = Notice.objects.filter(delivery_date=delivery_date, pickup_point_id__in=point_ids)
    grouped: dict[tuple[str, str], dict[str, int]] = {}
    for state, channel, status, n in (
        notices.values_list("state", "channel", "status")
        .annotate(n=Count("pk"))
        .values_list("state", "channel", "status", "n")
    ):
        grouped.setdefault((state, channel), {})[status] = n
    channel_order = list(Notice.Channel.values)
    notice_rows = tuple(
        NoticeRow(
            state_label=str(State(state).label),
            channel_label=str(Notice.Channel(channel).label),
            pending=by.get("pending", 0) + by.get("sending", 0),
            sent=by.get("sent", 0),
            failed=by.get("failed", 0),
        )
        for (state, channel), by in sorted(
            grouped.items(), key=lambda kv: (ORDER.index(kv[0][0]), channel_order.index(kv[0][1]))
        )
    )
    failed = tuple(
        notices.filter(status=Notice.Status.FAILED)
        .select_related("user", "pickup_point")
        .order_by("-pk")[:FAILED_LIMIT]
    )
    arrived = arrivals(point_ids=[p.point.pk for p in point_steps if p.arrived], delivery_date=delivery_date)
    copies = tuple(
        LeaderCopy(p.point, text)
        for p in point_steps
        if p.point.pk in arrived
        and (text := leader_copy_text(point=p.point, delivery_date=delivery_date, arrived=arrived[p.point.pk]))
    )
    return DayTracking(
        counts=counts,
        orders=sum(c.count for c in counts if c.state != State.CANCELLED),
        suppliers=suppliers,
        warehouses=warehouses,
        routes=tuple(route_steps),
        points=point_steps,
        log=log,
        notices=notice_rows,
        failed=failed,
        leader_copies=copies,
    )


# --- the leader's "received" card -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PointReceive:
    point: PickupPoint
    delivery_date: date
    received: BatchMove | None
    orders: int  # live orders of the point that day
    arrived: int
    copy_text: str
    blocked: Blocked | None = None  # nothing left to receive (everything is at the point or further)

    @property
    def waiting(self) -> int:
        return self.orders - self.arrived


def point_receive(*, point: PickupPoint, delivery_date: date) -> PointReceive:
    counts = (
        Parcel.objects.filter(pickup_point=point, delivery_date=delivery_date)
        .exclude(state__in=[State.CANCELLED, State.SHORTAGE])
        .aggregate(orders=Count("pk"), arrived=Count("pk", filter=Q(state__in=ARRIVED)))
    )
    received = BatchMove.objects.filter(
        delivery_date=delivery_date, kind=Kind.POINT_RECEIVED, pickup_point=point
    ).first()
    blocked = None
    if received is None and counts["orders"]:
        states = set(
            Parcel.objects.filter(pickup_point=point, delivery_date=delivery_date)
            .exclude(state__in=ASIDE)
            .values_list("state", flat=True)
            .distinct()
        )
        if step_moves_nothing(Kind.POINT_RECEIVED, states):
            blocked = Blocked(least_advanced(states) if states else "")
    return PointReceive(
        point=point,
        delivery_date=delivery_date,
        received=received,
        orders=counts["orders"],
        arrived=counts["arrived"],
        copy_text=leader_copy_text(point=point, delivery_date=delivery_date),
        blocked=blocked,
    )
