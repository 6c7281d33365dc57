"""Batch moves (物流追踪): each step moves the right parcels, only forward; refusals change nothing."""

from __future__ import annotations

import threading
from datetime import time, timedelta

import pytest
from django.db import connection

from catalogue.models import Supplier
from fulfillment import events as fulfillment_events
from fulfillment.models import BatchMove, LoadLine, Notice, Parcel, Route, Warehouse
from fulfillment.split import split_day
from fulfillment.tracking import TrackingError, batch_move
from groupbuy import clock, events
from jielong.models import Order, OrderLine
from tests import factories
from tests.fulfillment.day import make_day

pytestmark = pytest.mark.django_db
Kind = BatchMove.Kind
State = Parcel.State


def split(day):
    return split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)


def move(day, kind, **target):
    return batch_move(brand_id=day.brand_id, delivery_date=day.delivery_date, kind=kind, **target)


def states(day) -> dict[int, str]:
    return dict(Parcel.objects.filter(delivery_date=day.delivery_date).values_list("order_id", "state"))


def suppliers_of(order_id: int) -> set[int]:
    return set(OrderLine.objects.filter(order_id=order_id).values_list("item__sku__product__supplier_id", flat=True))


def routes_of(parcel: Parcel) -> set[int]:
    """The vans that carry this order's items to its point (from the loading list)."""
    skus = OrderLine.objects.filter(order_id=parcel.order_id).values_list("item__sku_id", flat=True)
    return set(
        LoadLine.objects.filter(
            delivery_date=parcel.delivery_date, pickup_point_id=parcel.pickup_point_id, sku_id__in=skus, quantity__gt=0
        ).values_list("route_id", flat=True)
    )


def snapshot(day):
    """Everything a move writes, to prove a refused one wrote nothing."""
    return (
        sorted(
            Parcel.objects.filter(delivery_date=day.delivery_date).values_list(
                "order_id",
                "state",
                "state_changed_at",
                "shipped_at",
                "at_warehouse_at",
                "out_for_delivery_at",
                "at_pickup_at",
            )
        ),
        sorted(Order.objects.filter(campaign__in=day.campaigns).values_list("pk", "status")),
        BatchMove.objects.count(),
        Notice.objects.count(),
    )


# --- each kind moves the right parcels ---------------------------------------------------------------


def test_an_order_is_shipped_once_every_supplier_of_it_has_shipped():
    day = make_day(suppliers=3)
    split(day)
    farms = list(Supplier.objects.filter(brand_id=day.brand_id).order_by("pk"))

    first = move(day, Kind.SUPPLIER_SHIPPED, supplier=farms[0])

    only_first = {o.pk for o in day.orders if suppliers_of(o.pk) == {farms[0].pk}}
    assert {o for o, s in states(day).items() if s == State.SHIPPED} == only_first
    assert first.parcels == len(only_first)

    move(day, Kind.SUPPLIER_SHIPPED, supplier=farms[1])
    move(day, Kind.SUPPLIER_SHIPPED, supplier=farms[2])
    assert set(states(day).values()) == {State.SHIPPED}
    assert not Parcel.objects.filter(delivery_date=day.delivery_date, shipped_at__isnull=True).exists()
    assert sum(BatchMove.objects.values_list("parcels", flat=True)) == len(day.orders)


def test_the_warehouse_receives_everything_loaded_on_its_routes_and_skips_shipped_without_stamping_it():
    day = make_day()
    split(day)
    warehouse = Warehouse.objects.get(brand_id=day.brand_id)
    now = clock.now()

    made = batch_move(
        brand_id=day.brand_id,
        delivery_date=day.delivery_date,
        kind=Kind.WAREHOUSE_RECEIVED,
        warehouse=warehouse,
        now=now,
    )

    assert made.parcels == len(day.orders)
    parcels = Parcel.objects.filter(delivery_date=day.delivery_date)
    assert {p.state for p in parcels} == {State.AT_WAREHOUSE}
    assert {p.at_warehouse_at for p in parcels} == {now}
    # A skipped step's time is unknown: it stays empty.
    assert {p.shipped_at for p in parcels} == {None}


