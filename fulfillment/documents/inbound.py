"""Warehouse inbound batches (入仓单): what each supplier delivers to a city warehouse, per temperature zone.

A load line arrives at the warehouse of the route it is loaded on. Lines no route carries (a point with
no active route for the zone) have no warehouse: every inbound document of the brand lists them apart,
loudly, until the routes are fixed and the day split again.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO

from django.db.models import Count, Sum
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from ..models import LoadLine, Warehouse
from .common import (
    CHUNK,
    change_mark,
    live_or_changed,
    packs,
    previous_sum,
    spec_label,
    zone_label,
    zone_rank,
)
from .xlsx import Book, write_xlsx


@dataclass(frozen=True, slots=True)
class InboundRow:
    supplier_id: int
    supplier: str
    zone: str
    sku_code: str
    product: str
    spec: str
    unit: str
    quantity: int
    packs: int
    pack_unit: str
    change: str

    @property
    def zone_label(self) -> str:
        return zone_label(self.zone)


@dataclass(frozen=True, slots=True)
class UnroutedRow:
    point: str
    zone: str
    sku_code: str
    product: str
    spec: str
    unit: str
    quantity: int

    @property
    def zone_label(self) -> str:
        return zone_label(self.zone)


def inbound_rows(warehouse_id: int, delivery_date: date) -> Iterator[InboundRow]:
    """Per supplier, zone and SKU: the units loaded on the warehouse's routes that day."""
    lines = (
        LoadLine.objects.filter(live_or_changed(), route__warehouse_id=warehouse_id, delivery_date=delivery_date)
        .values(
            "sku__product__supplier_id",
            "sku__product__supplier__name",
            "zone",
            "sku__code",
            "sku__product__name",
            "sku__spec",
            "sku__unit",
            "sku__units_per_pack",
            "sku__pack_unit",
        )
        .annotate(units=Sum("quantity"), before=previous_sum(), rank=zone_rank("zone"))
        .order_by(
            "sku__product__supplier__name", "sku__product__supplier_id", "rank", "sku__product__name", "sku__code"
        )
    )
    for r in lines.iterator(CHUNK):
        units = r["units"]
        yield InboundRow(
            r["sku__product__supplier_id"],
            r["sku__product__supplier__name"],
            r["zone"],
            r["sku__code"],
            r["sku__product__name"],
            spec_label(r["sku__spec"]),
            r["sku__unit"],
            units,
            packs(units, r["sku__units_per_pack"]),
            r["sku__pack_unit"],
            change_mark(r["before"], units, r["before"] != units),
        )


def unrouted_rows(brand_id: int, delivery_date: date) -> Iterator[UnroutedRow]:
    """Load lines no active route carries: nobody will take them to their pickup point."""
    lines = (
        LoadLine.objects.filter(brand_id=brand_id, delivery_date=delivery_date, route__isnull=True, quantity__gt=0)
        .order_by("pickup_point__name", "pickup_point_id", "zone", "sku__code")
        .values_list(
            "pickup_point__name", "zone", "sku__code", "sku__product__name", "sku__spec", "sku__unit", "quantity"
        )
    )
    for point, zone, code, product, spec, unit, quantity in lines.iterator(CHUNK):
        yield UnroutedRow(point, zone, code, product, spec_label(spec), unit, quantity)


@dataclass(frozen=True, slots=True)
class UnroutedPoint:
    point_id: int
    point: str
    zone: str
    skus: int
    units: int

    @property
    def zone_label(self) -> str:
        return zone_label(self.zone)


def unrouted_summary(brand_id: int, delivery_date: date) -> list[UnroutedPoint]:
    """Per pickup point and zone, what no route carries (bounded by points × zones: for the print view)."""
    rows = (
        LoadLine.objects.filter(brand_id=brand_id, delivery_date=delivery_date, route__isnull=True, quantity__gt=0)
        .values("pickup_point_id", "pickup_point__name", "zone")
        .annotate(skus=Count("sku_id"), units=Sum("quantity"), rank=zone_rank("zone"))
        .order_by("pickup_point__name", "pickup_point_id", "rank")
    )
    return [
        UnroutedPoint(r["pickup_point_id"], r["pickup_point__name"], r["zone"], r["skus"], r["units"]) for r in rows
    ]


def inbound_columns() -> list[str]:
    return [
        pgettext("document column", "Supplier"),
        pgettext("document column", "Zone"),
        pgettext("document column", "SKU code"),
        pgettext("document column", "Product"),
        pgettext("document column", "Spec"),
        pgettext("document column", "Unit"),
        pgettext("document column", "Quantity"),
        pgettext("document column", "Packs"),
        pgettext("document column", "Pack"),
        pgettext("document column", "Changed"),
    ]


def unrouted_columns() -> list[str]:
    return [
        pgettext("document column", "Pickup point"),
        pgettext("document column", "Zone"),
        pgettext("document column", "SKU code"),
        pgettext("document column", "Product"),
        pgettext("document column", "Spec"),
        pgettext("document column", "Unit"),
        pgettext("document column", "Quantity"),
    ]


def write_inbound(book: Book, warehouse: Warehouse, delivery_date: date) -> None:
    sheet = book.sheet(warehouse.name)
    sheet.title(f"{_('Warehouse inbound')} · {warehouse.name} · {delivery_date.isoformat()}")
    sheet.header(inbound_columns(), (18, 12, 14, 22, 14, 6, 10, 8, 6, 10))
    for r in inbound_rows(warehouse.pk, delivery_date):
        sheet.append(
            [
                r.supplier,
                r.zone_label,
                r.sku_code,
                r.product,
                r.spec,
                r.unit,
                r.quantity,
                r.packs,
                r.pack_unit,
                r.change,
            ]
        )
    unrouted = unrouted_rows(warehouse.brand_id, delivery_date)
    first = next(unrouted, None)
    if first is not None:
        loud = book.sheet(_("NOT ON ANY ROUTE"))
        loud.title(_("Not on any route: no van carries these to their pickup point. Fix the routes, then split again."))
        loud.header(unrouted_columns(), (18, 12, 14, 22, 14, 6, 10))
        for r in itertools.chain([first], unrouted):
            loud.append([r.point, r.zone_label, r.sku_code, r.product, r.spec, r.unit, r.quantity])


def inbound_xlsx(warehouse_id: int, delivery_date: date, out: IO[bytes] | None = None) -> IO[bytes]:
    warehouse = Warehouse.objects.get(pk=warehouse_id)
    return write_xlsx(lambda book: write_inbound(book, warehouse, delivery_date), out)


def inbound_filename(warehouse: Warehouse, delivery_date: date) -> str:
    return f"{_('Warehouse inbound')}-{warehouse.name}-{delivery_date.isoformat()}.xlsx"
