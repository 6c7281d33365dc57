"""Supplier pick list (拣货单): per supplier, what to pick for one delivery day, SKU by SKU."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from catalogue.models import Supplier

from ..models import PickLine
from .common import CHUNK, change_mark, live_or_changed, packs, spec_label, zone_label, zone_rank
from .xlsx import Book, write_xlsx


@dataclass(frozen=True, slots=True)
class PickRow:
    sku_code: str
    product: str
    spec: str
    unit: str
    zone: str
    quantity: int
    packs: int
    pack_unit: str
    units_per_pack: int
    confirmed: int | None
    change: str  # "3 → 2" when a later split changed it

    @property
    def zone_label(self) -> str:
        return zone_label(self.zone)

    @property
    def short(self) -> int:
        """Units the supplier said they cannot supply."""
        return max(self.quantity - self.confirmed, 0) if self.confirmed is not None else 0


def pick_list_rows(supplier_id: int, delivery_date: date) -> Iterator[PickRow]:
    """The supplier's pick lines of the day (coldest zone first, then by product), read in chunks."""
    lines = (
        PickLine.objects.filter(live_or_changed(), supplier_id=supplier_id, delivery_date=delivery_date)
        .annotate(zone_rank=zone_rank("sku__zone"))
        .order_by("zone_rank", "sku__product__name", "sku__code")
        .values_list(
            "sku__code",
            "sku__product__name",
            "sku__spec",
            "sku__unit",
            "sku__zone",
            "quantity",
            "sku__units_per_pack",
            "sku__pack_unit",
            "confirmed_quantity",
            "previous_quantity",
            "changed_at",
        )
    )
    for code, product, spec, unit, zone, qty, upp, pack_unit, confirmed, prev, changed in lines.iterator(CHUNK):
        yield PickRow(
            code,
            product,
            spec_label(spec),
            unit,
            zone,
            qty,
            packs(qty, upp),
            pack_unit,
            upp,
            confirmed,
            change_mark(prev, qty, changed is not None),
        )


def pick_list_columns() -> list[str]:
    return [
        pgettext("document column", "SKU code"),
        pgettext("document column", "Product"),
        pgettext("document column", "Spec"),
        pgettext("document column", "Unit"),
        pgettext("document column", "Zone"),
        pgettext("document column", "Quantity"),
        pgettext("document column", "Packs"),
        pgettext("document column", "Pack"),
        pgettext("document column", "Units per pack"),
        pgettext("document column", "Confirmed"),
        pgettext("document column", "Changed"),
    ]


def write_pick_list(book: Book, supplier: Supplier, delivery_date: date) -> None:
    sheet = book.sheet(supplier.name)
    sheet.title(f"{_('Pick list')} · {supplier.name} · {delivery_date.isoformat()}")
    sheet.header(pick_list_columns(), (14, 22, 14, 6, 12, 10, 8, 6, 10, 10, 10))
    for r in pick_list_rows(supplier.pk, delivery_date):
        sheet.append(
            [
                r.sku_code,
                r.product,
                r.spec,
                r.unit,
                r.zone_label,
                r.quantity,
                r.packs,
                r.pack_unit,
                r.units_per_pack,
                r.confirmed,
                r.change,
            ]
        )


def pick_list_xlsx(supplier_id: int, delivery_date: date, out: IO[bytes] | None = None) -> IO[bytes]:
    """The pick list as an xlsx file (a rewound temporary file unless ``out`` is given)."""
    supplier = Supplier.objects.get(pk=supplier_id)
    return write_xlsx(lambda book: write_pick_list(book, supplier, delivery_date), out)


def pick_list_filename(supplier: Supplier, delivery_date: date) -> str:
    return f"{_('Pick list')}-{supplier.name}-{delivery_date.isoformat()}.xlsx"
