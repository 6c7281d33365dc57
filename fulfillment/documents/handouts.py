"""Pickup-point hand-out list (发货单/自提单) and hand-out labels.

One row per ``Handout``: a member's orders at the point merged (合并收货信息相同的订单), with the pickup code
the member shows, the items and quantities, and the phone masked to its last four digits — the leader needs
no more to hand over. A line a later split changed is marked "3 → 2".
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from community.models import PickupPoint
from community.phones import mask_phone

from ..models import HandoutLine
from .common import CHUNK, change_mark, live_or_changed, member_name, sku_label
from .xlsx import Book, write_xlsx

SORTS = ("code", "name")


@dataclass(frozen=True, slots=True)
class HandoutItem:
    sku_code: str
    label: str
    unit: str
    quantity: int
    change: str

    def __str__(self) -> str:
        text = f"{self.label} ×{self.quantity}"
        return f"{text}（{self.change}）" if self.change else text


@dataclass(frozen=True, slots=True)
class HandoutRow:
    handout_id: int
    code: str
    member: str
    phone: str  # masked: last four digits
    items: tuple[HandoutItem, ...]
    is_picked_up: bool

    @property
    def units(self) -> int:
        return sum(item.quantity for item in self.items)

    @property
    def is_changed(self) -> bool:
        return any(item.change for item in self.items)

    @property
    def items_text(self) -> str:
        return "；".join(str(item) for item in self.items)


def sort_key(value: str | None) -> str:
    return value if value in SORTS else "code"


def handout_rows(pickup_point_id: int, delivery_date: date, *, sort: str = "code") -> Iterator[HandoutRow]:
    """The point's hand-outs of the day, by pickup code (or member name), read in chunks."""
    order = (
        ["handout__code"]
        if sort_key(sort) == "code"
        else ["handout__user__nickname", "handout__user__username", "handout__user_id"]
    )
    lines = (
        HandoutLine.objects.filter(
            live_or_changed(), handout__pickup_point_id=pickup_point_id, handout__delivery_date=delivery_date
        )
        .order_by(*order, "handout_id", "sku__product__name", "sku__code")
        .values_list(
            "handout_id",
            "handout__code",
            "handout__user__nickname",
            "handout__user__username",
            "handout__user__phone",
            "handout__verified_at",
            "sku__code",
            "sku__product__name",
            "sku__spec",
            "sku__unit",
            "quantity",
            "previous_quantity",
            "changed_at",
        )
    )
    for handout_id, group in itertools.groupby(lines.iterator(CHUNK), key=lambda r: r[0]):
        first, *rest = group
        _id, code, nickname, username, phone, verified_at = first[:6]
        yield HandoutRow(
            handout_id,
            code,
            member_name(nickname, username, phone),
            mask_phone(phone),
            tuple(
                HandoutItem(sku, sku_label(product, spec), unit, qty, change_mark(prev, qty, changed is not None))
                for *_head, sku, product, spec, unit, qty, prev, changed in (first, *rest)
            ),
            verified_at is not None,
        )


def handout_columns() -> list[str]:
    return [
        pgettext("document column", "Pickup code"),
        pgettext("document column", "Member"),
        pgettext("document column", "Phone"),
        pgettext("document column", "Items"),
        pgettext("document column", "Units"),
        pgettext("document column", "Changed"),
        pgettext("document column", "Picked up"),
    ]


def write_handouts(book: Book, point: PickupPoint, delivery_date: date, *, sort: str = "code") -> None:
    sheet = book.sheet(point.name)
    sheet.title(f"{_('Hand-out list')} · {point.name} · {delivery_date.isoformat()}")
    sheet.header(handout_columns(), (10, 16, 14, 60, 8, 8, 8))
    changed, picked = pgettext("document mark", "Changed"), pgettext("document mark", "Picked up")
    for r in handout_rows(point.pk, delivery_date, sort=sort):
        sheet.append(
            [
                r.code,
                r.member,
                r.phone,
                r.items_text,
                r.units,
                changed if r.is_changed else "",
                picked if r.is_picked_up else "",
            ]
        )


def handouts_xlsx(
    pickup_point_id: int, delivery_date: date, out: IO[bytes] | None = None, *, sort: str = "code"
) -> IO[bytes]:
    point = PickupPoint.objects.get(pk=pickup_point_id)
    return write_xlsx(lambda book: write_handouts(book, point, delivery_date, sort=sort), out)


def handouts_filename(point: PickupPoint, delivery_date: date) -> str:
    return f"{_('Hand-out list')}-{point.name}-{delivery_date.isoformat()}.xlsx"


# --- labels: one per hand-out, with the QR the leader scans ----------------------------------------


def handout_label_columns() -> list[str]:
    return [
        pgettext("document column", "Pickup code"),
        pgettext("document column", "Member"),
        pgettext("document column", "Phone"),
        pgettext("document column", "Pickup point"),
        pgettext("document column", "Items"),
        pgettext("document column", "Units"),
        pgettext("document column", "QR code"),
    ]


def write_handout_labels(book: Book, point: PickupPoint, delivery_date: date) -> None:
    """The label data for label-printer software: the QR column holds exactly the pickup code."""
    sheet = book.sheet(point.name)
    sheet.header(handout_label_columns(), (10, 16, 14, 16, 60, 8, 10))
    for r in handout_rows(point.pk, delivery_date):
        if r.units:
            sheet.append([r.code, r.member, r.phone, point.name, r.items_text, r.units, r.code])


def handout_labels_xlsx(pickup_point_id: int, delivery_date: date, out: IO[bytes] | None = None) -> IO[bytes]:
    point = PickupPoint.objects.get(pk=pickup_point_id)
    return write_xlsx(lambda book: write_handout_labels(book, point, delivery_date), out)


def handout_labels_filename(point: PickupPoint, delivery_date: date) -> str:
    return f"{_('Hand-out labels')}-{point.name}-{delivery_date.isoformat()}.xlsx"
