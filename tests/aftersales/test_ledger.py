"""The money ledger (jielong.ledger): payments and refunds written with the change, per order line; one
idempotent refund that never gives back more than was paid, under retries, racing clicks and any sequence."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groupbuy import clock
from jielong import ledger
from jielong.events import RefundIssued
from jielong.models import Campaign, LedgerEntry, Order
from jielong.services import campaign_close
from tests.aftersales.orders import paid_orders

pytestmark = pytest.mark.django_db

LINE_A, LINE_B = 2 * 1590, 1590  # two units of the first item, one of the second


def _entries(order, kind):
    return list(
        LedgerEntry.objects.filter(order=order, kind=kind).order_by("pk").values_list("order_line_id", "amount_fen")
    )


def test_marking_paid_writes_one_payment_per_line_and_the_ledger_reconciles():
    made = paid_orders()
    order = made.orders[0]
    lines = list(order.lines.order_by("pk"))

    assert _entries(order, "payment") == [(lines[0].pk, LINE_A), (lines[1].pk, LINE_B)]
    assert ledger.ledger_reconcile(order_ids=[order.pk]) == []


def test_many_payments_at_once_are_each_orders_payment_dated_when_it_was_paid_and_written_once():
    """``payments_record`` (the demo's year writes 2,000 orders' payments at once) writes what
    ``payment_record`` writes per order, dated by ``paid_at``, in the orders' order; again, nothing."""
    made = paid_orders(members=3, paid=False)
    first, second, third = made.orders
    paid_at = {order.pk: clock.now() - timedelta(hours=order.pk % 7 + 1) for order in made.orders}
    Campaign.objects.filter(pk=made.campaign.pk).update(payment_method="wechat_pay")

    written = ledger.payments_record([third, first], by=None, paid_at=lambda order: paid_at[order.pk])

    assert written == 2 * (LINE_A + LINE_B)
    rows = list(
        LedgerEntry.objects.filter(kind="payment").order_by("pk").values_list("order_id", "created_at", "provider")
    )
    assert [r[0] for r in rows] == [third.pk, third.pk, first.pk, first.pk]
    assert all(at == paid_at[order_id] and provider == "wechat_pay" for order_id, at, provider in rows)
    assert _entries(second, "payment") == []
    for order in (first, third):
        lines = list(order.lines.order_by("pk"))
        assert _entries(order, "payment") == [(lines[0].pk, LINE_A), (lines[1].pk, LINE_B)]

    assert ledger.payments_record([first, second, third], by=None) == LINE_A + LINE_B  # only the second's
    assert LedgerEntry.objects.filter(kind="payment").count() == 6


def test_a_partial_refund_then_a_retry_then_too_much(django_capture_on_commit_callbacks):
    made = paid_orders()
    order = made.orders[0]

    with django_capture_on_commit_callbacks(execute=True):
        first = ledger.refund_issue(order=order, amount_fen=2000, key="req-1", by=made.operator, reason="少件")
        again = ledger.refund_issue(order=order, amount_fen=2000, key="req-1", by=made.operator)
    assert first.is_new and not again.is_new
    assert (again.amount_fen, again.entry_ids) == (2000, first.entry_ids)
    order.refresh_from_db()
    assert (order.refunded_fen, order.payment_status) == (2000, Order.PaymentStatus.PAID)

    with pytest.raises(ledger.RefundRefused) as refused:
        ledger.refund_issue(order=order, amount_fen=LINE_A + LINE_B - 1999, key="req-2", by=made.operator)
    assert refused.value.code == "over_refund" and "27.70" in refused.value.message
    order.refresh_from_db()
    assert order.refunded_fen == 2000 and LedgerEntry.objects.filter(kind="refund").count() == 1

    ledger.refund_issue(order=order, amount_fen=LINE_A + LINE_B - 2000, key="req-2", by=made.operator)
    order.refresh_from_db()
    assert (order.refunded_fen, order.payment_status) == (LINE_A + LINE_B, Order.PaymentStatus.REFUNDED)
    assert ledger.ledger_reconcile(order_ids=[order.pk]) == []


def test_a_line_refund_is_capped_by_what_that_line_cost():
    made = paid_orders()
    order = made.orders[0]
    second = order.lines.order_by("pk")[1]

    with pytest.raises(ledger.RefundRefused):
        ledger.refund_issue(order_line=second, amount_fen=LINE_B + 1, key="line", by=made.operator)
    refund = ledger.refund_issue(order_line=second, amount_fen=LINE_B, key="line", by=made.operator)

    assert _entries(order, "refund") == [(second.pk, LINE_B)] and refund.amount_fen == LINE_B


def test_an_unpaid_order_refunds_nothing():
    made = paid_orders(paid=False)

    with pytest.raises(ledger.RefundRefused) as refused:
        ledger.refund_issue(order=made.orders[0], amount_fen=100, key="x", by=made.operator)
    assert refused.value.code == "unpaid" and not LedgerEntry.objects.exists()


def test_a_key_cannot_be_reused_for_another_order():
    made = paid_orders(members=2)
    ledger.refund_issue(order=made.orders[0], amount_fen=100, key="same", by=made.operator)

    with pytest.raises(ledger.RefundRefused):
        ledger.refund_issue(order=made.orders[1], amount_fen=100, key="same", by=made.operator)
    assert made.orders[1].ledger_entries.filter(kind="refund").count() == 0


