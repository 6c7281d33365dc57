"""The demo's fulfilment (履约): how the past 《农场主来了》 jielong reached 210 neighbours.

The set-up: a city warehouse west of Hangzhou, the catalogue's delivery facts (greens chilled in the cold
chain, eggs ambient), a cold-chain van and an ambient van calling at every pickup point of the three
communities, and a 核销员 at 阳光花园3栋架空层.

Then the story of the night and the morning after the live, told through the real services with the
historical time passed as ``now=`` — nothing here writes a parcel, a pick line or a hand-out itself:

- 23:30 the jielong closes; 23:35 the day is split (pick, loading and hand-out lists);
- 23:48 老李 confirms his pick list — all of it but 4 heads of lettuce (the last row was hit by frost), so
  the latest joiners' lettuce is a shortage (缺货), ready for after-sales;
- 02:40 the farm ships (已发货), 04:25 the warehouse receives, the vans leave at their departure times
  (冷链一线 05:30, 常温一线 06:30) and reach 阳光花园's three points; at 3栋架空层 the ambient driver hands
  the eggs to 李阿姨 without pressing 已到达, and she marks the point received;
- 07:35–12:00 the members collect (核销 by 陈姐 at her shop and the north gate, by 李阿姨 at 3栋);
  a few come after noon — that evening, or the next morning (the group's rule: kept until noon) — and the
  three latest unpaid joiners never come: their orders turn 超时未取 when the reminder sweep finds them,
  ``FULFILMENT_UNCOLLECTED_AFTER_HOURS`` after they arrived (if that moment is still ahead when the demo
  is seeded, the running worker's sweep does it then, as it would for anyone).

The notices those steps queue are delivered as of their moment: the SMS rows are marked sent (the gateway
took them back then; the console provider must not print 210 texts at seed time), then
``fulfillment.notices.notices_send`` runs with the historical ``now`` and delivers the inbox messages and
the leaders' group copies, which are dated then. The domain events the services publish go into the event
stream at their historical times (marked ``FULFILMENT_MARK``); nothing else they schedule after commit
(texts, pushes, the re-split sweep) runs.

Called from :func:`demo.story.seed_demo`, inside its transaction; safe to run again: rows are found by
natural keys, a day already told is left as it is (a re-run only catches up on a reminder that has come
due), and a re-run on a later day (the story moves with today) forgets the old day's story and tells it on
the new one.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial

from django.db import connection
from django.db.models import Count, F, Max, Q
from django.urls import reverse
from django.utils import timezone

from analytics.models import Event
from catalogue.models import SKU, Product, Supplier
from community.models import Brand, PickupPoint, User
from fulfillment.models import (
    BatchMove,
    CampaignDelivery,
    Handout,
    LoadLine,
    Notice,
    Parcel,
    PickLine,
    PointVerifier,
    Route,
    RouteStop,
    Shortage,
    Verification,
    Warehouse,
)
from fulfillment.notices import notices_send
from fulfillment.pickup import parcels_mark_uncollected, uncollected_after, verify_pickup
from fulfillment.split import SplitResult, split_day
from fulfillment.supplier_supply import supply_confirm_day
from fulfillment.tracking import batch_move
from groupbuy import clock
from groupbuy import events as domain_events
from groupbuy.stream import envelope as stream_envelope
from jielong.models import Campaign, Order
from livestream.models import Notification

Zone = Product.StorageType
Kind = BatchMove.Kind
State = Parcel.State

WAREHOUSE = {"name": "源味集杭州城西仓", "city": "杭州", "address": "杭州市余杭区五常大道181号冷链物流园3号库"}

# sku code → (zone, pack unit, units per pack, grams per unit)
SKU_FACTS = {
    "LL-SHQ-500": (Zone.CHILLED, "箱", 20, 500),
    "LL-TOM-500": (Zone.CHILLED, "箱", 20, 500),
    "LL-CUC-500": (Zone.CHILLED, "箱", 20, 500),
    "LL-LET-400": (Zone.CHILLED, "筐", 24, 400),
    "LL-EGG-30": (Zone.AMBIENT, "箱", 6, 1900),
    "LL-EGG-15": (Zone.AMBIENT, "箱", 12, 950),
}
# 老李 takes orders until the jielong closes at night and picks before dawn.
SUPPLIER_CUTOFF = time(23, 30)

# The vans call west to east: 阳光花园 (西湖区), 翠湖苑 (拱墅区), then across the river to 滨江一号.
STOPS = (
    "阳光花园北门菜鸟驿站",
    "阳光花园南门·陈姐便利店",
    "阳光花园3栋架空层",
    "翠湖苑会所前台",
    "翠湖苑东门鲜果铺",
    "滨江一号物业服务中心",
    "滨江一号B1电梯厅自提柜",
)
COLD_ROUTE = {
    "name": "冷链一线",
    "driver_name": "陈师傅",
    "driver_phone": "+8613905710001",
    "vehicle_plate": "浙A·L3721",
    "zones": [Zone.CHILLED, Zone.FROZEN],
    "departs_at": time(5, 30),
}
AMBIENT_ROUTE = {
    "name": "常温一线",
    "driver_name": "周师傅",
    "driver_phone": "+8613905710002",
    "vehicle_plate": "浙A·C0817",
    "zones": [Zone.AMBIENT],
    "departs_at": time(6, 30),
}
VERIFIER_POINT = "阳光花园3栋架空层"

# --- the story's moments (local times; the delivery day unless said otherwise) ---
CONFIRMED_AT = time(23, 48)  # the evening before
SHORT_SKU, SHORT_UNITS = "LL-LET-400", 4
SHIPPED_AT = time(2, 40)
RECEIVED_AT = time(4, 25)
FIRST_STOP = timedelta(minutes=34)  # warehouse → 阳光花园 at dawn
NEXT_STOP = timedelta(minutes=12)
HANDED_OVER = timedelta(minutes=3)  # the driver left the eggs with 李阿姨; she marks the point received
# When members come on the morning of the delivery day, per point (inside its opening hours).
MORNING = {
    "阳光花园南门·陈姐便利店": (time(8, 0), time(12, 0)),
    "阳光花园北门菜鸟驿站": (time(9, 0), time(12, 0)),
    "阳光花园3栋架空层": (time(7, 35), time(12, 0)),
}
EVENING = (time(17, 30), time(19, 50))  # the late ones, after work
NEXT_MORNING = (time(9, 30), time(11, 40))  # kept for them until noon the next day
NEXT_MORNING_PICKUPS = 2
UNCOLLECTED = 3  # the latest unpaid joiners never came
SWEEP = timedelta(minutes=10)  # fulfillment.tasks.mark_uncollected runs every 10 minutes
RANDOM_SEED = 20261203

# The events this module writes into the stream, so a re-told story replaces them (demo.story's own are
# marked "demo" and replaced on every run; these only when the day is told again).
FULFILMENT_MARK = "demo.fulfilment"


@dataclass(frozen=True)
class DemoFulfilment:
    warehouse: Warehouse
    routes: list[Route]
    delivery_date: date
    split: SplitResult
    states: dict[str, int] = field(default_factory=dict)  # parcels per state
    picked_up_by_noon: int = 0
    short_units: int = 0

    def describe(self) -> str:
        s = self.states
        waiting = f", {s[State.AT_PICKUP]} still waiting" if s.get(State.AT_PICKUP) else ""
        return (
            f"{self.delivery_date.isoformat()}: {self.split.orders} orders, {self.split.units} units split onto "
            f"{len(self.routes)} routes from {self.warehouse.name}; {s.get(State.PICKED_UP, 0)} picked up "
            f"({self.picked_up_by_noon} by noon), {s.get(State.UNCOLLECTED, 0)} not collected{waiting}, "
            f"{self.short_units} units short"
        )


def seed_fulfilment(
    *,
    brand: Brand,
    supplier: Supplier,
    past: Campaign,
    operator: User,
    verifier: User,
    delivery_date: date,
    split_at: datetime,
    unpaid_seqs: frozenset[int] = frozenset(),
    late_seqs: frozenset[int] = frozenset(),
    now: datetime | None = None,
) -> DemoFulfilment:
    """Plant the set-up and tell the past jielong's delivery day (see the module docstring)."""
    assert connection.in_atomic_block, "seed_fulfilment runs inside seed_demo's transaction"
    now = now or clock.now()
    Supplier.objects.filter(pk=supplier.pk).update(lead_time_days=1, cutoff_time=SUPPLIER_CUTOFF)
    for code, (zone, pack, per_pack, grams) in SKU_FACTS.items():
        SKU.objects.filter(code=code).update(zone=zone, pack_unit=pack, units_per_pack=per_pack, weight_g=grams)

    warehouse, _ = Warehouse.objects.update_or_create(
        brand=brand, name=WAREHOUSE["name"], defaults={**WAREHOUSE, "is_active": True}
    )
    points = {
        p.name: p
        for p in PickupPoint.objects.filter(community__brand=brand, name__in=STOPS).select_related("community")
    }
    routes = []
    for spec in (COLD_ROUTE, AMBIENT_ROUTE):
        route, _ = Route.objects.update_or_create(
            brand=brand, name=spec["name"], defaults={**spec, "warehouse": warehouse, "is_active": True}
        )
        wanted = [points[name].pk for name in STOPS]
        if list(route.stops.order_by("position").values_list("pickup_point_id", flat=True)) != wanted:
            route.stops.all().delete()
            RouteStop.objects.bulk_create(
                RouteStop(route=route, pickup_point_id=pk, position=n) for n, pk in enumerate(wanted, start=1)
            )
        routes.append(route)

    PointVerifier.objects.get_or_create(
        pickup_point=points[VERIFIER_POINT], user=verifier, defaults={"added_by": operator, "added_at": split_at}
    )

    delivery, _ = CampaignDelivery.objects.get_or_create(campaign=past, defaults={"delivery_date": delivery_date})
    if delivery.delivery_date != delivery_date:
        CampaignDelivery.objects.filter(pk=delivery.pk).update(delivery_date=delivery_date)
    # A day whose steps are recorded has been told: leave it (and whatever the demo's users did since).
    told = BatchMove.objects.filter(brand=brand, delivery_date=delivery_date).exists()
    history = _History(now=now)
    if not told:
        _forget(brand=brand, past=past, keep=delivery_date, split_at=split_at)
    with history.at(split_at, record=not told):
        result = split_day(brand_id=brand.pk, delivery_date=delivery_date, now=split_at)
    _drop_stale_days(brand, keep=delivery_date)
    if not told:
        _tell(
            history,
            brand=brand,
            supplier=supplier,
            past=past,
            warehouse=warehouse,
            routes=routes,
            operator=operator,
            verifier=verifier,
            delivery_date=delivery_date,
            unpaid_seqs=unpaid_seqs,
            late_seqs=late_seqs,
        )
    _remind_uncollected(history, past=past)
    history.write_events()

    parcels = Parcel.objects.filter(order__campaign=past)
    noon = _at(delivery_date, time(12))
    return DemoFulfilment(
        warehouse=warehouse,
        routes=routes,
        delivery_date=delivery_date,
        split=result,
        states=dict(parcels.order_by().values_list("state").annotate(n=Count("pk"))),
        picked_up_by_noon=parcels.filter(state=State.PICKED_UP, picked_up_at__lte=noon).count(),
        short_units=sum(Shortage.objects.filter(order_line__order__campaign=past).values_list("quantity", flat=True)),
    )


