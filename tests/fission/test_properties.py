"""Any sequence of pickups, undone pickups, partial refunds and sweeps keeps every commission at 0 or more and the
ledger reconciled; refunding everything leaves nobody a commission."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fission import commissions
from groupbuy import clock
from jielong import ledger
from jielong.models import LedgerEntry, Order
from tests.fission.scenario import Kind, join, net, pick_up, selling, touch

pytestmark = pytest.mark.django_db

step = st.one_of(
    st.just(("pickup",)),
    st.just(("undo",)),
    st.just(("sweep",)),
    st.tuples(
        st.just("refund"),
        st.sampled_from(["order", "line0", "line1"]),
        st.integers(min_value=1, max_value=4000),
        st.integers(min_value=0, max_value=5),
    ),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=10), seller_bp=st.integers(0, 9000), leader_bp=st.integers(0, 1000))
def test_any_sequence_keeps_commissions_non_negative_and_reconciled(steps, seller_bp, leader_bp):
    sold = selling(members=1, help_sellers=1, seller_bp=seller_bp, leader_bp=leader_bp)
    member, seller = sold.members[0], sold.sellers[0]
    touch(sold, member, seller, clock.now())
    order = join(sold, member, (3, 2))
    lines = list(order.lines.order_by("pk"))
    for action in steps:
        if action[0] == "pickup":
            pick_up(order)
        elif action[0] == "undo":
            Order.objects.filter(pk=order.pk).update(status=Order.Status.READY)
            commissions.reverse_all(order_ids=[order.pk])
        elif action[0] == "sweep":
            commissions.commissions_catch_up()
        else:
            _refund, target, amount, key = action
            kwargs = {"order": order} if target == "order" else {"order_line": lines[int(target[-1])]}
            with contextlib.suppress(ledger.RefundRefused):
                ledger.refund_issue(amount_fen=amount, key=f"k{order.pk}-{key}", by=sold.operator, **kwargs)
        assert ledger.ledger_reconcile(order_ids=[order.pk]) == []
        assert net(seller.user) >= 0 and net(sold.leader) >= 0
        kept_paid = ledger.refundable_fen(order=Order.objects.get(pk=order.pk))
        assert net(seller.user) + net(sold.leader) <= kept_paid
    left = ledger.refundable_fen(order=Order.objects.get(pk=order.pk))
    if left:
        ledger.refund_issue(order=order, amount_fen=left, key=f"k{order.pk}-all", by=sold.operator)
    assert net(seller.user) == net(sold.leader) == 0
    assert ledger.ledger_reconcile(order_ids=[order.pk]) == []
    assert not LedgerEntry.objects.filter(kind=Kind.CLAWBACK, amount_fen__lte=0).exists()