def test_a_departing_van_takes_the_orders_with_something_on_it():
    day = make_day()
    split(day)
    cold, _dry = day.routes
    move(day, Kind.ROUTE_DEPARTED, route=cold)

    for parcel in Parcel.objects.filter(delivery_date=day.delivery_date):
        on_cold = cold.pk in routes_of(parcel)
        assert parcel.state == (State.OUT_FOR_DELIVERY if on_cold else State.PENDING), parcel.order_id


def test_an_order_on_two_vans_is_ready_only_when_both_have_arrived_at_its_point():
    day = make_day(members=20)
    split(day)
    cold, dry = day.routes
    point = day.points[0]
    parcels = list(Parcel.objects.filter(pickup_point=point))
    both = {p.order_id for p in parcels if routes_of(p) == {cold.pk, dry.pk}}
    cold_only = {p.order_id for p in parcels if routes_of(p) == {cold.pk}}
    dry_only = {p.order_id for p in parcels if routes_of(p) == {dry.pk}}
    assert both and cold_only and dry_only, "the generated day should have all three kinds at this point"

    first = move(day, Kind.STOP_ARRIVED, route=cold, pickup_point=point)

    now = states(day)
    assert {now[o] for o in cold_only} == {State.AT_PICKUP}
    assert {now[o] for o in both} == {State.OUT_FOR_DELIVERY}  # half of it is still on the other van
    assert {now[o] for o in dry_only} == {State.PENDING}
    assert first.parcels == len(cold_only) + len(both)
    assert set(Order.objects.filter(pk__in=both | dry_only).values_list("status", flat=True)) == {"joined"}
    assert set(Order.objects.filter(pk__in=cold_only).values_list("status", flat=True)) == {"ready"}
    # Only the orders that are all there are announced.
    assert set(Notice.objects.filter(channel="inbox").values_list("order_id", flat=True)) == cold_only

    move(day, Kind.STOP_ARRIVED, route=dry, pickup_point=point)

    now = states(day)
    assert {now[o] for o in both | cold_only | dry_only} == {State.AT_PICKUP}
    assert set(Order.objects.filter(pk__in=both | dry_only).values_list("status", flat=True)) == {"ready"}
    # Elsewhere nothing moved.
    assert set(Parcel.objects.exclude(pickup_point=point).values_list("state", flat=True)) == {State.PENDING}


def test_the_leaders_received_settles_an_order_whose_second_van_has_not_been_recorded():
    day = make_day(members=20)
    split(day)
    cold, _dry = day.routes
    point = day.points[0]
    leader = factories.member()
    move(day, Kind.STOP_ARRIVED, route=cold, pickup_point=point)

    received = move(day, Kind.POINT_RECEIVED, pickup_point=point, by=leader)

    at_point = Parcel.objects.filter(pickup_point=point)
    assert set(at_point.values_list("state", flat=True)) == {State.AT_PICKUP}
    assert received.by == leader
    assert received.parcels == at_point.filter(at_pickup_at=received.at).count() > 0


def test_a_point_received_leaves_picked_up_cancelled_and_short_orders_alone():
    day = make_day()
    split(day)
    point = day.points[1]
    at_point = list(Parcel.objects.filter(pickup_point=point).order_by("pk"))
    assert len(at_point) >= 3
    picked, cancelled, short = at_point[:3]
    Parcel.objects.filter(pk=picked.pk).update(state=State.PICKED_UP)
    Parcel.objects.filter(pk=cancelled.pk).update(state=State.CANCELLED)
    Parcel.objects.filter(pk=short.pk).update(state=State.SHORTAGE)

    made = move(day, Kind.POINT_RECEIVED, pickup_point=point)

    assert made.parcels == len(at_point) - 3
    assert Parcel.objects.get(pk=picked.pk).state == State.PICKED_UP
    assert Parcel.objects.get(pk=cancelled.pk).state == State.CANCELLED
    assert Parcel.objects.get(pk=short.pk).state == State.SHORTAGE


def test_a_cancelled_order_is_not_made_ready():
    day = make_day()
    gone = day.orders[0]
    split(day)
    Order.objects.filter(pk=gone.pk).update(status=Order.Status.CANCELLED)  # a late cancellation
    split(day)
    move(day, Kind.POINT_RECEIVED, pickup_point=Parcel.objects.get(pk=gone.pk).pickup_point)
    assert Parcel.objects.get(pk=gone.pk).state == State.CANCELLED
    assert Order.objects.get(pk=gone.pk).status == Order.Status.CANCELLED