def _at(day: date, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at), timezone.get_default_timezone())


# --- running services as of a past moment ------------------------------------------------------------


class _History:
    """Runs services as of past moments, in order.

    What a service schedules for after the commit (texts, pushes, re-split sweeps) is dropped; the domain
    events it published are kept, to go into the event stream at the moment given. After each step the
    notices it queued are delivered as of that moment (see the module docstring); inside ``together()`` they
    wait for the last step and are dated when each was queued (a morning of pickups costs one delivery)."""

    def __init__(self, *, now: datetime, mark: str = FULFILMENT_MARK) -> None:
        self.now = now
        self.mark = mark
        self.last: datetime | None = None
        self.waiting_since: datetime | None = None
        self.events: list[tuple[datetime, domain_events.DomainEvent]] = []
        self.notification_pk = Notification.objects.aggregate(pk=Max("pk"))["pk"] or 0

    @contextmanager
    def at(self, when: datetime, *, record: bool = True) -> Iterator[None]:
        assert when <= self.now, "the demo's history may not reach into the future"
        assert self.last is None or when >= self.last, "history is told in order"
        self.last = when
        pending = len(connection.run_on_commit)
        try:
            # The stream rows are written by write_events below, as of ``when`` (publish writes none here).
            with stream_envelope.context(recording=False):
                yield
        finally:
            for _savepoints, callback, _robust in connection.run_on_commit[pending:]:
                # groupbuy.events publishes a batch as partial(_dispatch_many, [events]) on commit.
                if record and isinstance(callback, partial) and callback.func is domain_events._dispatch_many:
                    self.events.extend((when, event) for event in callback.args[0])
            del connection.run_on_commit[pending:]

    def step(self, when: datetime, service: Callable, **kwargs):
        with self.at(when):
            result = service(now=when, **kwargs)
        if self.waiting_since is None:
            self._deliver(since=when, until=when)
        return result

    @contextmanager
    def together(self) -> Iterator[None]:
        self.waiting_since = self.last
        try:
            yield
        finally:
            since, self.waiting_since = self.waiting_since, None
            if self.last is not None and since is not None:
                self._deliver(since=since, until=self.last)

    def _deliver(self, *, since: datetime, until: datetime) -> None:
        queued = Notice.objects.filter(status=Notice.Status.PENDING, created_at__range=(since, until))
        # The gateway took the texts back then: marked sent, never handed to today's SMS provider.
        queued.filter(channel=Notice.Channel.SMS, order__isnull=False).update(
            status=Notice.Status.SENT, sent_at=F("created_at"), attempts=1
        )
        # What each inbox message will be found by (its link and title), and when its notice was queued.
        queued_at: dict[tuple[str, str | None], datetime] = {}
        ids = []
        for pk, order_id, point_id, day, channel, text, created_at in queued.values_list(
            "pk", "order_id", "pickup_point_id", "delivery_date", "channel", "text", "created_at"
        ):
            ids.append(pk)
            if channel == Notice.Channel.INBOX:
                link = reverse("jielong:member-order", args=[order_id])
                queued_at[(link, text.partition("\n")[0])] = created_at
            else:
                link = f"{reverse('fulfillment:pickup-point', args=[point_id])}?date={day.isoformat()}"
                queued_at[(link, None)] = created_at
        # Inbox messages and the leaders' group copies, through the module's own sender, as of then.
        notices_send(now=until)
        if since != until:
            Notice.objects.filter(pk__in=ids, status=Notice.Status.SENT).update(sent_at=F("created_at"))
        delivered = list(Notification.objects.filter(pk__gt=self.notification_pk))
        for message in delivered:
            message.created_at = queued_at.get((message.link, message.title)) or queued_at.get(
                (message.link, None), until
            )
            self.notification_pk = max(self.notification_pk, message.pk)
        Notification.objects.bulk_update(delivered, ["created_at"], batch_size=500)

    def write_events(self) -> None:
        rows = [
            stream_envelope.row(
                event, context=stream_envelope.Context(occurred_at=when, properties={"seed": self.mark})
            )
            for when, event in self.events
        ]
        Event.objects.bulk_create(rows, batch_size=500)
        self.events.clear()


