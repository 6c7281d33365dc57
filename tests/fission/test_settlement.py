"""Settlement (结算): a statement per person and period; its totals are the ledger's sums; settled once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection

from fission import settlement
from fission.models import Statement, StatementLine
from fission.sellers import CommissionRefused
from groupbuy import clock
from jielong.ledger import ledger_reconcile, refund_issue
from jielong.models import LedgerEntry, OrderLine
from tests.fission.scenario import Kind, join, net, pick_up, selling, touch


def _sum(entries) -> int:
    return sum(e.amount_fen if e.kind == Kind.COMMISSION else -e.amount_fen for e in entries)


def _history():
    """Two days of sales: day −2 three picked-up orders (two help-sellers), day −1 a refund of one line."""
    sold = selling(members=3, seller_bp=1000, leader_bp=500)
    a, b = sold.sellers
    two_days_ago = clock.now() - timedelta(days=2)
    with time_machine.travel(two_days_ago, tick=False):
        for member, seller in zip(sold.members, (a, b, a), strict=True):
            touch(sold, member, seller, clock.now())
            pick_up(join(sold, member))
    with time_machine.travel(two_days_ago + timedelta(days=1), tick=False):
        line = OrderLine.objects.filter(order=sold.orders[0], quantity=2).get()
        refund_issue(order_line=line, amount_fen=1590, key="bad-lettuce", by=sold.operator)
    return sold


@pytest.mark.django_db
def test_settlement_totals_equal_the_ledgers_sums_and_cover_each_entry_once():
    sold = _history()
    a = sold.sellers[0].user
    today = clock.localtime(clock.now()).date()

    first = settlement.statement_settle(
        payee=a, period_start=today - timedelta(days=2), period_end=today - timedelta(days=2), by=sold.operator
    ).statement
    second = settlement.statement_settle(
        payee=a, period_start=today - timedelta(days=2), period_end=today - timedelta(days=1), by=sold.operator
    ).statement

    entries = list(LedgerEntry.objects.filter(payee=a, kind__in=[Kind.COMMISSION, Kind.CLAWBACK]))
    in_first = [e for e in entries if e.statement_line.statement_id == first.pk]
    in_second = [e for e in entries if e.statement_line.statement_id == second.pk]
    assert len(in_first) + len(in_second) == len(entries) == 5  # 4 accruals, 1 clawback
    assert first.total_fen == _sum(in_first) == 954 and first.reversed_fen == 0
    assert second.total_fen == _sum(in_second) == -159 and second.accrued_fen == 0  # the clawback came later
    assert first.total_fen + second.total_fen == net(a) == 795
    assert ledger_reconcile() == []
    # The workbook lists every entry and the totals.
    from io import BytesIO

    from openpyxl import load_workbook

    sheet = load_workbook(BytesIO(settlement.statement_xlsx(first))).active
    values = [row for row in sheet.iter_rows(values_only=True) if row and row[0]]
    assert values[-1][-1] == 9.54
    assert sum(1 for row in values if isinstance(row[2], int)) == 4


@pytest.mark.django_db
def test_settling_again_returns_the_same_statement_and_refusals_write_nothing():
    sold = _history()
    b = sold.sellers[1].user
    today = clock.localtime(clock.now()).date()
    start, end = today - timedelta(days=7), today - timedelta(days=1)

    made = settlement.statement_settle(payee=b, period_start=start, period_end=end, by=sold.operator)
    again = settlement.statement_settle(payee=b, period_start=start, period_end=end, by=sold.operator)

    assert made.is_new and not again.is_new and again.statement.pk == made.statement.pk
    with pytest.raises(CommissionRefused) as nothing:
        settlement.statement_settle(payee=b, period_start=start, period_end=end - timedelta(days=1), by=sold.operator)
    assert nothing.value.code == "nothing"
    with pytest.raises(CommissionRefused):  # not ended yet
        settlement.statement_settle(payee=sold.leader, period_start=start, period_end=today, by=sold.operator)
    with pytest.raises(CommissionRefused):  # not an operator
        settlement.statement_settle(payee=sold.leader, period_start=start, period_end=end, by=sold.leader)
    assert Statement.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_operators_settling_at_once_make_one_statement():
    sold = _history()
    payee = sold.leader
    today = clock.localtime(clock.now()).date()
    start, end = today - timedelta(days=7), today - timedelta(days=1)
    barrier = threading.Barrier(4)
    results, failed = [], []

    def settle():
        try:
            barrier.wait(timeout=30)
            results.append(
                settlement.statement_settle(payee=payee, period_start=start, period_end=end, by=sold.operator)
            )
        except BaseException as exc:  # pragma: no cover - reported below
            failed.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=settle) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert failed == []
    assert sum(r.is_new for r in results) == 1
    assert len({r.statement.pk for r in results}) == 1
    assert Statement.objects.count() == 1
    statement = Statement.objects.get()
    lines = LedgerEntry.objects.filter(statement_line__statement=statement)
    assert StatementLine.objects.count() == lines.count() == LedgerEntry.objects.filter(payee=payee).count()
    assert statement.total_fen == _sum(lines) == net(payee)


@pytest.mark.django_db
def test_statements_are_the_payees_and_the_operators(client):
    sold = _history()
    a, b = (s.user for s in sold.sellers)
    today = clock.localtime(clock.now()).date()
    statement = settlement.statement_settle(
        payee=a, period_start=today - timedelta(days=7), period_end=today - timedelta(days=1), by=sold.operator
    ).statement

    client.force_login(a)
    assert client.get(f"/m/earnings/statements/{statement.pk}.xlsx").status_code == 200
    client.force_login(b)
    assert client.get(f"/m/earnings/statements/{statement.pk}.xlsx").status_code == 404
    # A help-seller's page shows their own earnings only, and no member reaches the operator's pages.
    page = client.get("/m/earnings/").content.decode()
    assert a.display_name not in page
    assert client.get("/ops/commissions/").status_code == 403
    assert (
        client.post(
            "/ops/commissions/settle/", {"start": "2020-01-01", "end": "2020-01-02", "payee": [b.pk]}
        ).status_code
        == 403
    )
    client.force_login(sold.operator)
    assert client.get(f"/ops/commissions/statements/{statement.pk}.xlsx").status_code == 200
    page = client.get("/ops/commissions/").content.decode()
    assert a.display_name in page and b.display_name in page and sold.leader.display_name in page


@pytest.mark.django_db
def test_the_operator_settles_from_the_page():
    from django.test import Client

    sold = _history()
    client = Client()
    client.force_login(sold.operator)
    today = clock.localtime(clock.now()).date()
    start, end = (today - timedelta(days=7)).isoformat(), (today - timedelta(days=1)).isoformat()

    response = client.post(
        "/ops/commissions/settle/", {"start": start, "end": end, "payee": [s.user_id for s in sold.sellers]}
    )

    assert response.status_code == 302
    assert sorted(Statement.objects.values_list("payee_id", "total_fen")) == sorted(
        [(sold.sellers[0].user_id, net(sold.sellers[0].user)), (sold.sellers[1].user_id, net(sold.sellers[1].user))]
    )