# --- only forward, once, for a split day ------------------------------------------------------------


def test_a_step_behind_where_the_orders_are_is_refused_and_changes_nothing():
    day = make_day()
    split(day)
    move(day, Kind.WAREHOUSE_RECEIVED, warehouse=Warehouse.objects.get(brand_id=day.brand_id))
    before = snapshot(day)

    with pytest.raises(TrackingError) as refused:
        move(day, Kind.SUPPLIER_SHIPPED, supplier=Supplier.objects.filter(brand_id=day.brand_id).first())

    assert refused.value.code == "backwards"
    assert "已到仓" in refused.value.message and "已发货" in refused.value.message
    assert snapshot(day) == before


def test_a_step_recorded_twice_is_refused_and_changes_nothing():
    day = make_day()
    split(day)
    cold, _dry = day.routes
    move(day, Kind.ROUTE_DEPARTED, route=cold)
    before = snapshot(day)

    with pytest.raises(TrackingError) as refused:
        move(day, Kind.ROUTE_DEPARTED, route=cold)

    assert refused.value.code == "twice"
    assert "记录过" in refused.value.message
    assert snapshot(day) == before


def test_a_day_that_was_not_split_is_refused():
    day = make_day()
    with pytest.raises(TrackingError) as refused:
        move(day, Kind.POINT_RECEIVED, pickup_point=day.points[0])
    assert refused.value.code == "unsplit"
    assert "分单" in refused.value.message
    assert not BatchMove.objects.exists()


@pytest.mark.parametrize(
    "target",
    ["another_brands_route", "a_point_off_the_route", "missing_point", "extra_supplier", "nothing_that_day"],
)
def test_a_wrong_target_is_refused_and_changes_nothing(target):
    day = make_day(route_every_point=False)
    elsewhere = factories.brand(name="别家")
    theirs = Route.objects.create(
        brand=elsewhere,
        warehouse=Warehouse.objects.create(brand=elsewhere, name="别家仓"),
        name="别家线",
        zones=["chilled"],
        departs_at=time(6),
    )
    split(day)
    cold, dry = day.routes
    before = snapshot(day)
    farm = Supplier.objects.filter(brand_id=day.brand_id).first()
    idle = Supplier.objects.create(brand_id=day.brand_id, name="闲置农场")
    cases = {
        "another_brands_route": {"kind": Kind.ROUTE_DEPARTED, "route": theirs},
        "a_point_off_the_route": {"kind": Kind.STOP_ARRIVED, "route": dry, "pickup_point": day.points[-1]},
        "missing_point": {"kind": Kind.STOP_ARRIVED, "route": cold},
        "extra_supplier": {"kind": Kind.ROUTE_DEPARTED, "route": cold, "supplier": farm},
        "nothing_that_day": {"kind": Kind.SUPPLIER_SHIPPED, "supplier": idle},
    }
    with pytest.raises(TrackingError) as refused:
        batch_move(brand_id=day.brand_id, delivery_date=day.delivery_date, **cases[target])
    assert refused.value.message
    assert snapshot(day) == before


def test_a_later_step_may_come_first_and_the_earlier_one_still_moves_what_is_behind():
    """The driver forgot 发车 and pressed 已到达 at the first stop; 发车 later moves the rest of the route."""
    day = make_day()
    split(day)
    cold, _dry = day.routes
    first_stop = cold.stops.order_by("position").first().pickup_point
    move(day, Kind.STOP_ARRIVED, route=cold, pickup_point=first_stop)

    departed = move(day, Kind.ROUTE_DEPARTED, route=cold)

    assert departed.parcels > 0
    for parcel in Parcel.objects.filter(delivery_date=day.delivery_date):
        if parcel.pickup_point_id == first_stop.pk and cold.pk in routes_of(parcel):
            assert parcel.state in (State.AT_PICKUP, State.OUT_FOR_DELIVERY)
        elif cold.pk in routes_of(parcel):
            assert parcel.state == State.OUT_FOR_DELIVERY


# --- events and Order.status -------------------------------------------------------------------------