# --- the night and the morning -----------------------------------------------------------------------------


def _tell(
    history: _History,
    *,
    brand: Brand,
    supplier: Supplier,
    past: Campaign,
    warehouse: Warehouse,
    routes: list[Route],
    operator: User,
    verifier: User,
    delivery_date: date,
    unpaid_seqs: frozenset[int],
    late_seqs: frozenset[int],
) -> None:
    eve, day = delivery_date - timedelta(days=1), delivery_date
    moment = partial(_at, day)
    common = {"brand_id": brand.pk, "delivery_date": day}

    lines = PickLine.objects.filter(brand=brand, delivery_date=day, supplier=supplier, quantity__gt=0)
    quantities = {
        line.pk: line.quantity - (min(SHORT_UNITS, line.quantity) if line.sku.code == SHORT_SKU else 0)
        for line in lines.select_related("sku")
    }
    history.step(
        _at(eve, CONFIRMED_AT), supply_confirm_day, supplier=supplier, delivery_date=day, quantities=quantities
    )
    history.step(moment(SHIPPED_AT), batch_move, kind=Kind.SUPPLIER_SHIPPED, supplier=supplier, **common)
    history.step(
        moment(RECEIVED_AT), batch_move, kind=Kind.WAREHOUSE_RECEIVED, warehouse=warehouse, by=operator, **common
    )

    # Each van leaves at its time and calls at the stops it has goods for, in order.
    steps: list[tuple[datetime, dict]] = []
    for route in routes:
        departs = moment(route.departs_at)
        steps.append((departs, {"kind": Kind.ROUTE_DEPARTED, "route": route}))
        loaded = set(
            LoadLine.objects.filter(route=route, delivery_date=day, quantity__gt=0).values_list(
                "pickup_point_id", flat=True
            )
        )
        stops = route.stops.filter(pickup_point_id__in=loaded).select_related("pickup_point").order_by("position")
        for n, stop in enumerate(stops):
            arrives = departs + FIRST_STOP + n * NEXT_STOP
            if route.zones == AMBIENT_ROUTE["zones"] and stop.pickup_point.name == VERIFIER_POINT:
                # 周师傅 left the eggs with 李阿姨 and drove on without pressing 已到达.
                received = {"kind": Kind.POINT_RECEIVED, "pickup_point": stop.pickup_point, "by": verifier}
                steps.append((arrives + HANDED_OVER, received))
            else:
                steps.append((arrives, {"kind": Kind.STOP_ARRIVED, "route": route, "pickup_point": stop.pickup_point}))
    for when, step in sorted(steps, key=lambda s: s[0]):
        history.step(when, batch_move, **step, **common)

    pickups = _pickups(past=past, day=day, verifier=verifier, unpaid_seqs=unpaid_seqs, late_seqs=late_seqs)
    with history.together():
        for when, code, point, by in pickups:
            history.step(when, verify_pickup, code=code, pickup_point_id=point.pk, by=by)


