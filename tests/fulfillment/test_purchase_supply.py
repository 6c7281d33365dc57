"""Supplier confirmations (供货确认) → shortages (缺货): latest joiners lose first, the split drops the units,
re-confirming adjusts, refusals change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from fulfillment import events as fulfillment_events
from fulfillment.models import BatchMove, HandoutLine, LoadLine, Parcel, PickLine, Shortage
from fulfillment.split import split_campaign, split_day
from fulfillment.supplier_supply import SupplyError, shortages_reallocate_day, supply_confirm, supply_confirm_day
from groupbuy import clock, events
from jielong import services
from jielong.models import Order, OrderLine
from tests import factories as f

pytestmark = pytest.mark.django_db


@dataclass
class Formed:
    scenario: f.Scenario
    orders: list[Order]  # in join order
    delivery_date: date
    pick: PickLine

    @property
    def brand_id(self) -> int:
        return self.scenario.campaign.brand_id

    def line(self, n: int) -> OrderLine:
        return self.orders[n].lines.get()

    def parcel(self, n: int) -> Parcel:
        return Parcel.objects.get(pk=self.orders[n].pk)

    def handed(self, n: int) -> int:
        order = self.orders[n]
        line = HandoutLine.objects.filter(
            handout__user=order.user_id, handout__delivery_date=self.delivery_date, sku=self.scenario.sku
        ).first()
        return line.quantity if line else 0

    def loaded(self) -> int:
        return sum(
            LoadLine.objects.filter(delivery_date=self.delivery_date, sku=self.scenario.sku).values_list(
                "quantity", flat=True
            )
        )


def formed_day(time_machine, quantities=(2, 1, 3, 2)) -> Formed:
    """Members join one after another (a minute apart) through the real join service; the group forms and
    its day is split."""
    time_machine.move_to(clock.now(), tick=False)
    scenario = f.open_campaign(members=len(quantities), threshold=2, perk_limit=0)
    orders = []
    for user, quantity in zip(scenario.members, quantities, strict=True):
        result = services.order_join(
            campaign_id=scenario.campaign.pk, user=user, quantities={scenario.item.pk: quantity}
        )
        orders.append(Order.objects.get(pk=result.order.pk))
        time_machine.shift(timedelta(minutes=1))
    scenario.campaign.refresh_from_db()
    split = split_campaign(scenario.campaign)
    pick = PickLine.objects.get(sku=scenario.sku, delivery_date=split.delivery_date)
    assert pick.quantity == sum(quantities)
    return Formed(scenario, orders, split.delivery_date, pick)


def published(callbacks) -> list[events.DomainEvent]:
    """The domain events handed to the bus in the captured on-commit callbacks."""
    out = []
    for callback in callbacks:
        if getattr(callback, "func", None) is events._dispatch_many:
            out.extend(callback.args[0])
    return out


def shortages(day: Formed) -> dict[int, int]:
    """order index → units short."""
    index = {order.pk: n for n, order in enumerate(day.orders)}
    return {
        index[order_id]: quantity
        for order_id, quantity in Shortage.objects.values_list("order_line__order_id", "quantity")
    }


def test_a_shortfall_hits_the_latest_joiners_first_and_the_split_drops_the_units(
    time_machine, django_capture_on_commit_callbacks
):
    day = formed_day(time_machine)  # joined 2, 1, 3, 2 units: 8 ordered

    with django_capture_on_commit_callbacks() as callbacks:
        result = supply_confirm(pick_line=day.pick, confirmed_quantity=5)

    # 3 short: the last joiner loses both units, the one before loses 1 of 3; the first two keep theirs.
    assert shortages(day) == {3: 2, 2: 1}
    assert result.short_lines == {day.line(3).pk: 2, day.line(2).pk: 1}
    recorded = [e for e in published(callbacks) if isinstance(e, fulfillment_events.ShortageRecorded)]
    assert sorted((e.order_id, e.quantity) for e in recorded) == sorted([(day.orders[3].pk, 2), (day.orders[2].pk, 1)])
    confirmed = [e for e in published(callbacks) if isinstance(e, fulfillment_events.SupplyConfirmed)]
    assert [(e.ordered, e.confirmed) for e in confirmed] == [(8, 5)]

    pick = PickLine.objects.get(pk=day.pick.pk)
    assert (pick.quantity, pick.confirmed_quantity) == (8, 5)  # picked as asked; 5 will come
    assert day.loaded() == 5
    assert [day.handed(n) for n in range(4)] == [2, 1, 2, 0]
    assert [day.parcel(n).state for n in range(4)] == ["pending", "pending", "pending", "shortage"]


def test_reconfirming_adjusts_the_shortages_and_the_full_quantity_clears_them(
    time_machine, django_capture_on_commit_callbacks
):
    day = formed_day(time_machine)
    supply_confirm(pick_line=day.pick, confirmed_quantity=5)

    supply_confirm(pick_line=day.pick, confirmed_quantity=7)
    assert shortages(day) == {3: 1}
    assert [day.handed(n) for n in range(4)] == [2, 1, 3, 1]
    assert day.parcel(3).state == Parcel.State.PENDING  # something to deliver again

    with django_capture_on_commit_callbacks() as callbacks:
        supply_confirm(pick_line=day.pick, confirmed_quantity=8)
    assert shortages(day) == {}
    cleared = [e for e in published(callbacks) if isinstance(e, fulfillment_events.ShortageCleared)]
    assert [e.order_id for e in cleared] == [day.orders[3].pk]
    assert day.loaded() == 8
    assert [day.handed(n) for n in range(4)] == [2, 1, 3, 2]
    assert {day.parcel(n).state for n in range(4)} == {Parcel.State.PENDING}


def test_confirming_nothing_makes_every_order_a_shortage(time_machine):
    day = formed_day(time_machine, quantities=(1, 2))
    supply_confirm(pick_line=day.pick, confirmed_quantity=0)
    assert shortages(day) == {0: 1, 1: 2}
    assert [day.parcel(n).state for n in range(2)] == ["shortage", "shortage"]
    assert day.loaded() == 0


def _unchanged(day: Formed):
    pick = PickLine.objects.get(pk=day.pick.pk)
    return (
        pick.confirmed_quantity,
        pick.confirmed_at,
        sorted(Shortage.objects.values_list("order_line_id", "quantity")),
        sorted(Parcel.objects.values_list("order_id", "state")),
        day.loaded(),
    )


@pytest.mark.parametrize(
    "confirmed, message",
    [(9, "最多只能确认已订的 8"), (-1, "请输入 0 或以上的整数"), ("3", "请输入 0 或以上的整数")],
    ids=["more-than-ordered", "negative", "not-an-int"],
)
def test_a_refused_confirmation_changes_nothing(time_machine, django_capture_on_commit_callbacks, confirmed, message):
    day = formed_day(time_machine)
    supply_confirm(pick_line=day.pick, confirmed_quantity=6)
    before = _unchanged(day)

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(SupplyError, match=message):
        supply_confirm(pick_line=day.pick, confirmed_quantity=confirmed)

    assert _unchanged(day) == before
    assert published(callbacks) == []


def test_a_line_of_another_supplier_is_refused_and_nothing_changes(time_machine):
    day = formed_day(time_machine)
    other = f.sku().product.supplier
    other.pk = None
    other.name = "别家农场"
    other.save()
    before = _unchanged(day)
    with pytest.raises(SupplyError, match="不在您这一天的拣货单上"):
        supply_confirm_day(supplier=other, delivery_date=day.delivery_date, quantities={day.pick.pk: 1})
    assert _unchanged(day) == before


def test_after_the_supplier_shipped_the_day_confirmations_are_refused(time_machine):
    day = formed_day(time_machine)
    supply_confirm(pick_line=day.pick, confirmed_quantity=6)
    BatchMove.objects.create(
        brand_id=day.brand_id,
        delivery_date=day.delivery_date,
        kind=BatchMove.Kind.SUPPLIER_SHIPPED,
        supplier_id=day.pick.supplier_id,
        at=clock.now(),
    )
    before = _unchanged(day)
    with pytest.raises(SupplyError, match="已发货"):
        supply_confirm(pick_line=day.pick, confirmed_quantity=8)
    assert _unchanged(day) == before


def test_a_late_cancellation_moves_the_shortage_to_the_next_in_line(time_machine):
    day = formed_day(time_machine)
    supply_confirm(pick_line=day.pick, confirmed_quantity=5)  # short: #3 two, #2 one

    services.order_cancel(order_id=day.orders[3].pk, user=day.orders[3].user)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    hit = shortages_reallocate_day(brand_id=day.brand_id, delivery_date=day.delivery_date)

    # 6 ordered now, 5 coming: the latest live joiner (#2) is 1 short; the cancelled order's shortage is gone.
    assert set(hit) == {day.orders[3].pk}
    assert shortages(day) == {2: 1}
    assert day.parcel(3).state == Parcel.State.CANCELLED
    assert day.loaded() == 5
    assert shortages_reallocate_day(brand_id=day.brand_id, delivery_date=day.delivery_date) == ()  # stable


def test_after_a_split_the_subscriber_reallocates_and_a_late_joiner_is_the_latest(
    time_machine, django_capture_on_commit_callbacks, monkeypatch
):
    from fulfillment import purchase_subscribers

    pushed = []
    monkeypatch.setattr(purchase_subscribers, "summary_changed", pushed.append)
    day = formed_day(time_machine)
    supply_confirm(pick_line=day.pick, confirmed_quantity=8)  # all of it
    late = f.add_member(day.scenario)

    services.order_join(campaign_id=day.scenario.campaign.pk, user=late, quantities={day.scenario.item.pk: 2})
    with django_capture_on_commit_callbacks(execute=True):
        split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)

    # The supplier confirmed the 8 it was shown; the 2 that came later are short, all the late joiner's.
    late_order = Order.objects.get(user=late)
    assert dict(Shortage.objects.values_list("order_line__order_id", "quantity")) == {late_order.pk: 2}
    assert Parcel.objects.get(pk=late_order.pk).state == Parcel.State.SHORTAGE
    assert day.loaded() == 8
    assert pushed and set(pushed) == {day.brand_id}
