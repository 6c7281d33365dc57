"""RFM cells per brand (RFM 客户分层), and each customer's net spend (the per-person LTV).

For one brand, at ``now``, over the customers with at least one order that was not cancelled in the last 365
days (orders of the brand's jielong campaigns):

* **R** (recency) — days since the customer's last such order; more recent scores higher;
* **F** (frequency) — the number of such orders in the 365 days;
* **M** (monetary) — their net spend in the 365 days: order totals less the refunds the ledger paid on them.

Each is turned into a quintile score 1–5 among the brand's customers: ``1 + floor(5 × below / n)``, where
``below`` is how many customers have a strictly worse value (ties share a score). A score of 3 or more is
"high" (the top three fifths). The three highs and lows name one of the eight cells Chinese CRM tools use
(重要价值客户 R↑F↑M↑ … 一般挽留客户 R↓F↓M↓).

Net spend is the one definition the BI boards' LTV uses (``bi.metrics.sales.lifetime_value``: orders not
cancelled, less the refunds on them); cdp sits below bi, so it is restated here for one person and kept equal
by ``tests/cdp/test_models.py``.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from groupbuy import clock
from jielong.models import LedgerEntry, Order

WINDOW_DAYS = 365
HIGH = 3  # a quintile score of 3–5 is "high"

# (R high, F high, M high) → cell key; the labels are what Chinese CRM tools call the eight cells.
CELLS: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "important_value",
    (True, False, True): "important_develop",
    (False, True, True): "important_retain",
    (False, False, True): "important_winback",
    (True, True, False): "general_value",
    (True, False, False): "general_develop",
    (False, True, False): "general_retain",
    (False, False, False): "general_winback",
}
CELL_LABELS = {
    "important_value": _("Important value customers"),
    "important_develop": _("Important customers to develop"),
    "important_retain": _("Important customers to retain"),
    "important_winback": _("Important customers to win back"),
    "general_value": _("General value customers"),
    "general_develop": _("General customers to develop"),
    "general_retain": _("General customers to retain"),
    "general_winback": _("General customers to win back"),
}


@dataclass(frozen=True)
class RfmCell:
    user_id: int
    recency_days: int
    frequency: int
    monetary_fen: int
    r: int
    f: int
    m: int

    @property
    def key(self) -> str:
        return CELLS[(self.r >= HIGH, self.f >= HIGH, self.m >= HIGH)]

    @property
    def label(self) -> str:
        return str(CELL_LABELS[self.key])

    @property
    def code(self) -> str:
        return f"R{self.r}F{self.f}M{self.m}"


def counted_orders(*, brand_id: int | None = None) -> QuerySet[Order]:
    """Orders that count as a customer's purchases: not cancelled (of one brand's campaigns, if given)."""
    rows = Order.objects.exclude(status=Order.Status.CANCELLED)
    if brand_id is not None:
        rows = rows.filter(campaign__brand_id=brand_id)
    return rows


def _refunds_of(orders: QuerySet[Order], until: datetime | None) -> QuerySet[LedgerEntry]:
    refunds = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, order_id__in=orders.values("pk"))
    return refunds if until is None else refunds.filter(created_at__lt=until)


def net_spend(orders: QuerySet[Order], *, until: datetime | None = None) -> tuple[int, int]:
    """(order totals less refunds, customers) over ``orders``: the sum of ``net_spend_by_user`` and its
    length, in two aggregate queries (what the BI board's LTV divides)."""
    totals = orders.aggregate(s=Sum("total_fen"), n=Count("user_id", distinct=True))
    refunded = _refunds_of(orders, until).aggregate(s=Sum("amount_fen"))["s"] or 0
    return (totals["s"] or 0) - refunded, totals["n"] or 0


def net_spend_by_user(orders: QuerySet[Order], *, until: datetime | None = None) -> dict[int, int]:
    """{user id: order totals less refunds} over ``orders`` (refunds paid before ``until``, if given):
    a customer's lifetime value (LTV), the one definition the CDP and the BI board share."""
    spent = dict(orders.values("user_id").annotate(s=Sum("total_fen")).values_list("user_id", "s"))
    refunds = _refunds_of(orders, until)
    for user_id, fen in (
        refunds.values("order__user_id").annotate(s=Sum("amount_fen")).values_list("order__user_id", "s")
    ):
        spent[user_id] = spent.get(user_id, 0) - fen
    return spent


def lifetime_value(*, user_id: int, brand_id: int | None = None, until: datetime | None = None) -> int:
    """One person's historic LTV in fen: everything they bought (not cancelled) less refunds."""
    rows = counted_orders(brand_id=brand_id).filter(user_id=user_id)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    return net_spend_by_user(rows, until=until).get(user_id, 0)


def _quintiles(values: dict[int, float]) -> dict[int, int]:
    ordered = sorted(values.values())
    n = len(ordered)
    return {key: 1 + (5 * bisect_left(ordered, v)) // n for key, v in values.items()}


def rfm_cells(*, brand_id: int, now: datetime | None = None) -> dict[int, RfmCell]:
    """{user id: cell} for the brand's customers of the last 365 days."""
    now = now or clock.now()
    rows = counted_orders(brand_id=brand_id).filter(
        created_at__gte=now - timedelta(days=WINDOW_DAYS), created_at__lt=now
    )
    totals = {
        user_id: (last, n)
        for user_id, last, n in rows.values("user_id")
        .annotate(last=Max("created_at"), n=Count("pk"))
        .values_list("user_id", "last", "n")
    }
    if not totals:
        return {}
    spent = net_spend_by_user(rows, until=now)
    recency = {pk: (now - last).days for pk, (last, _n) in totals.items()}
    r = _quintiles({pk: -days for pk, days in recency.items()})  # fewer days is better
    f = _quintiles({pk: n for pk, (_last, n) in totals.items()})
    m = _quintiles({pk: spent.get(pk, 0) for pk in totals})
    return {pk: RfmCell(pk, recency[pk], totals[pk][1], spent.get(pk, 0), r[pk], f[pk], m[pk]) for pk in totals}


def arrows(key: str) -> str:
    """ "R↑ F↓ M↑": which of the three are high in a cell."""
    highs = next(h for h, k in CELLS.items() if k == key)
    return " ".join(f"{name}{'↑' if high else '↓'}" for name, high in zip("RFM", highs, strict=True))


def cell_counts(cells: dict[int, RfmCell]) -> list[tuple[str, str, int, str]]:
    """(key, label, customers, arrows) for the eight cells, in the table's order."""
    counts: dict[str, int] = dict.fromkeys(CELL_LABELS, 0)
    for cell in cells.values():
        counts[cell.key] += 1
    return [(key, str(CELL_LABELS[key]), counts[key], arrows(key)) for key in CELL_LABELS]
