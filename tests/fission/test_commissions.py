"""Commissions: accrued on pickup, taken back in proportion to refunds (clawback), reconciled with the ledger."""

from __future__ import annotations

import pytest

from fission import commissions, sellers
from fission import events as fission_events
from fission.models import CommissionRule, RuleKind
from fission.sellers import CommissionRefused
from groupbuy import events
from jielong.ledger import ledger_reconcile, refund_issue
from jielong.models import LedgerEntry, OrderLine
from tests.fission.scenario import Kind, join, net, pick_up, selling, touch

pytestmark = pytest.mark.django_db


def attributed(sold, member, seller):
    from groupbuy import clock

    touch(sold, member, seller, clock.now())
    return join(sold, member)


def test_pickup_accrues_the_help_sellers_and_the_leaders_commission():
    sold = selling(members=1, seller_bp=1000, leader_bp=500)  # 10 % and 5 %
    seller = sold.sellers[0]
    order = attributed(sold, sold.members[0], seller)  # 2 × 1590 + 1 × 1590 = 4770

    written = pick_up(order)

    assert sorted((e.payee_id, e.order_line_id, e.amount_fen) for e in written) == sorted(
        [(seller.user_id, line.pk, 318 if line.quantity == 2 else 159) for line in order.lines.all()]
        + [(sold.leader.pk, line.pk, 159 if line.quantity == 2 else 80) for line in order.lines.all()]
    )
    assert net(seller.user) == 477 and net(sold.leader) == 239
    assert ledger_reconcile() == []
    # Accruing again (a retry, the sweep) writes nothing.
    assert commissions.accrue(order_ids=[order.pk]) == []


def test_nothing_accrues_before_pickup_or_on_an_unpaid_order():
    sold = selling(members=2)
    paid = attributed(sold, sold.members[0], sold.sellers[0])
    unpaid = join(sold, sold.members[1], paid=False)

    assert commissions.accrue(order_ids=[paid.pk]) == []  # not picked up yet
    assert pick_up(unpaid) == []
    assert not LedgerEntry.objects.filter(kind=Kind.COMMISSION).exists()


def test_a_help_sellers_own_fixed_rule_replaces_the_default():
    sold = selling(members=1, seller_bp=1000, leader_bp=0)
    seller = sold.sellers[0]
    sellers.help_seller_rule_set(help_seller=seller, kind=RuleKind.FIXED, rate_bp=None, fixed_fen=100, by=sold.operator)
    order = attributed(sold, sold.members[0], seller)

    pick_up(order)

    assert net(seller.user) == 300  # 3 units × ¥1.00
    assert net(sold.leader) == 0


def test_a_partial_refund_claws_back_its_share_and_a_full_refund_the_rest():
    sold = selling(members=1, seller_bp=1000, leader_bp=500)
    seller = sold.sellers[0]
    order = attributed(sold, sold.members[0], seller)
    pick_up(order)
    line = OrderLine.objects.filter(order=order, quantity=2).get()  # 3180 paid, 318 + 159 earned
    got = []
    events.subscribe(fission_events.CommissionReversed, got.append)
    try:
        refund_issue(order_line=line, amount_fen=1590, key="half", by=sold.operator)
        back = LedgerEntry.objects.filter(kind=Kind.CLAWBACK, order_line=line)
        assert sorted(back.values_list("payee_id", "amount_fen")) == sorted(
            [(seller.user_id, 159), (sold.leader.pk, 79)]  # 159 → keeps 159; 159 → keeps round(79.5) = 80
        )
        refund_issue(order_line=line, amount_fen=1590, key="rest", by=sold.operator)
        # Retrying a refund takes back nothing more.
        refund_issue(order_line=line, amount_fen=1590, key="rest", by=sold.operator)
    finally:
        events.unsubscribe(fission_events.CommissionReversed, got.append)
    kept = {
        payee: sum(a if k == Kind.COMMISSION else -a for p, k, a in rows if p == payee)
        for rows in [
            list(
                LedgerEntry.objects.filter(order_line=line, payee__isnull=False).values_list(
                    "payee_id", "kind", "amount_fen"
                )
            )
        ]
        for payee in (seller.user_id, sold.leader.pk)
    }
    assert kept == {seller.user_id: 0, sold.leader.pk: 0}
    assert net(seller.user) == 159  # the other line's 10 %
    assert ledger_reconcile() == []


