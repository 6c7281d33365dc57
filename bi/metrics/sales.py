"""The money metrics: GMV gross and net of refunds, 客单价, the AOV lift of live-driven orders, LTV."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, QuerySet, Sum

from cdp import rfm
from jielong.models import LedgerEntry, Order

from .. import rollups
from ..scope import Scope
from .base import (
    Figure,
    PersonRow,
    customer_work_mem,
    orders,
    person_rows,
    read_cursor,
    refunds_fen,
    set_based,
    yuan_text,
)

# --- GMV, net GMV, 客单价 ------------------------------------------------------------------------------
#
# Each figure is arithmetic over three parts of the board's orders (how many, their amounts, their refunds):
# counted from the domain rows, or read from the stream's rollups when ``settings.BI_ROLLUPS`` is on
# (``bi.rollups``: the same rule — orders not cancelled, of the period or the picked sessions' jielongs, in the
# scope's communities — folded from the event stream). The ClickHouse check uses the same arithmetic.


def _sales(scope: Scope, *, live: bool | None = None, refunds: bool = False) -> rollups.Sales:
    if rollups.enabled():
        return rollups.sales(scope) if live is None else rollups.sales_by_live(scope)[0 if live else 1]
    rows = orders(scope)
    if live is not None:
        rows = rows.filter(campaign__live_session__isnull=not live)
    totals = rows.aggregate(s=Sum("total_fen"), n=Count("pk"))
    return rollups.Sales(totals["n"] or 0, totals["s"] or 0, refunds_fen(rows) if refunds else 0)


def gross_figure(s: rollups.Sales) -> Figure:
    return Figure(s.gross_fen)


def net_figure(s: rollups.Sales) -> Figure:
    return Figure(s.gross_fen - s.refund_fen)


def aov_figure(s: rollups.Sales) -> Figure:
    return Figure(round(s.gross_fen / s.orders) if s.orders else None, s.gross_fen, s.orders)


def lift_figure(live: rollups.Sales, other: rollups.Sales) -> Figure:
    """客单价 of live-driven orders against the others, as a lift: 2.0 reads "+200%"."""
    live_aov = live.gross_fen / live.orders if live.orders else None
    other_aov = other.gross_fen / other.orders if other.orders else None
    if live_aov is None or not other_aov:
        return Figure(None)
    return Figure(live_aov / other_aov - 1)


FROM_SALES = {"gmv_gross": gross_figure, "gmv_net": net_figure, "average_order_value": aov_figure}


def gmv_gross(scope: Scope) -> Figure:
    return gross_figure(_sales(scope))


def gmv_net(scope: Scope) -> Figure:
    return net_figure(_sales(scope, refunds=True))


def average_order_value(scope: Scope) -> Figure:
    return aov_figure(_sales(scope))


def _aov(rows: QuerySet[Order]) -> float | None:
    totals = rows.aggregate(s=Sum("total_fen"), n=Count("pk"))
    return (totals["s"] or 0) / totals["n"] if totals["n"] else None


def aov_live_lift(scope: Scope) -> Figure:
    """客单价 of orders in jielongs a live launched against the other orders, as a lift: 2.0 reads "+200%"."""
    if rollups.enabled():
        return lift_figure(*rollups.sales_by_live(scope))
    return lift_figure(_sales(scope, live=True), _sales(scope, live=False))


def aov_live_lift_people(scope: Scope, part: str) -> list[PersonRow]:
    rows = orders(scope).filter(campaign__live_session__isnull=False)
    spent = dict(rows.values("user_id").annotate(s=Sum("total_fen")).values_list("user_id", "s"))
    return person_rows({pk: yuan_text(fen) for pk, fen in spent.items()})


def _buyers(scope: Scope, *, net: bool = False) -> list[PersonRow]:
    rows = orders(scope)
    spent = dict(rows.values("user_id").annotate(s=Sum("total_fen")).values_list("user_id", "s"))
    if net:
        refunded = (
            LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, order_id__in=rows.values("pk"))
            .values("order__user_id")
            .annotate(s=Sum("amount_fen"))
            .values_list("order__user_id", "s")
        )
        for user_id, fen in refunded:
            spent[user_id] = spent.get(user_id, 0) - fen
    return person_rows({pk: yuan_text(fen) for pk, fen in spent.items()})


# --- LTV ----------------------------------------------------------------------------------------------


def _customer_orders_until(scope: Scope, end: datetime) -> QuerySet[Order]:
    rows = Order.objects.exclude(status=Order.Status.CANCELLED).filter(created_at__lt=end)
    if scope.community_ids is not None:
        rows = rows.filter(community_id__in=scope.community_ids)
    return rows


def _net_spend_at(scope: Scope, start: datetime, end: datetime) -> tuple[tuple[int, int], tuple[int, int]]:
    """``rfm.net_spend`` of the customer orders until ``start`` and until ``end`` (``start`` ≤ ``end``), each as
    (net fen, customers), in one statement: the orders until ``end`` grouped by customer (sums and first order
    — a hash aggregate, not a distinct sort), and their refunds paid before each bound."""
    where = "o.status <> %s AND o.created_at < %s"
    params: tuple = (Order.Status.CANCELLED.value, end)
    if scope.community_ids is not None:
        where += " AND o.community_id = ANY(%s)"
        params += (list(scope.community_ids),)
    query = f"""
        SELECT c.spent_start, c.customers_start, c.spent_end, c.customers_end, r.refund_start, r.refund_end
        FROM (SELECT sum(s0) AS spent_start, count(*) FILTER (WHERE first < %s) AS customers_start,
                     sum(s) AS spent_end, count(*) AS customers_end
              FROM (SELECT o.user_id, min(o.created_at) AS first, sum(o.total_fen) AS s,
                           sum(o.total_fen) FILTER (WHERE o.created_at < %s) AS s0
                    FROM {Order._meta.db_table} AS o WHERE {where} GROUP BY o.user_id) AS per_customer) AS c,
             (SELECT sum(l.amount_fen) FILTER (WHERE l.created_at < %s AND o.created_at < %s) AS refund_start,
                     sum(l.amount_fen) FILTER (WHERE l.created_at < %s) AS refund_end
              FROM {LedgerEntry._meta.db_table} AS l JOIN {Order._meta.db_table} AS o ON o.id = l.order_id
              WHERE l.kind = %s AND {where}) AS r"""
    with read_cursor(work_mem=customer_work_mem()) as cursor:
        cursor.execute(query, (start, start, *params, start, start, end, LedgerEntry.Kind.REFUND.value, *params))
        spent0, n0, spent, n, refund0, refund = cursor.fetchone()
    return ((spent0 or 0) - (refund0 or 0), n0), ((spent or 0) - (refund or 0), n)


def _ltv_figure(net: int, n: int) -> Figure:
    return Figure(round(net / n) if n else None, net, n)


def lifetime_value_at(scope: Scope, end: datetime) -> Figure:
    """LTV: net spend per customer so far, as the CDP defines a customer's (``cdp.rfm``): from the stream's rollups
    when ``settings.BI_ROLLUPS`` is on (the customers' first days and the refunds by the day paid, ``bi.rollups``),
    else counted from the orders."""
    if rollups.enabled():
        spend = rollups.spend_until(scope, [end])[0]
        return _ltv_figure(spend.net_fen, spend.customers)
    if set_based():
        return _ltv_figure(*_net_spend_at(scope, end, end)[1])
    net, n = rfm.net_spend(_customer_orders_until(scope, end), until=end)
    return _ltv_figure(net, n)


def lifetime_value(scope: Scope) -> Figure:
    return lifetime_value_at(scope, scope.end)


def ltv_change(scope: Scope) -> Figure:
    """用户LTV变化: LTV at the period's end against LTV at its start, as a lift: 5.0 reads "+500%". Empty when
    nobody had ordered before the period."""
    if rollups.enabled():
        at_start, at_end = rollups.spend_until(scope, [scope.start, scope.end])
        before = _ltv_figure(at_start.net_fen, at_start.customers).value
        after = _ltv_figure(at_end.net_fen, at_end.customers).value
    elif set_based():
        at_start, at_end = _net_spend_at(scope, scope.start, scope.end)
        before, after = _ltv_figure(*at_start).value, _ltv_figure(*at_end).value
    else:
        before, after = lifetime_value_at(scope, scope.start).value, lifetime_value_at(scope, scope.end).value
    if not before or after is None:
        return Figure(None)
    return Figure(after / before - 1)


def lifetime_value_people(scope: Scope, part: str) -> list[PersonRow]:
    spent = rfm.net_spend_by_user(_customer_orders_until(scope, scope.end), until=scope.end)
    return person_rows({pk: yuan_text(fen) for pk, fen in spent.items()})