def _pickups(*, past: Campaign, day: date, verifier: User, unpaid_seqs, late_seqs):
    """(when, code, point, verifier) of every pickup of the day, in time order: mornings inside each point's
    hours, the late ones that evening or the next morning; the latest unpaid joiners never come."""
    rng = random.Random(RANDOM_SEED)
    # Orders with something to hand over (an order whose every unit was short has nothing).
    rows = (
        Parcel.objects.filter(order__campaign=past, handout__isnull=False)
        .exclude(state__in=[State.SHORTAGE, State.CANCELLED])
        .order_by("order__seq")
        .values_list("order__seq", "handout_id")
    )
    seqs_of: dict[int, set[int]] = defaultdict(set)
    for seq, handout_id in rows:
        seqs_of[handout_id].add(seq)
    deliverable = set().union(*seqs_of.values())
    never = set(sorted(unpaid_seqs & deliverable)[-UNCOLLECTED:])
    late = (late_seqs | unpaid_seqs) - never
    in_order = sorted(seqs_of, key=lambda h: min(seqs_of[h]))
    late_handouts = [h for h in in_order if seqs_of[h] & late]
    next_morning = set(late_handouts[-NEXT_MORNING_PICKUPS:])
    handouts = Handout.objects.in_bulk(in_order)
    point_of = PickupPoint.objects.select_related("leader").in_bulk({h.pickup_point_id for h in handouts.values()})

    pickups = []
    for handout_id in in_order:
        if seqs_of[handout_id] <= never:
            continue
        handout = handouts[handout_id]
        point = point_of[handout.pickup_point_id]
        if handout_id in next_morning:
            when = _between(rng, day + timedelta(days=1), *NEXT_MORNING)
        elif handout_id in late_handouts:
            when = _between(rng, day, *EVENING)
        else:
            # Most come early, on the way to work or back from the morning market.
            when = _between(rng, day, *MORNING[point.name], skew=2.2)
        by = verifier if point.name == VERIFIER_POINT and when.hour < 12 else point.leader
        pickups.append((when, handout.code, point, by))
    pickups.sort(key=lambda p: (p[0], p[1]))
    return pickups