def test_a_refund_in_the_same_transaction_as_the_page_hook_rolls_back_together():
    """The clawback is written in the refund's transaction: a refund refused writes no clawback."""
    sold = selling(members=1)
    order = attributed(sold, sold.members[0], sold.sellers[0])
    pick_up(order)
    from jielong.ledger import RefundRefused

    with pytest.raises(RefundRefused):
        refund_issue(order=order, amount_fen=10**6, key="too-much", by=sold.operator)
    assert not LedgerEntry.objects.filter(kind=Kind.CLAWBACK).exists()


@pytest.mark.parametrize(
    ("kind", "rate_bp", "fixed_fen", "leader_bp"),
    [
        pytest.param(RuleKind.PERCENT, 10001, 0, None, id="over-100-percent"),
        pytest.param(RuleKind.PERCENT, 9600, 0, 500, id="with-the-leader-over-100"),
        pytest.param(RuleKind.PERCENT, 100, 0, 10001, id="leader-over-100"),
        pytest.param(RuleKind.FIXED, 0, 1273, 0, id="fixed-over-the-lowest-price"),  # the first-N price 1272
        pytest.param(RuleKind.PERCENT, -1, 0, None, id="negative"),
    ],
)
def test_a_rule_over_100_percent_is_refused_and_nothing_changes(kind, rate_bp, fixed_fen, leader_bp):
    sold = selling(members=1, seller_bp=1000, leader_bp=500)
    before = list(CommissionRule.objects.values_list("kind", "rate_bp", "fixed_fen", "leader_rate_bp"))

    with pytest.raises(CommissionRefused) as refused:
        sellers.rule_set(
            campaign=sold.campaign,
            kind=kind,
            rate_bp=rate_bp,
            fixed_fen=fixed_fen,
            leader_rate_bp=leader_bp,
            by=sold.operator,
        )

    assert refused.value.code in ("over_100", "negative")
    assert refused.value.message
    assert list(CommissionRule.objects.values_list("kind", "rate_bp", "fixed_fen", "leader_rate_bp")) == before


def test_the_rule_page_says_why_over_100_percent_is_refused(client):
    sold = selling(members=1, seller_bp=1000, leader_bp=500)
    client.force_login(sold.operator)

    response = client.post(
        f"/ops/commissions/campaigns/{sold.campaign.pk}/",
        {"action": "rule", "kind": "percent", "rate": "120", "fixed": "", "leader_rate": "5"},
    )

    assert response.status_code == 400
    assert "100%" in response.content.decode()
    assert CommissionRule.objects.get().rate_bp == 1000


def test_only_operators_manage_rules_and_sellers():
    sold = selling(members=1)
    with pytest.raises(CommissionRefused):
        sellers.rule_set(
            campaign=sold.campaign, kind="percent", rate_bp=1, fixed_fen=0, leader_rate_bp=None, by=sold.leader
        )
    with pytest.raises(CommissionRefused):
        sellers.help_seller_invite(campaign=sold.campaign, by=sold.leader, user=sold.members[0])


def test_an_undone_pickup_takes_the_commission_back_and_a_new_pickup_earns_it_again():
    sold = selling(members=1)
    seller = sold.sellers[0]
    order = attributed(sold, sold.members[0], seller)
    pick_up(order)
    earned = net(seller.user)

    commissions.reverse_all(order_ids=[order.pk])
    assert net(seller.user) == 0
    assert len(pick_up(order)) == 4
    assert net(seller.user) == earned
    assert ledger_reconcile() == []
