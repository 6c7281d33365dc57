"""Money under any sequence of refunds (whole order, one line, retried keys) and a jielong that may fail at the
end: never more refunded than was paid, per line and in total, and the order's refunded total is always the sum
of its refund entries — through the real services (``order_join``, ``order_mark_paid``, ``ledger.refund_issue``,
``campaign_close``)."""

from __future__ import annotations

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from jielong import ledger, services
from jielong.models import Campaign, CampaignItem, LedgerEntry, Order
from tests import factories as f

pytestmark = pytest.mark.django_db
# No explain phase: it reruns a failing example hundreds of times against the database (minutes).
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]
Kind = LedgerEntry.Kind

refund = st.tuples(
    st.sampled_from(["order", "line0", "line1"]),
    st.integers(min_value=-5, max_value=6000),
    st.integers(min_value=0, max_value=4),  # few keys: retries and reused keys happen
)


def _sum(order: Order, kind: str, **extra) -> int:
    return LedgerEntry.objects.filter(order=order, kind=kind, **extra).aggregate(s=Sum("amount_fen"))["s"] or 0


def _check(order: Order, lines) -> None:
    order.refresh_from_db()
    paid = _sum(order, Kind.PAYMENT)
    refunded = _sum(order, Kind.REFUND)
    assert paid == order.total_fen
    assert 0 <= refunded <= paid
    assert order.refunded_fen == refunded
    for line in lines:
        assert _sum(order, Kind.REFUND, order_line=line) <= _sum(order, Kind.PAYMENT, order_line=line)
    assert (order.payment_status == Order.PaymentStatus.REFUNDED) == (refunded == paid)


@settings(max_examples=20, deadline=None, phases=PHASES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    quantities=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    steps=st.lists(refund, min_size=1, max_size=8),
    fails=st.booleans(),
)
def test_refunds_never_exceed_what_was_paid_and_the_refunded_total_is_the_sum_of_refunds(quantities, steps, fails):
    given_ = f.open_campaign(members=1, threshold=2 if fails else 1, perk_limit=0)
    second = CampaignItem.objects.create(campaign=given_.campaign, sku=f.sku(), price_fen=990, position=1)
    operator = f.operator()
    member = given_.members[0]
    order = services.order_join(
        campaign_id=given_.campaign.pk,
        user=member,
        quantities={given_.item.pk: quantities[0], second.pk: quantities[1]},
    ).order
    services.order_mark_paid(order_id=order.pk, by=operator)
    lines = list(order.lines.order_by("pk"))
    used: dict[str, int] = {}
    for target, amount, key_n in steps:
        key = f"r{order.pk}-{key_n}"
        kwargs = {"order": order} if target == "order" else {"order_line": lines[int(target[-1])]}
        line_ids = None if target == "order" else [lines[int(target[-1])].pk]
        left = ledger.refundable_fen(order=Order.objects.get(pk=order.pk), order_line_ids=line_ids)
        entries_before = LedgerEntry.objects.filter(order=order).count()
        try:
            made = ledger.refund_issue(amount_fen=amount, key=key, by=operator, **kwargs)
        except ledger.RefundRefused:
            event("refused")
            assert LedgerEntry.objects.filter(order=order).count() == entries_before  # nothing written
            # an amount that is no amount is refused first, even under a key already used (input before the
            # idempotency lookup); otherwise only a new key asking for more than is left
            assert amount <= 0 or (key not in used and amount > left)
        else:
            if key in used:
                event("a retried key")
                assert not made.is_new and made.amount_fen == used[key]
                assert LedgerEntry.objects.filter(order=order).count() == entries_before
            else:
                event("refunded")
                assert made.is_new and 0 < amount <= left
                used[key] = amount
        _check(order, lines)

    closed = services.campaign_close(campaign_id=given_.campaign.pk)
    _check(order, lines)
    if closed.status == Campaign.Status.FAILED:
        # 不成团: whatever was left is given back; the refunds then add up to the payment exactly.
        assert _sum(order, Kind.REFUND) == _sum(order, Kind.PAYMENT) == order.refunded_fen