def _between(rng: random.Random, day: date, start: time, end: time, *, skew: float = 1.0) -> datetime:
    first, last = _at(day, start), _at(day, end)
    seconds = int((last - first).total_seconds() * rng.betavariate(1.2, skew))
    return first + timedelta(seconds=seconds)


def _remind_uncollected(history: _History, *, past: Campaign) -> None:
    """The reminder sweep for orders still waiting at the point: at its first run after they came due (it runs
    every ``SWEEP``), if that moment has passed; otherwise the running worker's sweep marks them then."""
    waiting = Parcel.objects.filter(order__campaign=past, state=State.AT_PICKUP).values_list("at_pickup_at", flat=True)
    for due in sorted({_next_sweep(at + uncollected_after()) for at in waiting}):
        if due <= history.now:
            history.step(due, parcels_mark_uncollected)


def _next_sweep(due: datetime) -> datetime:
    local = timezone.localtime(due)
    minutes = -(-(local.minute * 60 + local.second + local.microsecond / 1e6) // (SWEEP.total_seconds()))
    return local.replace(minute=0, second=0, microsecond=0) + timedelta(seconds=minutes * SWEEP.total_seconds())


# --- a story told again on another day ----------------------------------------------------------------------


def _forget(*, brand: Brand, past: Campaign, keep: date, split_at: datetime) -> None:
    """Before the day is told (again): the past jielong's orders back where the split leaves them — no steps,
    no confirmations, no pickups, no notices, none of this module's events. There is no service that
    un-delivers an order (there should not be), so this writes the rows itself."""
    parcels = Parcel.objects.filter(order__campaign=past)
    inbox = Notice.objects.filter(order__campaign=past, channel=Notice.Channel.INBOX)
    titles = {text.partition("\n")[0] for text in inbox.values_list("text", flat=True).distinct()}
    links = [reverse("jielong:member-order", args=[pk]) for pk in past.orders.values_list("pk", flat=True)]
    if titles:
        Notification.objects.filter(link__in=links, title__in=titles).delete()
    copies = Notice.objects.filter(
        order__isnull=True, pickup_point__community__brand=brand, channel=Notice.Channel.LEADER_COPY
    ).exclude(delivery_date=keep)
    copy_links = [
        f"{reverse('fulfillment:pickup-point', args=[point])}?date={day.isoformat()}"
        for point, day in copies.values_list("pickup_point_id", "delivery_date")
    ]
    Notification.objects.filter(link__in=copy_links).delete()
    copies.delete()
    Notice.objects.filter(order__campaign=past).delete()
    handouts = Handout.objects.filter(parcels__order__campaign=past)
    Verification.objects.filter(handout__in=handouts).delete()
    Handout.objects.filter(pk__in=handouts.values("pk")).update(verified_at=None, verified_by=None)
    Shortage.objects.filter(order_line__order__campaign=past).delete()
    PickLine.objects.filter(brand=brand, delivery_date=keep).update(confirmed_quantity=None, confirmed_at=None)
    parcels.update(
        state=State.PENDING,
        state_changed_at=split_at,
        shipped_at=None,
        at_warehouse_at=None,
        out_for_delivery_at=None,
        at_pickup_at=None,
        picked_up_at=None,
    )
    Order.objects.filter(campaign=past, status__in=[Order.Status.READY, Order.Status.PICKED_UP]).update(
        status=Order.Status.JOINED
    )
    Event.objects.filter(properties__seed=FULFILMENT_MARK).delete()


def _drop_stale_days(brand: Brand, *, keep: date) -> None:
    """A re-run on a later day moved the story: the lists and steps of days no demo campaign is delivered on go."""
    days = set(CampaignDelivery.objects.filter(campaign__brand=brand).values_list("delivery_date", flat=True))
    stale = Q(brand=brand) & ~Q(delivery_date__in=days | {keep})
    PickLine.objects.filter(stale).delete()
    LoadLine.objects.filter(stale).delete()
    Handout.objects.filter(stale).delete()
    BatchMove.objects.filter(stale).delete()
