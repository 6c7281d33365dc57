"""Tracking (物流追踪): batch steps move a delivery day's parcels forward, never single orders.

Who moves what (``BatchMove.Kind``) and which parcels it moves:

- ``SUPPLIER_SHIPPED`` (a supplier, their part): an order becomes *shipped* once **every** supplier of its
  lines has shipped that day;
- ``WAREHOUSE_RECEIVED`` (a warehouse): orders with something loaded on a route from that warehouse
  become *at_warehouse*;
- ``ROUTE_DEPARTED`` (a route, the driver's 发车): orders with something on that route become
  *out_for_delivery*;
- ``STOP_ARRIVED`` (a route at one stop, the driver's 已到达) and ``POINT_RECEIVED`` (a point, its leader or
  核销员): see "two vans" below.

Two vans: an order whose items ride two vans (a chilled and an ambient route) is *at_pickup* only when
**every** route carrying its items to that point has arrived there; until then the first van's arrival
moves it to *out_for_delivery* (it is on its way). The leader's "received" (``POINT_RECEIVED``) settles
it: the leader has the goods in hand, so every open order of the point becomes *at_pickup*. The member
is told "ready for pickup" only when the whole order is there.

Rules: parcels only move forward along ``Parcel.FLOW``; a later step may skip earlier ones (a supplier who
never pressed 已发货 does not hold up the warehouse), and a skipped step's timestamp stays empty — we do not
know when it happened, and analytics measures from what was recorded. A step whose parcels are all already
past its state is refused as backwards (one whose parcels are at its state and none behind — the leader
received before the driver pressed 已到达 — is recorded late and moves nothing); a step recorded twice (the ``batch_move_once`` constraint),
a step for a day that has not been split, or a target of another brand is refused; a refused step changes
nothing. ``shortage``, ``uncollected`` and ``cancelled`` parcels are never moved by a batch step.

Each move is one transaction: the ``BatchMove`` row (with the count of parcels moved), the parcels' state
and timestamps, ``jielong`` ``Order.status`` (``ready`` at *at_pickup*), the member notices
(``fulfillment.notices.notices_queue``) and one ``ParcelsMoved`` event per state reached (published on
commit, with the order ids). Moves of one brand's day are serialised with its splits and supplier
confirmations (``fulfillment.locks.lock_day``), so two vans arriving at one point at the same moment still
see each other, and a confirmation pressed with 已发货 is refused once the day is shipped.

``Order.status`` ``ready`` and ``picked_up`` are jielong's one-word summary of the parcel; fulfilment
(this module and 核销 in ``fulfillment.pickup``, through :func:`orders_follow_parcels`) is their only
writer. jielong itself only writes ``joined`` and ``cancelled``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from catalogue.models import Supplier
from community.models import PickupPoint, User
from groupbuy import clock, events
from groupbuy.errors import DomainError
from jielong.models import CampaignItem, Order, OrderLine

from . import events as fulfillment_events
from .locks import lock_day
from .models import BatchMove, LoadLine, Parcel, Route, RouteStop, Warehouse
from .notices import notices_queue

State = Parcel.State
Kind = BatchMove.Kind

# The state each step moves its parcels to, and the timestamp field it stamps.
TARGET = {
    Kind.SUPPLIER_SHIPPED: State.SHIPPED,
    Kind.WAREHOUSE_RECEIVED: State.AT_WAREHOUSE,
    Kind.ROUTE_DEPARTED: State.OUT_FOR_DELIVERY,
    Kind.STOP_ARRIVED: State.AT_PICKUP,
    Kind.POINT_RECEIVED: State.AT_PICKUP,
}
STAMP = {
    State.SHIPPED: "shipped_at",
    State.AT_WAREHOUSE: "at_warehouse_at",
    State.OUT_FOR_DELIVERY: "out_for_delivery_at",
    State.AT_PICKUP: "at_pickup_at",
    State.PICKED_UP: "picked_up_at",
}
# Parcels a batch step never touches: nothing to deliver, the order is gone, or the pickup window passed.
ASIDE = (State.SHORTAGE, State.CANCELLED, State.UNCOLLECTED)
CHUNK = 2000  # ids per UPDATE (SQLite's bound-parameter limit; PostgreSQL does not mind)


class TrackingError(DomainError):
    """A batch step that cannot be recorded; the message is for the person who pressed the button."""


def _before(state: str) -> list[str]:
    """The happy-path states a parcel may leave to reach ``state`` (strictly earlier in the flow)."""
    return [s.value for s in Parcel.FLOW[: Parcel.FLOW.index(state)]]


def state_label(state: str) -> str:
    return str(State(state).label)


def step_refused(kind: str, states: Iterable[str]) -> str | None:
    """Would a step (not yet recorded) over parcels in ``states`` be refused? "nothing" (no parcel of the day
    concerns it), "backwards" (everything is past its state), else None — the rule ``batch_move`` applies."""
    states = set(states) - set(ASIDE)
    if not states:
        return "nothing"
    state = TARGET[Kind(kind)]
    if not states & set(_before(state)) and state not in states:
        return "backwards"
    return None


def step_moves_nothing(kind: str, states: Iterable[str]) -> bool:
    """No parcel in ``states`` is behind the step: pressing it would be refused, or at best recorded late
    moving nothing (the leader received before the van's 已到达). Pages show such a step as done, not as a
    button."""
    return not (set(states) & set(_before(TARGET[Kind(kind)])))


def least_advanced(states: Iterable[str]) -> str:
    """The state furthest behind on the happy path (what a page says a finished step's orders are at)."""
    flow = [s.value for s in Parcel.FLOW]
    return min(states, key=lambda s: flow.index(s) if s in flow else len(flow))


# --- validation ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Target:
    supplier: Supplier | None = None
    warehouse: Warehouse | None = None
    route: Route | None = None
    pickup_point: PickupPoint | None = None


_NEEDS = {
    Kind.SUPPLIER_SHIPPED: {"supplier"},
    Kind.WAREHOUSE_RECEIVED: {"warehouse"},
    Kind.ROUTE_DEPARTED: {"route"},
    Kind.STOP_ARRIVED: {"route", "pickup_point"},
    Kind.POINT_RECEIVED: {"pickup_point"},
}


def _resolve(model, value):
    if value is None or isinstance(value, model):
        return value
    return model.objects.filter(pk=value).first()


def _check_target(*, brand_id: int, kind: str, supplier, warehouse, route, pickup_point) -> _Target:
    if kind not in Kind.values:
        raise TrackingError(_("Unknown step."), code="unknown_kind")
    given = {
        "supplier": _resolve(Supplier, supplier),
        "warehouse": _resolve(Warehouse, warehouse),
        "route": _resolve(Route, route),
        "pickup_point": _resolve(PickupPoint, pickup_point),
    }
    raw = {"supplier": supplier, "warehouse": warehouse, "route": route, "pickup_point": pickup_point}
    needed = _NEEDS[Kind(kind)]
    for name, value in given.items():
        if name in needed and value is None:
            raise TrackingError(_("This step needs a %(what)s.") % {"what": _field_label(name)}, code="missing")
        if name not in needed and raw[name] is not None:
            raise TrackingError(_("This step does not take a %(what)s.") % {"what": _field_label(name)})
    target = _Target(**{k: v for k, v in given.items() if k in needed})
    other_brand = _("That %(what)s belongs to another brand.")
    if target.supplier and target.supplier.brand_id != brand_id:
        raise TrackingError(other_brand % {"what": _field_label("supplier")}, code="other_brand")
    if target.warehouse and target.warehouse.brand_id != brand_id:
        raise TrackingError(other_brand % {"what": _field_label("warehouse")}, code="other_brand")
    if target.route and target.route.brand_id != brand_id:
        raise TrackingError(other_brand % {"what": _field_label("route")}, code="other_brand")
    if target.pickup_point and target.pickup_point.community.brand_id != brand_id:
        raise TrackingError(other_brand % {"what": _field_label("pickup_point")}, code="other_brand")
    if kind == Kind.STOP_ARRIVED and not RouteStop.objects.filter(route=target.route, pickup_point=target.pickup_point):
        raise TrackingError(
            _("“%(point)s” is not a stop of route “%(route)s”.")
            % {"point": target.pickup_point.name, "route": target.route.name},
            code="not_a_stop",
        )
    return target


def _field_label(name: str) -> str:
    return {
        "supplier": _("supplier"),
        "warehouse": _("warehouse"),
        "route": _("route"),
        "pickup_point": _("pickup point"),
    }[name]


def _target_name(kind: str, target: _Target) -> str:
    if kind == Kind.STOP_ARRIVED:
        return f"{target.route.name} → {target.pickup_point.name}"
    return str(target.supplier or target.warehouse or target.route or target.pickup_point)


# --- which parcels a step reaches ------------------------------------------------------------------


def _carried(delivery_date: date, **route_filter) -> Exists:
    """The parcel's order has a line loaded (at the parcel's point) on a route matching ``route_filter``."""
    loads = LoadLine.objects.filter(
        delivery_date=delivery_date,
        quantity__gt=0,
        pickup_point_id=OuterRef(OuterRef("pickup_point_id")),
        sku_id=OuterRef("item__sku_id"),
        **route_filter,
    )
    return Exists(OrderLine.objects.filter(order_id=OuterRef("order_id")).filter(Exists(loads)))


def _reached(*, brand_id: int, delivery_date: date, kind: str, target: _Target):
    """Every parcel of the day the step concerns, whatever its state (shortage/cancelled/uncollected aside)."""
    parcels = Parcel.objects.filter(brand_id=brand_id, delivery_date=delivery_date).exclude(state__in=ASIDE)
    if kind == Kind.SUPPLIER_SHIPPED:
        lines = OrderLine.objects.filter(item__sku__product__supplier=target.supplier)
        return parcels.filter(Exists(lines.filter(order_id=OuterRef("order_id"))))
    if kind == Kind.WAREHOUSE_RECEIVED:
        return parcels.filter(_carried(delivery_date, route__warehouse=target.warehouse))
    if kind == Kind.ROUTE_DEPARTED:
        return parcels.filter(_carried(delivery_date, route=target.route))
    if kind == Kind.STOP_ARRIVED:
        return parcels.filter(pickup_point=target.pickup_point).filter(_carried(delivery_date, route=target.route))
    return parcels.filter(pickup_point=target.pickup_point)


def _complete(*, brand_id: int, delivery_date: date, kind: str, target: _Target, parcels):
    """Of the reached parcels, those the step brings all the way to its state (the "every" rules)."""
    if kind == Kind.SUPPLIER_SHIPPED:
        shipped = BatchMove.objects.filter(
            brand_id=brand_id, delivery_date=delivery_date, kind=Kind.SUPPLIER_SHIPPED
        ).values("supplier_id")
        waiting = OrderLine.objects.filter(order_id=OuterRef("order_id")).exclude(
            item__sku__product__supplier_id__in=shipped
        )
        return parcels.exclude(Exists(waiting))
    if kind == Kind.STOP_ARRIVED:
        arrived = BatchMove.objects.filter(
            brand_id=brand_id,
            delivery_date=delivery_date,
            kind=Kind.STOP_ARRIVED,
            pickup_point=target.pickup_point,
        ).values("route_id")
        # A line loaded on a van that has not arrived here yet (or on no van at all) holds the order back.
        missing = LoadLine.objects.filter(
            delivery_date=delivery_date,
            quantity__gt=0,
            pickup_point_id=OuterRef(OuterRef("pickup_point_id")),
            sku_id=OuterRef("item__sku_id"),
        ).filter(Q(route__isnull=True) | ~Q(route_id__in=arrived))
        waiting = OrderLine.objects.filter(order_id=OuterRef("order_id")).filter(Exists(missing))
        return parcels.exclude(Exists(waiting))
    return parcels


def reached_states(*, brand_id: int, delivery_date: date, route_id: int | None = None) -> dict[tuple, set[str]]:
    """Per step target key, the states of the day's parcels that step concerns (as ``tracking._reached``);
    with ``route_id``, only that route's steps (the driver's page)."""
    parcels = Parcel.objects.filter(brand_id=brand_id, delivery_date=delivery_date).exclude(state__in=ASIDE)
    out: dict[tuple, set[str]] = {}
    if route_id is None:
        by_supplier = parcels.values_list("order__lines__item__sku__product__supplier_id", "state").distinct()
        for supplier_id, state in by_supplier:
            if supplier_id is not None:
                out.setdefault((Kind.SUPPLIER_SHIPPED, supplier_id, None, None, None), set()).add(state)
        for point_id, state in parcels.values_list("pickup_point_id", "state").distinct():
            out.setdefault((Kind.POINT_RECEIVED, None, None, None, point_id), set()).add(state)
    # Parcels with a line loaded on a route at their point: plain SQL (PostgreSQL and SQLite alike).
    sql = f"""
        SELECT DISTINCT l.route_id, r.warehouse_id, p.pickup_point_id, p.state
        FROM {Parcel._meta.db_table} p
        JOIN {OrderLine._meta.db_table} ol ON ol.order_id = p.order_id
        JOIN {CampaignItem._meta.db_table} ci ON ci.id = ol.item_id
        JOIN {LoadLine._meta.db_table} l ON l.delivery_date = p.delivery_date
            AND l.pickup_point_id = p.pickup_point_id AND l.sku_id = ci.sku_id AND l.quantity > 0
        JOIN {Route._meta.db_table} r ON r.id = l.route_id
        WHERE p.brand_id = %s AND p.delivery_date = %s
            AND p.state NOT IN ({", ".join(["%s"] * len(ASIDE))}) {"AND l.route_id = %s" if route_id else ""}
    """
    params = [brand_id, delivery_date, *[str(a) for a in ASIDE], *([route_id] if route_id else [])]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    for route_id, warehouse_id, point_id, state in rows:
        out.setdefault((Kind.STOP_ARRIVED, None, None, route_id, point_id), set()).add(state)
        out.setdefault((Kind.ROUTE_DEPARTED, None, None, route_id, None), set()).add(state)
        out.setdefault((Kind.WAREHOUSE_RECEIVED, None, warehouse_id, None, None), set()).add(state)
    return out


# --- the move --------------------------------------------------------------------------------------


def _move(ids: list[int], state: str, now: datetime) -> None:
    stamp = STAMP[state]
    for start in range(0, len(ids), CHUNK):
        Parcel.objects.filter(pk__in=ids[start : start + CHUNK]).update(
            state=state, state_changed_at=now, **{stamp: Coalesce(F(stamp), now)}
        )


def orders_follow_parcels(*, order_ids: Iterable[int], state: str) -> int:
    """Keep jielong's ``Order.status`` in step with the parcel: ``ready`` at the point, ``picked_up`` after 核销,
    back to ``ready`` when a 核销 is undone. Fulfilment is the only writer of these two values."""
    ids = list(order_ids)
    if state == State.AT_PICKUP:
        source, status = [Order.Status.JOINED, Order.Status.PICKED_UP], Order.Status.READY
    elif state == State.PICKED_UP:
        source, status = [Order.Status.JOINED, Order.Status.READY], Order.Status.PICKED_UP
    else:
        return 0
    changed = 0
    for start in range(0, len(ids), CHUNK):
        changed += Order.objects.filter(pk__in=ids[start : start + CHUNK], status__in=source).update(status=status)
    return changed


def _refuse_twice(existing: BatchMove, kind: str, name: str) -> TrackingError:
    when = clock.localtime(existing.at).strftime("%m-%d %H:%M")
    return TrackingError(
        _("“%(step)s” for %(target)s was already recorded at %(when)s.")
        % {"step": Kind(kind).label, "target": name, "when": when},
        code="twice",
    )


def batch_move(
    *,
    brand_id: int,
    delivery_date: date,
    kind: str,
    supplier=None,
    warehouse=None,
    route=None,
    pickup_point=None,
    by: User | None = None,
    now: datetime | None = None,
) -> BatchMove:
    """Record one batch step and move its parcels forward (see the module docstring); refuses with a
    ``TrackingError`` and changes nothing when the step is backwards, twice, for an unsplit day or for a
    target that is not the brand's. Targets may be given as models or ids."""
    now = now or clock.now()
    target = _check_target(
        brand_id=brand_id, kind=kind, supplier=supplier, warehouse=warehouse, route=route, pickup_point=pickup_point
    )
    name = _target_name(kind, target)
    state = TARGET[Kind(kind)]
    with transaction.atomic():
        lock_day(brand_id, delivery_date)  # the day's one lock: splits and confirmations wait for the step
        if not Parcel.objects.filter(brand_id=brand_id, delivery_date=delivery_date).exists():
            raise TrackingError(
                _("Nothing has been split for %(day)s yet: split the day before recording its steps.")
                % {"day": delivery_date.isoformat()},
                code="unsplit",
            )
        key = dataclasses.asdict(target)
        existing = BatchMove.objects.filter(delivery_date=delivery_date, kind=kind, **key).first()
        if existing:
            raise _refuse_twice(existing, kind, name)
        reached = _reached(brand_id=brand_id, delivery_date=delivery_date, kind=kind, target=target)
        # The costly part (which parcels the step concerns) is read once; the lock below re-checks the state.
        rows = list(reached.order_by("pk").values_list("pk", "state"))
        states = {s for _pk, s in rows}
        if not states:
            raise TrackingError(
                _("%(target)s has nothing to deliver on %(day)s.") % {"target": name, "day": delivery_date.isoformat()},
                code="nothing",
            )
        behind = set(_before(state))
        # Backwards: everything is past this step already. Orders exactly at its state (the leader received
        # before the van's 已到达 was pressed) make it a late record that moves nothing — kept for the log.
        if step_refused(kind, states) == "backwards":
            furthest = max(states, key=lambda s: Parcel.FLOW.index(s) if s in Parcel.FLOW else len(Parcel.FLOW))
            raise TrackingError(
                _("These orders are already “%(now)s”: they cannot go back to “%(step)s”.")
                % {"now": state_label(furthest), "step": state_label(state)},
                code="backwards",
            )
        try:
            with transaction.atomic():
                move = BatchMove.objects.create(
                    brand_id=brand_id, delivery_date=delivery_date, kind=kind, by=by, at=now, **key
                )
        except IntegrityError:  # pragma: no cover - the advisory lock serialises moves on PostgreSQL
            raise _refuse_twice(
                BatchMove.objects.get(delivery_date=delivery_date, kind=kind, **key), kind, name
            ) from None

        # Lock in ascending pk (核销 and the split write parcels too), keeping only what is still behind.
        locked: list[tuple[int, str]] = []
        candidates = [pk for pk, s in rows if s in behind]
        for start in range(0, len(candidates), CHUNK):
            chunk = candidates[start : start + CHUNK]
            locked += (
                Parcel.objects.filter(pk__in=chunk, state__in=behind)
                .select_for_update(of=("self",))
                .order_by("pk")
                .values_list("pk", "state")
            )
        if kind in (Kind.SUPPLIER_SHIPPED, Kind.STOP_ARRIVED):
            movable = reached.filter(state__in=behind)
            complete = set(
                _complete(
                    brand_id=brand_id, delivery_date=delivery_date, kind=kind, target=target, parcels=movable
                ).values_list("pk", flat=True)
            )
        else:
            complete = {pk for pk, _s in locked}
        moved: dict[str, list[int]] = {state: [pk for pk, _s in locked if pk in complete]}
        if kind == Kind.STOP_ARRIVED:
            # The rest of these orders is still on another van: they are on their way.
            on_way = set(_before(State.OUT_FOR_DELIVERY))
            moved[State.OUT_FOR_DELIVERY] = [pk for pk, s in locked if pk not in complete and s in on_way]
        for reached_state, order_ids in moved.items():
            if not order_ids:
                continue
            _move(order_ids, reached_state, now)
            if reached_state == State.AT_PICKUP:
                orders_follow_parcels(order_ids=order_ids, state=reached_state)
            notices_queue(order_ids=order_ids, state=reached_state, now=now)
            events.publish(
                fulfillment_events.ParcelsMoved(
                    brand_id=brand_id,
                    delivery_date=delivery_date.isoformat(),
                    state=reached_state,
                    order_ids=tuple(order_ids),
                    batch_move_id=move.pk,
                )
            )
        move.parcels = sum(len(v) for v in moved.values())
        move.save(update_fields=["parcels"])
    return move
