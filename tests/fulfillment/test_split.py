"""Smart splitting (智能分单) on a generated day: every unit once, merging, idempotence, late changes."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection

from fulfillment.models import Handout, HandoutLine, LoadLine, Parcel, PickLine, Shortage
from fulfillment.split import SplitError, split_campaign, split_day
from groupbuy import clock
from jielong.models import Campaign, Order, OrderLine
from tests.factories import open_campaign
from tests.fulfillment.day import make_day

pytestmark = pytest.mark.django_db


def ordered_units(day) -> Counter:
    """(sku, pickup point, member) → units, straight from the live order lines."""
    units: Counter = Counter()
    for line in (
        OrderLine.objects.filter(order__campaign__in=day.campaigns)
        .exclude(order__status="cancelled")
        .select_related("order", "item")
    ):
        units[(line.item.sku_id, line.order.pickup_point_id, line.order.user_id)] += line.quantity
    return units


def by_sku(units: Counter) -> Counter:
    out: Counter = Counter()
    for (sku, _point, _user), q in units.items():
        out[sku] += q
    return out


def split(day):
    return split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)


def test_every_unit_appears_once_in_the_pick_lists_the_loads_and_the_handouts():
    day = make_day(suppliers=4, points=5, members=20, campaigns=3)
    result = split(day)
    units = ordered_units(day)

    picks = Counter({p.sku_id: p.quantity for p in PickLine.objects.filter(delivery_date=day.delivery_date)})
    assert picks == by_sku(units)
    assert all(p.supplier_id == p.sku.product.supplier_id for p in PickLine.objects.select_related("sku__product"))

    loads: Counter = Counter()
    for line in LoadLine.objects.filter(delivery_date=day.delivery_date):
        loads[(line.sku_id, line.pickup_point_id)] += line.quantity
    expected_loads: Counter = Counter()
    for (sku, point, _user), q in units.items():
        expected_loads[(sku, point)] += q
    assert loads == expected_loads

    handed: Counter = Counter()
    for line in HandoutLine.objects.filter(handout__delivery_date=day.delivery_date).select_related("handout"):
        handed[(line.sku_id, line.handout.pickup_point_id, line.handout.user_id)] += line.quantity
    assert handed == units
    assert result.units == sum(units.values())
    assert result.orders == len(day.orders)
    assert result.unrouted_point_ids == ()


def test_loads_go_on_the_route_that_carries_the_zone_at_that_point():
    day = make_day(route_every_point=False)
    result = split(day)
    cold, dry = day.routes
    for line in LoadLine.objects.filter(delivery_date=day.delivery_date).select_related("sku"):
        if line.sku.zone == "ambient":
            assert line.route_id == (None if line.pickup_point_id == day.points[-1].pk else dry.pk)
        else:
            assert line.route_id == cold.pk
        assert line.zone == line.sku.zone
    if LoadLine.objects.filter(pickup_point=day.points[-1], zone="ambient").exists():
        assert result.unrouted_point_ids == (day.points[-1].pk,)


def test_a_members_orders_at_one_point_merge_into_one_handout_with_one_code():
    day = make_day(campaigns=3)
    split(day)
    pairs = Counter((o.user_id, o.pickup_point_id) for o in day.orders)
    assert Handout.objects.filter(delivery_date=day.delivery_date).count() == len(pairs)
    for parcel in Parcel.objects.select_related("handout", "order"):
        assert parcel.handout.user_id == parcel.order.user_id
        assert parcel.handout.pickup_point_id == parcel.order.pickup_point_id
        assert parcel.state == Parcel.State.PENDING
    codes = list(Handout.objects.values_list("pickup_point_id", "code"))
    assert len(set(codes)) == len(codes)
    assert all(len(code) == 6 and code.isdigit() for _p, code in codes)


def test_splitting_twice_gives_the_same_documents_and_marks_nothing():
    day = make_day()
    split(day)
    snapshot = _documents(day)
    codes = dict(Handout.objects.values_list("pk", "code"))
    again = split(day)
    assert _documents(day) == snapshot
    assert dict(Handout.objects.values_list("pk", "code")) == codes
    assert again.changed == 0 and again.handouts_created == 0
    assert not PickLine.objects.filter(changed_at__isnull=False).exists()


def test_a_late_cancellation_updates_the_lists_and_marks_what_changed():
    day = make_day()
    split(day)
    gone = day.orders[0]
    lines = list(gone.lines.select_related("item"))
    before = {p.sku_id: p.quantity for p in PickLine.objects.all()}
    Order.objects.filter(pk=gone.pk).update(status=Order.Status.CANCELLED)

    result = split(day)

    assert result.parcels_cancelled == 1
    assert Parcel.objects.get(pk=gone.pk).state == Parcel.State.CANCELLED
    for line in lines:
        pick = PickLine.objects.get(sku=line.item.sku_id)
        assert pick.quantity == before[pick.sku_id] - line.quantity
        assert pick.previous_quantity == before[pick.sku_id]
        assert pick.changed_at is not None
    assert result.pick_lines_changed == len({line.item.sku_id for line in lines})
    # The cancelled order's units are out of the hand-out (marked, not deleted) unless merged with another order.
    handout = Parcel.objects.get(pk=gone.pk).handout
    changed = handout.lines.filter(changed_at__isnull=False)
    assert changed.exists()
    assert ordered_units(day) == _handed(day)


def test_a_shortage_is_picked_but_neither_loaded_nor_handed_out():
    day = make_day()
    split(day)
    line = OrderLine.objects.filter(order__in=day.orders).select_related("item", "order").first()
    pick = PickLine.objects.get(sku=line.item.sku_id)
    Shortage.objects.create(order_line=line, pick_line=pick, quantity=line.quantity, created_at=clock.now())

    split(day)

    assert PickLine.objects.get(pk=pick.pk).quantity == pick.quantity
    handout_line = HandoutLine.objects.filter(
        handout__user=line.order.user_id, handout__pickup_point=line.order.pickup_point_id, sku=line.item.sku_id
    ).first()
    expected = ordered_units(day)[(line.item.sku_id, line.order.pickup_point_id, line.order.user_id)] - line.quantity
    assert (handout_line.quantity if handout_line else 0) == expected
    if line.order.lines.count() == 1:
        assert Parcel.objects.get(pk=line.order_id).state == Parcel.State.SHORTAGE


def test_an_order_is_short_only_when_none_of_its_lines_could_be_supplied():
    """The parcel of an order whose every line is short becomes 'shortage'; one short line of two leaves it pending."""
    day = make_day(points=3, members=10, campaigns=2)
    split(day)
    multi = [order for order in day.orders if order.lines.count() >= 2]
    all_short, one_short = multi[0], multi[1]
    for line in [*all_short.lines.select_related("item"), one_short.lines.select_related("item").first()]:
        pick = PickLine.objects.get(delivery_date=day.delivery_date, sku=line.item.sku_id)
        Shortage.objects.create(order_line=line, pick_line=pick, quantity=line.quantity, created_at=clock.now())

    split(day)

    assert Parcel.objects.get(pk=all_short.pk).state == Parcel.State.SHORTAGE
    assert Parcel.objects.get(pk=one_short.pk).state == Parcel.State.PENDING
    short: Counter = Counter()
    for line in OrderLine.objects.filter(shortage__isnull=False).select_related("item", "order"):
        short[(line.item.sku_id, line.order.pickup_point_id, line.order.user_id)] += line.quantity
    assert ordered_units(day) - _handed(day) == short


def test_a_campaign_that_has_not_formed_cannot_be_split():
    scenario = open_campaign()
    with pytest.raises(SplitError, match="还没有成团"):
        split_campaign(scenario.campaign)
    assert not PickLine.objects.exists()


def test_a_formed_campaign_gets_a_delivery_date_after_it_closes():
    scenario = open_campaign()
    Campaign.objects.filter(pk=scenario.campaign.pk).update(status=Campaign.Status.FORMED)
    scenario.campaign.refresh_from_db()
    result = split_campaign(scenario.campaign)
    assert result.delivery_date > clock.localdate(scenario.campaign.closes_at)
    assert result.orders == 0


def _documents(day):
    return (
        sorted(PickLine.objects.values_list("sku_id", "supplier_id", "quantity")),
        sorted(LoadLine.objects.values_list("pickup_point_id", "sku_id", "route_id", "quantity")),
        sorted(HandoutLine.objects.values_list("handout_id", "sku_id", "quantity")),
        sorted(Parcel.objects.values_list("order_id", "handout_id", "state")),
    )


def _handed(day) -> Counter:
    handed: Counter = Counter()
    for line in HandoutLine.objects.filter(quantity__gt=0).select_related("handout"):
        handed[(line.sku_id, line.handout.pickup_point_id, line.handout.user_id)] += line.quantity
    return handed


@pytest.mark.django_db(transaction=True)
def test_a_big_split_refreshes_the_planners_statistics_after_it_commits(monkeypatch):
    """A first split above the threshold queues ANALYZE of its tables once committed; a small re-split does not."""
    from fulfillment import split as split_module
    from fulfillment import tasks

    queued = []
    monkeypatch.setattr(tasks.analyze_split_tables, "delay", lambda: queued.append(True))
    day = make_day()
    monkeypatch.setattr(split_module, "ANALYZE_AFTER_ROWS", 1)

    split(day)
    assert queued == [True]

    split(day)  # nothing changed: nothing to refresh
    assert queued == [True]

    split_module.analyze_split_tables()  # what the task runs
    with connection.cursor() as cur:
        cur.execute(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'fulfillment_handoutline'"
        )
        assert cur.fetchone() == (True,)


# Codes drawn from 40 instead of a million: of a dozen members at a point, two draw the same one most times.
_FEW_CODES = {
    "postgresql": "lpad(floor(random() * 40)::int::text, 6, '0')",
    "sqlite": "substr('000000' || abs(random() %% 40), -6, 6)",
}


def _check_codes_after_collisions(day, taken: set[str]) -> None:
    handouts = list(Handout.objects.filter(delivery_date=day.delivery_date))
    pairs = {(o.pickup_point_id, o.user_id) for o in day.orders}
    assert {(h.pickup_point_id, h.user_id) for h in handouts} == pairs  # everyone got a hand-out
    codes = [(h.pickup_point_id, h.code) for h in Handout.objects.all()]
    assert len(set(codes)) == len(codes)  # unique per point, across days
    assert all(int(h.code) < 40 for h in handouts)
    assert not {h.code for h in handouts if h.pickup_point_id == day.points[0].pk} & taken
    for parcel in Parcel.objects.select_related("handout", "order"):
        assert (parcel.handout.pickup_point_id, parcel.handout.user_id) == (
            parcel.order.pickup_point_id,
            parcel.order.user_id,
        )
    assert _handed(day) == ordered_units(day)


def test_pickup_codes_drawn_twice_at_a_point_or_given_there_on_another_day_are_drawn_again(monkeypatch):
    from fulfillment import split as split_module

    monkeypatch.setattr(split_module, "_RANDOM_CODE", _FEW_CODES)
    day = make_day(points=2, members=12)
    # Ten of the forty codes were given at the first point on an earlier day.
    taken = {f"{n:06d}" for n in range(10)}
    for code in taken:
        Handout.objects.create(
            brand_id=day.brand_id,
            delivery_date=day.delivery_date - timedelta(days=3),
            pickup_point=day.points[0],
            user=day.members[int(code)],
            code=code,
            created_at=clock.now(),
        )
    result = split(day)
    assert result.handouts_created == len({(o.pickup_point_id, o.user_id) for o in day.orders})
    _check_codes_after_collisions(day, taken)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the drawn first round is PostgreSQL's")
def test_a_first_round_of_codes_that_fails_leaves_the_rounds_after_it_to_give_every_code(monkeypatch):
    """As when a split of another day at the point gave one of the drawn codes a moment earlier."""
    from fulfillment import split as split_module

    monkeypatch.setattr(split_module, "_RANDOM_CODE", _FEW_CODES)
    # Every member of a point draws 000001 and nothing leaves the doubles out: the unique index refuses the round.
    failing = split_module._HANDOUTS_DRAWN.replace("{code}", "'000001'").replace(
        "DISTINCT ON (c.pickup_point_id, c.code)", ""
    )
    monkeypatch.setattr(split_module, "_HANDOUTS_DRAWN", failing)
    day = make_day(points=2, members=12)
    split(day)
    _check_codes_after_collisions(day, set())
