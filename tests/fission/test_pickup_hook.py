"""The real 核销 accrues the leader's commission in its own transaction; its undo takes it back."""

from __future__ import annotations

import pytest

from fission import sellers
from fission.models import RuleKind
from fulfillment.models import Handout
from fulfillment.pickup import pickup_undo, verify_pickup
from fulfillment.split import split_day
from jielong import services
from jielong.ledger import ledger_reconcile
from jielong.models import LedgerEntry, Order
from tests import factories
from tests.fulfillment.day import make_day

pytestmark = pytest.mark.django_db
Kind = LedgerEntry.Kind


def test_verify_pickup_accrues_and_undo_reverses_the_leaders_commission():
    day = make_day(suppliers=2, points=2, members=6, campaigns=2)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    handout = max(Handout.objects.filter(delivery_date=day.delivery_date), key=lambda h: h.parcels.count())
    point = handout.pickup_point
    leader = factories.member(nickname="王团长")
    point.leader = leader
    point.save(update_fields=["leader"])
    operator = factories.operator()
    orders = list(Order.objects.filter(parcel__handout=handout))
    for order in orders:
        services.order_mark_paid(order_id=order.pk, by=operator)
        sellers.rule_set(
            campaign=order.campaign, kind=RuleKind.PERCENT, rate_bp=0, fixed_fen=0, leader_rate_bp=1000, by=operator
        )

    verify_pickup(code=handout.code, pickup_point_id=point.pk, by=leader)

    earned = LedgerEntry.objects.filter(payee=leader, kind=Kind.COMMISSION)
    paid = sum(o.total_fen for o in orders)
    assert {e.order_id for e in earned} == {o.pk for o in orders}
    assert abs(sum(e.amount_fen for e in earned) - paid // 10) <= earned.count()  # 10 %, rounded per line
    assert ledger_reconcile() == []

    pickup_undo(handout_id=handout.pk, by=leader, reason="认错了人")

    back = LedgerEntry.objects.filter(payee=leader, kind=Kind.CLAWBACK)
    assert sum(b.amount_fen for b in back) == sum(e.amount_fen for e in earned)
    assert ledger_reconcile() == []


def test_the_sweep_accrues_what_a_batch_pickup_or_a_late_payment_left_out():
    """A tracking batch step can mark parcels picked up without a 核销; an order paid after its pickup earned
    nothing at the counter. The sweep accrues both, once."""
    from django.utils import timezone

    from fission.commissions import commissions_catch_up
    from fulfillment.models import Parcel

    day = make_day(suppliers=1, points=1, members=3, campaigns=1)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    point = day.points[0]
    leader = factories.member(nickname="王团长")
    point.leader = leader
    point.save(update_fields=["leader"])
    operator = factories.operator()
    sellers.rule_set(
        campaign=day.campaigns[0], kind=RuleKind.PERCENT, rate_bp=0, fixed_fen=0, leader_rate_bp=1000, by=operator
    )
    orders = list(Order.objects.filter(campaign=day.campaigns[0]).order_by("pk"))
    Parcel.objects.filter(order__in=orders).update(state=Parcel.State.PICKED_UP, picked_up_at=timezone.now())
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(status=Order.Status.PICKED_UP)
    services.order_mark_paid(order_id=orders[0].pk, by=operator)

    assert commissions_catch_up() == orders[0].lines.count()
    assert set(LedgerEntry.objects.filter(kind=Kind.COMMISSION).values_list("order_id", flat=True)) == {orders[0].pk}
    services.order_mark_paid(order_id=orders[1].pk, by=operator)  # paid after the pickup
    assert commissions_catch_up() == orders[1].lines.count()
    assert commissions_catch_up() == 0
    assert ledger_reconcile() == []
