"""The fulfilment console's services: warehouses, routes and their ordered stops, 核销员, moving a campaign
to another delivery day. Every refusal says why and changes nothing."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from community.models import Membership
from fulfillment import console, selectors
from fulfillment.console import ConsoleInvalid, RouteInput, WarehouseInput
from fulfillment.models import CampaignDelivery, Parcel, PickLine, PointVerifier, Route, RouteStop, Warehouse
from fulfillment.split import split_day
from groupbuy import clock
from jielong.models import Campaign
from tests import factories
from tests.fulfillment.day import make_day, make_sku

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return factories.operator()


def _route_input(warehouse, **changes) -> RouteInput:
    values = {
        "name": "冷链一线",
        "warehouse_id": warehouse.pk,
        "departs_at": time(6, 0),
        "zones": ["frozen", "chilled"],
        "driver_name": "王师傅",
        "driver_phone": "139 0000 1111",
        "vehicle_plate": "沪A·12345",
    }
    return RouteInput(**{**values, **changes})


def _points(n: int, *, brand=None):
    home = factories.community(brand=brand or factories.brand())
    return [factories.pickup_point(community=home, name=f"自提点{i}") for i in range(n)]


# --- warehouses ----------------------------------------------------------------------------------------------------


def test_an_operator_creates_and_renames_a_warehouse(operator):
    brand = factories.brand()
    made = console.warehouse_create(by=operator, brand=brand, data=WarehouseInput(name=" 浦东城市仓 ", city="上海"))
    assert (made.name, made.city, made.is_active) == ("浦东城市仓", "上海", True)
    console.warehouse_update(by=operator, warehouse=made, data=WarehouseInput(name="浦东仓", address="川沙路1号"))
    made.refresh_from_db()
    assert (made.name, made.address, made.city) == ("浦东仓", "川沙路1号", "")


@pytest.mark.parametrize(
    ("name", "field"),
    [("", "name"), ("浦东城市仓", "name"), ("仓" * 65, "name")],
    ids=["blank", "duplicate", "too-long"],
)
def test_a_bad_warehouse_is_refused(operator, name, field):
    brand = factories.brand()
    console.warehouse_create(by=operator, brand=brand, data=WarehouseInput(name="浦东城市仓"))
    with pytest.raises(ConsoleInvalid) as refused:
        console.warehouse_create(by=operator, brand=brand, data=WarehouseInput(name=name))
    assert refused.value.field == field
    assert Warehouse.objects.count() == 1


def test_only_operators_run_the_console():
    for user in (factories.member(), factories.host()):
        with pytest.raises(ConsoleInvalid):
            console.warehouse_create(by=user, brand=factories.brand(), data=WarehouseInput(name="仓"))
    assert not Warehouse.objects.exists()


def test_a_warehouse_active_routes_load_at_cannot_be_deactivated(operator):
    brand = factories.brand()
    warehouse = console.warehouse_create(by=operator, brand=brand, data=WarehouseInput(name="仓"))
    route = console.route_save(by=operator, data=_route_input(warehouse))
    with pytest.raises(ConsoleInvalid) as refused:
        console.warehouse_set_active(by=operator, warehouse=warehouse, is_active=False)
    assert "冷链一线" in refused.value.message
    warehouse.refresh_from_db()
    assert warehouse.is_active

    console.route_set_active(by=operator, route=route, is_active=False)
    console.warehouse_set_active(by=operator, warehouse=warehouse, is_active=False)
    warehouse.refresh_from_db()
    assert not warehouse.is_active
    with pytest.raises(ConsoleInvalid):  # a van cannot run from a closed warehouse
        console.route_set_active(by=operator, route=route, is_active=True)
    with pytest.raises(ConsoleInvalid):  # nor a new route start there
        console.route_save(by=operator, data=_route_input(warehouse, name="常温线"))
    assert Route.objects.count() == 1


# --- routes --------------------------------------------------------------------------------------------------------


def test_a_route_keeps_its_zones_in_order_and_the_drivers_phone_in_e164(operator):
    warehouse = console.warehouse_create(by=operator, brand=factories.brand(), data=WarehouseInput(name="仓"))
    route = console.route_save(by=operator, data=_route_input(warehouse, zones=["frozen", "chilled", "frozen"]))
    route.refresh_from_db()
    assert route.zones == ["chilled", "frozen"]
    assert route.driver_phone == "+8613900001111"
    assert (route.brand_id, route.departs_at, route.vehicle_plate) == (warehouse.brand_id, time(6, 0), "沪A·12345")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"driver_phone": "12345"}, "driver_phone"),
        ({"zones": []}, "zones"),
        ({"zones": ["tropical"]}, "zones"),
        ({"name": " "}, "name"),
        ({"departs_at": None}, "departs_at"),
        ({"warehouse_id": None}, "warehouse"),
        ({"vehicle_plate": "沪A" * 10}, "vehicle_plate"),
    ],
    ids=["bad-phone", "no-zones", "unknown-zone", "no-name", "no-departure", "no-warehouse", "long-plate"],
)
def test_a_bad_route_is_refused_and_the_route_stays_as_it_was(operator, changes, field):
    warehouse = console.warehouse_create(by=operator, brand=factories.brand(), data=WarehouseInput(name="仓"))
    route = console.route_save(by=operator, data=_route_input(warehouse))
    with pytest.raises(ConsoleInvalid) as refused:
        console.route_save(by=operator, route=route, data=_route_input(warehouse, **{"name": "改名", **changes}))
    assert refused.value.field == field
    route.refresh_from_db()
    assert (route.name, route.zones, route.driver_phone) == ("冷链一线", ["chilled", "frozen"], "+8613900001111")
    with pytest.raises(ConsoleInvalid):
        console.route_save(by=operator, data=_route_input(warehouse, **{"name": "新线", **changes}))
    assert Route.objects.count() == 1


def test_a_route_cannot_move_to_another_brands_warehouse_or_take_a_used_name(operator):
    ours = console.warehouse_create(by=operator, brand=factories.brand(), data=WarehouseInput(name="仓"))
    theirs = console.warehouse_create(by=operator, brand=factories.brand("别家"), data=WarehouseInput(name="仓"))
    route = console.route_save(by=operator, data=_route_input(ours))
    console.route_save(by=operator, data=_route_input(ours, name="常温线", zones=["ambient"]))
    with pytest.raises(ConsoleInvalid) as refused:
        console.route_save(by=operator, route=route, data=_route_input(theirs))
    assert refused.value.field == "warehouse"
    with pytest.raises(ConsoleInvalid) as refused:
        console.route_save(by=operator, route=route, data=_route_input(ours, name="常温线"))
    assert refused.value.code == "duplicate"
    route.refresh_from_db()
    assert (route.warehouse_id, route.name) == (ours.pk, "冷链一线")


def test_stops_are_set_added_moved_and_removed_in_order(operator):
    warehouse = console.warehouse_create(by=operator, brand=factories.brand(), data=WarehouseInput(name="仓"))
    route = console.route_save(by=operator, data=_route_input(warehouse))
    a, b, c, d = (p.pk for p in _points(4))
    assert console.route_stops_set(by=operator, route=route, point_ids=[c, a, b]) == [c, a, b]
    assert console.route_stop_add(by=operator, route=route, point_id=d) == [c, a, b, d]
    assert console.route_stop_move(by=operator, route=route, point_id=b, offset=-1) == [c, b, a, d]
    assert console.route_stop_move(by=operator, route=route, point_id=c, offset=-1) == [c, b, a, d]  # first already
    assert console.route_stop_move(by=operator, route=route, point_id=d, offset=1) == [c, b, a, d]  # last already
    assert console.route_stop_move(by=operator, route=route, point_id=c, offset=1) == [b, c, a, d]
    assert console.route_stop_remove(by=operator, route=route, point_id=a) == [b, c, d]
    assert list(
        RouteStop.objects.filter(route=route).order_by("position").values_list("pickup_point_id", "position")
    ) == [
        (b, 1),
        (c, 2),
        (d, 3),
    ]


def test_a_point_is_a_stop_at_most_once_and_only_of_the_routes_brand(operator):
    warehouse = console.warehouse_create(by=operator, brand=factories.brand(), data=WarehouseInput(name="仓"))
    route = console.route_save(by=operator, data=_route_input(warehouse))
    a, b = _points(2)
    (foreign,) = _points(1, brand=factories.brand("别家"))
    console.route_stops_set(by=operator, route=route, point_ids=[a.pk, b.pk])

    with pytest.raises(ConsoleInvalid) as refused:
        console.route_stop_add(by=operator, route=route, point_id=a.pk)
    assert a.name in refused.value.message and refused.value.code == "duplicate"
    with pytest.raises(ConsoleInvalid):
        console.route_stops_set(by=operator, route=route, point_ids=[b.pk, a.pk, b.pk])
    with pytest.raises(ConsoleInvalid):
        console.route_stop_add(by=operator, route=route, point_id=foreign.pk)
    with pytest.raises(ConsoleInvalid):
        console.route_stop_add(by=operator, route=route, point_id=987654)
    with pytest.raises(ConsoleInvalid):
        console.route_stop_remove(by=operator, route=route, point_id=foreign.pk)
    assert console.route_stop_ids(route) == [a.pk, b.pk]


def test_a_closed_point_cannot_be_added_but_an_existing_stop_stays(operator):
    warehouse = console.warehouse_create(by=operator, brand=factories.brand(), data=WarehouseInput(name="仓"))
    route = console.route_save(by=operator, data=_route_input(warehouse))
    a, b = _points(2)
    console.route_stops_set(by=operator, route=route, point_ids=[a.pk])
    type(a).objects.filter(pk__in=[a.pk, b.pk]).update(is_active=False)
    with pytest.raises(ConsoleInvalid):
        console.route_stop_add(by=operator, route=route, point_id=b.pk)
    assert console.route_stop_move(by=operator, route=route, point_id=a.pk, offset=1) == [a.pk]
    assert console.route_stop_ids(route) == [a.pk]


# --- coverage: a route that skips a point ----------------------------------------------------------------------------


def test_coverage_names_the_zones_no_active_route_carries_to_a_point_and_the_split_agrees(operator):
    day = make_day(route_every_point=False)  # the ambient van skips the last point
    cold, dry = day.routes
    skipped = day.points[-1]
    coverage = {c.point.pk: c for c in selectors.point_coverage(day.brand_id)}
    assert coverage[skipped.pk].missing_zones == ["ambient"]
    assert coverage[skipped.pk].missing_labels == ["常温"]
    assert all(not coverage[p.pk].missing_zones for p in day.points[:-1])
    assert {r.pk for r in coverage[skipped.pk].routes} == {cold.pk}

    result = split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    assert result.unrouted_point_ids == (skipped.pk,)
    assert selectors.delivery_day(day.brand_id, day.delivery_date).unrouted_point_ids == (skipped.pk,)

    console.route_stop_add(by=operator, route=dry, point_id=skipped.pk)
    assert not {c.point.pk: c for c in selectors.point_coverage(day.brand_id)}[skipped.pk].missing_zones
    assert split_day(brand_id=day.brand_id, delivery_date=day.delivery_date).unrouted_point_ids == ()

    console.route_set_active(by=operator, route=cold, is_active=False)
    coverage = {c.point.pk: c for c in selectors.point_coverage(day.brand_id)}
    assert coverage[skipped.pk].missing_zones == ["chilled", "frozen"]


def test_coverage_asks_only_for_the_zones_the_brands_products_come_in(operator):
    brand = factories.brand()
    farm = factories.sku().product.supplier  # a chilled SKU of 源味集
    make_sku(farm, "ambient", 99)
    (point,) = _points(1, brand=brand)
    coverage = {c.point.pk: c for c in selectors.point_coverage(brand.pk)}
    assert coverage[point.pk].missing_zones == ["ambient", "chilled"]


# --- 核销员 ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def point_with_people():
    (point,) = _points(1)
    leader = factories.member(phone="+8613800000001", nickname="张团长")
    point.leader = leader
    point.save()
    neighbour = factories.member(phone="+8613800000002", nickname="李阿姨")
    factories.membership(user=neighbour, community=point.community)
    factories.membership(user=leader, community=point.community, role=Membership.Role.LEADER)
    return point, leader, neighbour


def test_an_active_member_of_the_points_community_becomes_a_verifier_by_phone(operator, point_with_people):
    point, _leader, neighbour = point_with_people
    verifier = console.verifier_add(by=operator, point=point, phone="138-0000-0002")
    assert (verifier.user, verifier.pickup_point, verifier.added_by) == (neighbour, point, operator)
    console.verifier_remove(by=operator, verifier=verifier)
    assert not PointVerifier.objects.exists()


@pytest.mark.parametrize(
    ("phone", "setup", "code"),
    [
        ("12345", None, "invalid"),
        ("13800000009", None, "unknown"),
        ("13800000003", "other-community", "not_member"),
        ("13800000003", "pending", "not_member"),
        ("13800000003", "left", "not_member"),
        ("13800000001", None, "leader"),
        ("13800000002", "already", "duplicate"),
    ],
    ids=["bad-number", "nobody", "other-community", "pending", "left", "the-leader", "already"],
)
def test_a_verifier_who_cannot_verify_there_is_refused_with_a_reason(operator, point_with_people, phone, setup, code):
    point, _leader, neighbour = point_with_people
    stranger = factories.member(phone="+8613800000003", nickname="王五")
    if setup == "other-community":
        factories.membership(user=stranger, community=factories.community(brand=point.community.brand))
    elif setup in ("pending", "left"):
        status = Membership.Status.PENDING if setup == "pending" else Membership.Status.LEFT
        factories.membership(user=stranger, community=point.community, status=status)
    elif setup == "already":
        PointVerifier.objects.create(pickup_point=point, user=neighbour, added_by=operator, added_at=clock.now())
    before = PointVerifier.objects.count()
    with pytest.raises(ConsoleInvalid) as refused:
        console.verifier_add(by=operator, point=point, phone=phone)
    assert refused.value.code == code and refused.value.field == "phone"
    assert PointVerifier.objects.count() == before


# --- splitting and moving delivery days -----------------------------------------------------------------------------


def test_a_campaign_that_has_not_formed_cannot_be_split_or_moved(operator):
    campaign = factories.campaign()
    with pytest.raises(ConsoleInvalid) as refused:
        console.campaign_split(by=operator, campaign=campaign)
    assert refused.value.code == "not_formed"
    with pytest.raises(ConsoleInvalid):
        console.campaign_delivery_move(by=operator, campaign=campaign, delivery_date=clock.localdate())
    assert not CampaignDelivery.objects.exists() and not PickLine.objects.exists()


def test_split_now_gives_a_formed_campaign_its_delivery_day(operator):
    day = make_day(campaigns=1)
    campaign = day.campaigns[0]
    CampaignDelivery.objects.filter(campaign=campaign).delete()
    result = console.campaign_split(by=operator, campaign=campaign)
    delivery = CampaignDelivery.objects.get(campaign=campaign)
    assert delivery.delivery_date == result.delivery_date == clock.localdate(campaign.closes_at) + timedelta(days=1)
    assert result.orders == len(day.orders) and delivery.split_at is not None


def _units_on(day_date) -> int:
    return sum(PickLine.objects.filter(delivery_date=day_date).values_list("quantity", flat=True))


def test_moving_a_campaign_resplits_both_days_in_one_go(operator):
    day = make_day(campaigns=2)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    moved, stays = day.campaigns
    total = _units_on(day.delivery_date)
    later = day.delivery_date + timedelta(days=2)

    result = console.campaign_delivery_move(by=operator, campaign=moved, delivery_date=later)

    assert (result.old_date, result.new_date) == (day.delivery_date, later)
    assert CampaignDelivery.objects.get(campaign=moved).delivery_date == later
    moved_orders = [o.pk for o in day.orders if o.campaign_id == moved.pk]
    assert result.new_day.orders == len(moved_orders)
    assert result.old_day.orders == len(day.orders) - len(moved_orders)
    assert _units_on(later) + _units_on(day.delivery_date) == total
    assert _units_on(later) == result.new_day.units
    parcels = Parcel.objects.filter(order_id__in=moved_orders)
    assert {(p.delivery_date, p.state) for p in parcels} == {(later, Parcel.State.PENDING)}
    old = selectors.delivery_day(day.brand_id, day.delivery_date)
    assert [c.pk for c in old.campaigns] == [stays.pk] and not old.needs_split
    new = selectors.delivery_day(day.brand_id, later)
    assert [c.pk for c in new.campaigns] == [moved.pk] and not new.needs_split
    assert set(new.point_ids) == {o.pickup_point_id for o in day.orders if o.campaign_id == moved.pk}


@pytest.mark.parametrize("case", ["past", "same-day", "shipped"])
def test_a_bad_move_is_refused_and_changes_nothing(operator, case):
    day = make_day(campaigns=1)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    campaign = day.campaigns[0]
    target = {
        "past": clock.localdate() - timedelta(days=1),
        "same-day": day.delivery_date,
        "shipped": day.delivery_date + timedelta(days=1),
    }[case]
    if case == "shipped":
        Parcel.objects.filter(order=day.orders[0]).update(state=Parcel.State.SHIPPED)
    before = list(PickLine.objects.order_by("pk").values_list("delivery_date", "quantity", "changed_at"))
    with pytest.raises(ConsoleInvalid) as refused:
        console.campaign_delivery_move(by=operator, campaign=campaign, delivery_date=target)
    assert refused.value.field == "delivery_date"
    assert CampaignDelivery.objects.get(campaign=campaign).delivery_date == day.delivery_date
    assert list(PickLine.objects.order_by("pk").values_list("delivery_date", "quantity", "changed_at")) == before


# --- the delivery day every section works from ---------------------------------------------------------------------


def test_delivery_day_lists_the_days_campaigns_points_routes_and_suppliers():
    day = make_day(campaigns=2)
    empty = selectors.delivery_day(day.brand_id, day.delivery_date)
    assert [c.pk for c in empty.campaigns] == [c.pk for c in day.campaigns]
    assert (empty.point_ids, empty.route_ids, empty.supplier_ids) == ((), (), ())
    assert empty.needs_split and not empty.is_split and empty.split_at is None
    assert empty.orders == len(day.orders)

    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    the_day = selectors.delivery_day(day.brand_id, day.delivery_date)
    assert the_day.iso == day.delivery_date.isoformat() and the_day.brand.pk == day.brand_id
    assert the_day.point_ids == tuple(sorted({o.pickup_point_id for o in day.orders}))
    assert set(the_day.route_ids) <= {r.pk for r in day.routes} and the_day.route_ids
    assert the_day.supplier_ids == tuple(
        sorted(set(PickLine.objects.filter(delivery_date=day.delivery_date).values_list("supplier_id", flat=True)))
    )
    assert the_day.is_split and not the_day.needs_split
    assert all(c.delivery.delivery_date == day.delivery_date for c in the_day.campaigns)

    Campaign.objects.filter(pk=day.campaigns[0].pk).update(version=99)  # a late join or cancellation
    assert selectors.delivery_day(day.brand_id, day.delivery_date).needs_split


def test_the_hub_rows_count_each_brand_day_and_flag_what_needs_attention():
    day = make_day(campaigns=2, route_every_point=False)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    Campaign.objects.filter(pk=day.campaigns[1].pk).update(version=7)
    upcoming, recent = selectors.day_rows(today=clock.localdate())
    assert recent == []
    (row,) = upcoming
    assert (row.brand.pk, row.delivery_date, row.orders) == (day.brand_id, day.delivery_date, len(day.orders))
    assert [c.pk for c in row.campaigns] == [c.pk for c in day.campaigns]
    assert row.needs_split and row.split_at is not None
    assert row.unrouted_points == (
        1 if selectors.delivery_day(day.brand_id, day.delivery_date).unrouted_point_ids else 0
    )

    upcoming, recent = selectors.day_rows(today=day.delivery_date + timedelta(days=1))
    assert upcoming == [] and [r.delivery_date for r in recent] == [day.delivery_date]