def test_a_failed_campaign_refunds_whats_left_in_the_ledger():
    made = paid_orders(members=2)
    ledger.refund_issue(order=made.orders[0], amount_fen=500, key="early", by=made.operator)
    Campaign.objects.filter(pk=made.campaign.pk).update(group_threshold=99, status="open")
    Campaign.objects.filter(pk=made.campaign.pk).update(closes_at=clock.now() - timedelta(minutes=1))

    campaign_close(campaign_id=made.campaign.pk)

    for order in made.orders:
        order.refresh_from_db()
        assert (order.payment_status, order.refunded_fen) == ("refunded", LINE_A + LINE_B)
    assert sum(a for _l, a in _entries(made.orders[0], "refund")) == LINE_A + LINE_B
    assert ledger.ledger_reconcile(order_ids=[o.pk for o in made.orders]) == []


def test_a_refund_publishes_its_event(django_capture_on_commit_callbacks):
    from groupbuy import events

    made = paid_orders()
    heard = []
    events.subscribe(RefundIssued, heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ledger.refund_issue(order=made.orders[0], amount_fen=300, key="ev", by=made.operator)
            ledger.refund_issue(order=made.orders[0], amount_fen=300, key="ev", by=made.operator)
    finally:
        events.unsubscribe(RefundIssued, heard.append)
    assert [(e.amount_fen, e.key) for e in heard] == [(300, "ev")]


def test_credit_is_idempotent_and_capped():
    made = paid_orders()
    order = made.orders[0]
    ledger.credit_issue(order=order, amount_fen=1000, key="c1", by=made.operator)
    ledger.credit_issue(order=order, amount_fen=1000, key="c1", by=made.operator)
    with pytest.raises(ledger.RefundRefused):
        ledger.credit_issue(order=order, amount_fen=LINE_A + LINE_B - 999, key="c2", by=made.operator)
    assert ledger.credit_balance_fen(user_id=order.user_id) == 1000


# --- racing clicks on PostgreSQL --------------------------------------------------------------------------------


def _race(calls):
    barrier = threading.Barrier(len(calls))
    outcomes = []

    def run(call):
        try:
            barrier.wait()
            outcomes.append(call())
        except ledger.RefundRefused as refused:
            outcomes.append(refused.code)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_racing_refunds_never_exceed_what_was_paid():
    made = paid_orders()
    order = made.orders[0]
    # Twelve clerks each refund 1000 fen (distinct keys) of an order that cost 4770: four get through.
    outcomes = _race(
        [
            lambda i=i: ledger.refund_issue(order=order, amount_fen=1000, key=f"k{i}", by=made.operator)
            for i in range(12)
        ]
    )

    order.refresh_from_db()
    assert sum(isinstance(o, ledger.Refund) for o in outcomes) == 4
    assert outcomes.count("over_refund") == 8
    assert order.refunded_fen == 4000 and ledger.ledger_reconcile(order_ids=[order.pk]) == []


@pytest.mark.django_db(transaction=True)
def test_racing_retries_of_one_key_refund_once():
    made = paid_orders()
    order = made.orders[0]
    outcomes = _race(
        [lambda: ledger.refund_issue(order=order, amount_fen=1234, key="double-tap", by=made.operator)] * 10
    )

    order.refresh_from_db()
    assert [o.is_new for o in outcomes].count(True) == 1
    assert {o.amount_fen for o in outcomes} == {1234}
    assert order.refunded_fen == 1234 and LedgerEntry.objects.filter(kind="refund").count() == 1


# --- any sequence of partial refunds and retries ------------------------------------------------------------------

step = st.tuples(
    st.sampled_from(["order", "line0", "line1"]),
    st.integers(min_value=1, max_value=5000),
    st.integers(min_value=0, max_value=6),  # the key: small, so retries are common
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=12))
def test_any_sequence_of_refunds_and_retries_reconciles(steps):
    made = paid_orders()
    order = made.orders[0]
    lines = list(order.lines.order_by("pk"))
    paid = {line.pk: line.quantity * line.unit_price_fen for line in lines}
    done: dict[str, int] = {}
    for target, amount, key_n in steps:
        key = f"p{order.pk}-{key_n}"
        kwargs = {"order": order} if target == "order" else {"order_line": lines[int(target[-1])]}
        try:
            refund = ledger.refund_issue(amount_fen=amount, key=key, by=made.operator, **kwargs)
        except ledger.RefundRefused:
            assert key not in done
            continue
        if key in done:
            assert not refund.is_new and refund.amount_fen == done[key]
        else:
            done[key] = refund.amount_fen
    order.refresh_from_db()
    refunded = dict(_entries_by_line(order))
    assert all(refunded.get(pk, 0) <= cost for pk, cost in paid.items())
    assert order.refunded_fen == sum(done.values()) == sum(refunded.values())
    assert ledger.ledger_reconcile(order_ids=[order.pk]) == []


def _entries_by_line(order):
    totals: dict[int, int] = {}
    for line_id, amount in _entries(order, "refund"):
        totals[line_id] = totals.get(line_id, 0) + amount
    return totals.items()


def test_orders_paid_outside_the_ledger_are_backfilled_once():
    made = paid_orders(members=2, paid=False)
    Order.objects.filter(pk__in=[o.pk for o in made.orders]).update(payment_status="paid")  # as a seed writes them
    assert len(ledger.ledger_reconcile()) == 2

    assert ledger.payments_backfill() == 2
    assert ledger.payments_backfill() == 0
    assert ledger.ledger_reconcile() == []
    assert LedgerEntry.objects.filter(kind="payment", reason="recorded late").count() == 4
