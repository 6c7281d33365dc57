"""Route loading list (装车单) and crate labels: per route, stops in route order, per stop and zone the SKUs,
units and crates, with the stop's address and contact — the point leader's full phone, because the driver
calls them (the only document with a full phone number)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO

from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from community.models import PickupPoint

from ..models import LoadLine, Route, RouteStop
from .common import (
    CHUNK,
    Contact,
    change_mark,
    live_or_changed,
    packs,
    point_contacts,
    sku_facts,
    zone_label,
    zone_rank,
)
from .xlsx import Book, write_xlsx


@dataclass(frozen=True, slots=True)
class LoadRow:
    position: int | None  # None: the point is no longer a stop of the route (re-split after a route change)
    point_id: int
    zone: str
    sku_code: str
    product: str
    spec: str
    unit: str
    quantity: int
    crates: int
    pack_unit: str
    change: str

    @property
    def zone_label(self) -> str:
        return zone_label(self.zone)


@dataclass
class ZoneBlock:
    zone: str
    rows: list[LoadRow] = field(default_factory=list)

    @property
    def zone_label(self) -> str:
        return zone_label(self.zone)

    @property
    def units(self) -> int:
        return sum(r.quantity for r in self.rows)

    @property
    def crates(self) -> int:
        return sum(r.crates for r in self.rows)


@dataclass
class Stop:
    position: int | None
    point_id: int
    point: str
    address: str
    opening_hours: str
    contact: Contact | None
    zones: list[ZoneBlock] = field(default_factory=list)

    @property
    def crates(self) -> int:
        return sum(z.crates for z in self.zones)

    @property
    def units(self) -> int:
        return sum(z.units for z in self.zones)


def _position(route_id: int) -> Subquery:
    return Subquery(
        RouteStop.objects.filter(route_id=route_id, pickup_point_id=OuterRef("pickup_point_id")).values("position")[:1]
    )


def route_load_rows(route_id: int, delivery_date: date) -> Iterator[LoadRow]:
    """The route's load lines, stop by stop in route order, coldest zone first, read in chunks."""
    lines = LoadLine.objects.filter(live_or_changed(), route_id=route_id, delivery_date=delivery_date)
    skus = sku_facts(lines.values("sku_id"))
    rows = (
        lines.annotate(position=_position(route_id), rank=zone_rank("zone"), changed=Q(changed_at__isnull=False))
        .order_by(F("position").asc(nulls_last=True), "pickup_point_id", "rank", "sku__product__name", "sku__code")
        .values_list("position", "pickup_point_id", "zone", "sku_id", "quantity", "previous_quantity", "changed")
    )
    for position, point, zone, sku_id, qty, prev, changed in rows.iterator(CHUNK):
        sku = skus[sku_id]
        yield LoadRow(
            position,
            point,
            zone,
            sku.code,
            sku.product,
            sku.spec,
            sku.unit,
            qty,
            packs(qty, sku.units_per_pack),
            sku.pack_unit,
            change_mark(prev, qty, changed),
        )


def _stop_heads(route_id: int, delivery_date: date) -> list[Stop]:
    """Every stop of the route in order, then points with loads that are no longer stops (a route changed)."""
    stops = list(
        RouteStop.objects.filter(route_id=route_id)
        .order_by("position")
        .values_list(
            "position", "pickup_point_id", "pickup_point__name", "pickup_point__address", "pickup_point__opening_hours"
        )
    )
    known = {point for _p, point, *_rest in stops}
    strays = (
        LoadLine.objects.filter(route_id=route_id, delivery_date=delivery_date)
        .exclude(pickup_point_id__in=known)
        .values_list("pickup_point_id", flat=True)
        .distinct()
    )
    stray_points = PickupPoint.objects.filter(pk__in=strays).order_by("pk")
    stops += [(None, p.pk, p.name, p.address, p.opening_hours) for p in stray_points]
    contacts = point_contacts([point for _p, point, *_rest in stops])
    return [
        Stop(position, point, name, address, hours, contacts.get(point))
        for position, point, name, address, hours in stops
    ]


def route_stops(route_id: int, delivery_date: date) -> Iterator[Stop]:
    """The loading list stop by stop (each stop's rows in memory, never the whole route's day at once)."""
    heads = _stop_heads(route_id, delivery_date)
    rows = route_load_rows(route_id, delivery_date)
    row = next(rows, None)
    for stop in heads:
        while row is not None and row.point_id == stop.point_id:
            if not stop.zones or stop.zones[-1].zone != row.zone:
                stop.zones.append(ZoneBlock(row.zone))
            stop.zones[-1].rows.append(row)
            row = next(rows, None)
        yield stop


@dataclass(frozen=True, slots=True)
class CrateCount:
    position: int | None
    point_id: int
    point: str
    zone: str
    crates: int

    @property
    def zone_label(self) -> str:
        return zone_label(self.zone)