def test_one_parcels_moved_event_per_state_reached_is_published_on_commit(django_capture_on_commit_callbacks):
    day = make_day(members=20)
    split(day)
    cold, _dry = day.routes
    point = day.points[0]
    heard: list = []
    events.subscribe(fulfillment_events.ParcelsMoved, heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            made = move(day, Kind.STOP_ARRIVED, route=cold, pickup_point=point)
            assert heard == []  # nothing before commit
        for callback in callbacks:
            callback()
    finally:
        events.unsubscribe(fulfillment_events.ParcelsMoved, heard.append)

    by_state = {e.state: e for e in heard}
    assert set(by_state) == {State.AT_PICKUP, State.OUT_FOR_DELIVERY}
    assert {e.batch_move_id for e in heard} == {made.pk}
    ready = set(Parcel.objects.filter(pickup_point=point, state=State.AT_PICKUP).values_list("order_id", flat=True))
    assert set(by_state[State.AT_PICKUP].order_ids) == ready
    assert sum(len(e.order_ids) for e in heard) == made.parcels
    assert all(e.delivery_date == day.delivery_date.isoformat() and e.brand_id == day.brand_id for e in heard)


def test_a_refused_step_publishes_nothing(django_capture_on_commit_callbacks):
    day = make_day()
    split(day)
    cold, _dry = day.routes
    move(day, Kind.ROUTE_DEPARTED, route=cold)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(TrackingError):
        move(day, Kind.ROUTE_DEPARTED, route=cold)
    assert callbacks == []


def test_moves_are_stamped_with_the_given_time():
    day = make_day()
    split(day)
    later = clock.now() + timedelta(hours=5)
    made = batch_move(
        brand_id=day.brand_id,
        delivery_date=day.delivery_date,
        kind=Kind.POINT_RECEIVED,
        pickup_point=day.points[2],
        now=later,
    )
    assert made.at == later
    assert set(Parcel.objects.filter(pickup_point=day.points[2]).values_list("at_pickup_at", flat=True)) == {later}


def test_a_van_arriving_after_the_leaders_receipt_is_recorded_and_moves_nothing():
    day = make_day()
    split(day)
    cold, _dry = day.routes
    point = cold.stops.order_by("position").first().pickup_point
    move(day, Kind.POINT_RECEIVED, pickup_point=point)
    before = Notice.objects.count()

    late = move(day, Kind.STOP_ARRIVED, route=cold, pickup_point=point)

    assert late.parcels == 0
    assert Notice.objects.count() == before
    assert set(Parcel.objects.filter(pickup_point=point).values_list("state", flat=True)) == {State.AT_PICKUP}


def test_a_van_arriving_after_everything_was_picked_up_is_refused_as_backwards():
    day = make_day()
    split(day)
    cold, _dry = day.routes
    point = cold.stops.order_by("position").first().pickup_point
    Parcel.objects.filter(pickup_point=point).update(state=State.PICKED_UP)
    with pytest.raises(TrackingError) as refused:
        move(day, Kind.STOP_ARRIVED, route=cold, pickup_point=point)
    assert refused.value.code == "backwards"
    assert "已取货" in refused.value.message
    assert not BatchMove.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_vans_arriving_at_one_point_at_the_same_moment_make_its_two_van_orders_ready():
    """Moves of a day are serialised: the later arrival sees the earlier one, so no order is left on the way."""
    day = make_day(members=20)
    split(day)
    point = day.points[0]
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def arrive(route):
        try:
            barrier.wait()
            move(day, Kind.STOP_ARRIVED, route=route, pickup_point=point)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=arrive, args=(route,)) for route in day.routes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert set(Parcel.objects.filter(pickup_point=point).values_list("state", flat=True)) == {State.AT_PICKUP}


@pytest.mark.django_db(transaction=True)
def test_the_same_step_pressed_on_two_phones_at_once_is_recorded_once():
    day = make_day()
    split(day)
    cold, _dry = day.routes
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def depart():
        try:
            barrier.wait()
            move(day, Kind.ROUTE_DEPARTED, route=cold)
            outcomes.append("moved")
        except TrackingError as refused:
            outcomes.append(refused.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=depart) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["moved", "twice"]
    assert BatchMove.objects.filter(kind=Kind.ROUTE_DEPARTED).count() == 1
    assert Notice.objects.count() == 0  # out for delivery is not told
