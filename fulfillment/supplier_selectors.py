"""What a supplier sees through its link: its pick lists by delivery date, and what is still being ordered.

Only the supplier's own quantities: who ordered (members, points) never leaves the operator's pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Q, Sum

from catalogue.models import Supplier
from groupbuy import clock
from jielong.models import Campaign, Order, OrderLine

from .models import BatchMove, PickLine, Shortage
from .purchase import PICK_FIELDS, next_cutoff, pick_line_row, sku_rows


@dataclass
class SupplierDay:
    delivery_date: date
    lines: list[dict] = field(default_factory=list)
    shipped_at: datetime | None = None

    @property
    def iso(self) -> str:
        return self.delivery_date.isoformat()

    @property
    def is_shipped(self) -> bool:
        return self.shipped_at is not None

    @property
    def to_confirm(self) -> int:
        return sum(1 for line in self.lines if line["confirmed"] is None or line["recheck"])

    @property
    def short_units(self) -> int:
        return sum(line["short"] for line in self.lines)

    @property
    def units(self) -> int:
        return sum(line["quantity"] for line in self.lines)


@dataclass(frozen=True)
class SupplierView:
    supplier: Supplier
    days: list[SupplierDay]
    # Units of the supplier's SKUs in jielongs still open (not formed yet): what may come, per SKU label.
    expected: list[dict]
    cutoff_at: datetime


def supplier_view(*, supplier: Supplier, now: datetime | None = None) -> SupplierView:
    now = now or clock.now()
    today = clock.localdate(now)
    picks = list(
        PickLine.objects.filter(supplier=supplier, delivery_date__gte=today)
        .filter(Q(quantity__gt=0) | Q(previous_quantity__isnull=False) | Q(confirmed_quantity__isnull=False))
        .values(*PICK_FIELDS)
    )
    expected_rows = (
        OrderLine.objects.filter(
            item__sku__product__supplier=supplier,
            order__campaign__brand_id=supplier.brand_id,
            order__campaign__status=Campaign.Status.OPEN,
        )
        .exclude(order__status=Order.Status.CANCELLED)
        .values("item__sku_id")
        .annotate(units=Sum("quantity"))
        .order_by()
    )
    expected_units = {row["item__sku_id"]: row["units"] for row in expected_rows}
    skus = sku_rows([*(line["sku_id"] for line in picks), *expected_units])
    short = dict(
        Shortage.objects.filter(pick_line_id__in=[line["pk"] for line in picks])
        .values("pick_line_id")
        .annotate(units=Sum("quantity"))
        .values_list("pick_line_id", "units")
    )
    shipped = dict(
        BatchMove.objects.filter(
            kind=BatchMove.Kind.SUPPLIER_SHIPPED,
            supplier=supplier,
            delivery_date__in={p["delivery_date"] for p in picks},
        ).values_list("delivery_date", "at")
    )
    by_day: dict[date, SupplierDay] = {}
    for line in picks:
        day = by_day.setdefault(line["delivery_date"], SupplierDay(line["delivery_date"]))
        sku = skus[line["sku_id"]]
        row = pick_line_row(line, sku) | {"sku": sku}
        row["short"] = short.get(line["pk"], 0)
        day.lines.append(row)
    for day in by_day.values():
        day.lines.sort(key=lambda row: (row["sku"]["product"], row["sku"]["spec"]))
        day.shipped_at = shipped.get(day.delivery_date)
    expected = sorted(
        ({"sku": skus[sku_id], "units": units} for sku_id, units in expected_units.items() if units),
        key=lambda row: row["sku"]["label"],
    )
    return SupplierView(
        supplier=supplier,
        days=[by_day[d] for d in sorted(by_day)],
        expected=expected,
        cutoff_at=next_cutoff(supplier, now=now),
    )