def crate_counts(route_id: int, delivery_date: date) -> list[CrateCount]:
    """Crates per stop and zone (a crate holds one SKU: per SKU ceil(units / units per pack), summed)."""
    per_sku_crates = (F("quantity") + F("sku__units_per_pack") - 1) / F("sku__units_per_pack")
    rows = (
        LoadLine.objects.filter(route_id=route_id, delivery_date=delivery_date, quantity__gt=0)
        .values("pickup_point_id", "pickup_point__name", "zone")
        .annotate(crates=Sum(per_sku_crates), position=_position(route_id), rank=zone_rank("zone"))
        .order_by(F("position").asc(nulls_last=True), "pickup_point_id", "rank")
    )
    return [
        CrateCount(r["position"], r["pickup_point_id"], r["pickup_point__name"], r["zone"], int(r["crates"]))
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class CrateLabel:
    route: str
    position: int | None
    point: str
    zone: str
    number: int
    of: int
    payload: str

    @property
    def zone_label(self) -> str:
        return zone_label(self.zone)


def crate_payload(route_id: int, position: int | None, zone: str, number: int, of: int, delivery_date: date) -> str:
    return f"R{route_id}-S{position or 0}-{zone}-{number}/{of}-{delivery_date:%Y%m%d}"


def crate_labels(route: Route, delivery_date: date) -> Iterator[CrateLabel]:
    """One label per crate, "crate n/m" per stop and zone, in loading order."""
    for count in crate_counts(route.pk, delivery_date):
        for n in range(1, count.crates + 1):
            yield CrateLabel(
                route.name,
                count.position,
                count.point,
                count.zone,
                n,
                count.crates,
                crate_payload(route.pk, count.position, count.zone, n, count.crates, delivery_date),
            )


def route_columns() -> list[str]:
    return [
        pgettext("document column", "Stop"),
        pgettext("document column", "Pickup point"),
        pgettext("document column", "Address"),
        pgettext("document column", "Contact"),
        pgettext("document column", "Contact phone"),
        pgettext("document column", "Zone"),
        pgettext("document column", "SKU code"),
        pgettext("document column", "Product"),
        pgettext("document column", "Spec"),
        pgettext("document column", "Unit"),
        pgettext("document column", "Quantity"),
        pgettext("document column", "Crates"),
        pgettext("document column", "Pack"),
        pgettext("document column", "Changed"),
    ]


def write_route(book: Book, route: Route, delivery_date: date) -> None:
    sheet = book.sheet(route.name)
    sheet.title(
        f"{_('Route loading list')} · {route.name} · {delivery_date.isoformat()} · "
        f"{route.driver_name} {route.vehicle_plate} {route.departs_at:%H:%M}"
    )
    sheet.header(route_columns(), (6, 16, 24, 10, 15, 12, 14, 22, 14, 6, 8, 8, 6, 10))
    for stop in route_stops(route.pk, delivery_date):
        # The stop's address and contact on its first row only (as on the printed list); its number and
        # point on every row, so a filter still finds all of a stop's lines.
        head = [
            stop.position or "",
            stop.point,
            stop.address,
            stop.contact.name if stop.contact else "",
            stop.contact.phone if stop.contact else "",
        ]
        if not stop.zones:
            sheet.append([*head, _("Nothing to deliver")])
        for block in stop.zones:
            for r in block.rows:
                sheet.append(
                    [
                        *head,
                        r.zone_label,
                        r.sku_code,
                        r.product,
                        r.spec,
                        r.unit,
                        r.quantity,
                        r.crates,
                        r.pack_unit,
                        r.change,
                    ]
                )
                head = [head[0], head[1], None, None, None]


def route_xlsx(route_id: int, delivery_date: date, out: IO[bytes] | None = None) -> IO[bytes]:
    route = Route.objects.get(pk=route_id)
    return write_xlsx(lambda book: write_route(book, route, delivery_date), out)


def route_filename(route: Route, delivery_date: date) -> str:
    return f"{_('Route loading list')}-{route.name}-{delivery_date.isoformat()}.xlsx"


def crate_label_columns() -> list[str]:
    return [
        pgettext("document column", "Route"),
        pgettext("document column", "Stop"),
        pgettext("document column", "Pickup point"),
        pgettext("document column", "Zone"),
        pgettext("document column", "Crate"),
        pgettext("document column", "Of"),
        pgettext("document column", "QR code"),
    ]


def write_crate_labels(book: Book, route: Route, delivery_date: date) -> None:
    sheet = book.sheet(route.name)
    sheet.header(crate_label_columns(), (16, 6, 16, 12, 6, 6, 34))
    for label in crate_labels(route, delivery_date):
        sheet.append(
            [label.route, label.position or "", label.point, label.zone_label, label.number, label.of, label.payload]
        )


def crate_labels_xlsx(route_id: int, delivery_date: date, out: IO[bytes] | None = None) -> IO[bytes]:
    route = Route.objects.get(pk=route_id)
    return write_xlsx(lambda book: write_crate_labels(book, route, delivery_date), out)


def crate_labels_filename(route: Route, delivery_date: date) -> str:
    return f"{_('Crate labels')}-{route.name}-{delivery_date.isoformat()}.xlsx"
