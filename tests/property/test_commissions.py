"""Commissions under refunds before and after the 核销 and an undone pickup: what each payee keeps (accrued less
clawed back) is the rule applied to the line's net amount — through the real chain: join, payment, the link's
attribution, the close, the split, ``verify_pickup`` (which accrues in its transaction), ``refund_issue`` (which
claws back in its transaction), ``pickup_undo``.

The rule (fission/commissions.py): at the 核销 each line earns ``half_up(kept × rate)`` for the point's leader
and ``min(half_up(kept × seller rate), kept − leader's)`` for the help-seller, ``kept`` being paid less refunded
then; after later refunds each keeps ``half_up(earned × kept now / kept then)``; an undo takes all back.
"""

from __future__ import annotations

from datetime import time

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from fulfillment.models import Handout, Route, RouteStop, Warehouse
from fulfillment.pickup import pickup_undo, verify_pickup
from fulfillment.split import split_campaign
from groupbuy import clock
from jielong import ledger, services
from jielong.models import LedgerEntry, OrderLine
from tests.fission.scenario import join, net, selling, touch

pytestmark = pytest.mark.django_db
# No explain phase: it reruns a failing example hundreds of times against the database (minutes).
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]
Kind = LedgerEntry.Kind
FULL_BP = 10_000

refund = st.tuples(st.sampled_from([0, 1, None]), st.integers(min_value=1, max_value=3500))


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def _kept(line: OrderLine) -> int:
    money = dict(
        LedgerEntry.objects.filter(order_line=line, kind__in=[Kind.PAYMENT, Kind.REFUND])
        .values_list("kind")
        .annotate(s=Sum("amount_fen"))
    )
    return money.get(Kind.PAYMENT, 0) - money.get(Kind.REFUND, 0)


def _refund(order, lines, target, amount, n, by) -> None:
    kwargs = {"order": order} if target is None else {"order_line": lines[target]}
    try:
        ledger.refund_issue(amount_fen=amount, key=f"c{order.pk}-{n}", by=by, **kwargs)
        event("refund")
    except ledger.RefundRefused:
        event("refund refused")


@settings(max_examples=12, deadline=None, phases=PHASES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seller_bp=st.integers(0, 6000),
    leader_bp=st.integers(0, 1500),
    quantities=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    before=st.lists(refund, max_size=2),
    after=st.lists(refund, max_size=4),
    undo=st.booleans(),
)
def test_what_each_payee_keeps_is_the_rule_applied_to_the_net_amounts(
    seller_bp, leader_bp, quantities, before, after, undo
):
    sold = selling(members=1, help_sellers=1, seller_bp=seller_bp, leader_bp=leader_bp)
    member, seller = sold.members[0], sold.sellers[0]
    touch(sold, member, seller, clock.now())  # the member opened the help-seller's link
    order = join(sold, member, quantities)  # order_join, order_mark_paid, attribution
    lines = list(order.lines.order_by("pk"))
    point = order.pickup_point
    warehouse = Warehouse.objects.create(brand=sold.campaign.brand, name=f"城市仓{point.pk}")
    route = Route.objects.create(
        brand=sold.campaign.brand,
        warehouse=warehouse,
        name=f"全温线{point.pk}",
        zones=["ambient", "chilled", "frozen"],
        departs_at=time(6, 0),
    )
    RouteStop.objects.create(route=route, pickup_point=point, position=1)
    for n, (target, amount) in enumerate(before):
        _refund(order, lines, target, amount, n, sold.operator)
    split_campaign(services.campaign_close(campaign_id=sold.campaign.pk))
    handout = Handout.objects.get(pickup_point=point, parcels__order=order)

    verify_pickup(code=handout.code, pickup_point_id=point.pk, by=sold.leader)
    if undo:
        pickup_undo(handout_id=handout.pk, by=sold.leader, reason="认错了人")
        assert net(sold.leader) == net(seller.user) == 0
        verify_pickup(code=handout.code, pickup_point_id=point.pk, by=sold.leader)
    kept_then = [_kept(line) for line in lines]
    for n, (target, amount) in enumerate(after, start=len(before)):
        _refund(order, lines, target, amount, n, sold.operator)
    kept_now = [_kept(line) for line in lines]

    leader_due = seller_due = 0
    for then, now in zip(kept_then, kept_now, strict=True):
        if then <= 0:
            continue
        leader_earned = _half_up(then * leader_bp, FULL_BP)
        seller_earned = min(_half_up(then * seller_bp, FULL_BP), then - leader_earned)
        leader_due += _half_up(leader_earned * now, then)
        seller_due += _half_up(seller_earned * now, then)
    assert net(sold.leader) == leader_due
    assert net(seller.user) == seller_due
    assert ledger.ledger_reconcile(order_ids=[order.pk]) == []
    if any(kept_now):
        event("commission kept")
