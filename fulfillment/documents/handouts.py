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

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from community.models import PickupPoint
from community.phones import mask_phone

from .common import change_mark, member_name, sku_facts
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


# One pickup point's day is a few hundred rows: plain SQL fetched at once — a server-side cursor's extra
# round trips and the ORM's row machinery cost more than the rows themselves when every point's list of a
# 100k-order day is written. The SQL is the PostgreSQL/SQLite common subset.
_HANDOUT_LINES = """
SELECT hl.handout_id, h.code, u.nickname, u.username, u.phone, h.verified_at IS NOT NULL,
       hl.sku_id, hl.quantity, hl.previous_quantity, hl.changed_at IS NOT NULL
FROM fulfillment_handoutline hl
JOIN fulfillment_handout h ON h.id = hl.handout_id
JOIN community_user u ON u.id = h.user_id
WHERE h.pickup_point_id = %s AND h.delivery_date = %s AND (hl.quantity > 0 OR hl.changed_at IS NOT NULL)
ORDER BY {order}, hl.handout_id, hl.sku_id
"""
_ORDER = {"code": "h.code", "name": "u.nickname, u.username, h.user_id"}


def _lines(pickup_point_id: int, delivery_date: date, sort: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(_HANDOUT_LINES.format(order=_ORDER[sort_key(sort)]), [pickup_point_id, delivery_date])
        return cursor.fetchall()


def handout_rows(pickup_point_id: int, delivery_date: date, *, sort: str = "code") -> Iterator[HandoutRow]:
    """The point's hand-outs of the day, by pickup code (or member name)."""
    lines = _lines(pickup_point_id, delivery_date, sort)  # one point's day: bounded by the point
    skus = sku_facts({line[6] for line in lines})
    for handout_id, group in itertools.groupby(lines, key=lambda r: r[0]):
        first, *rest = group
        _id, code, nickname, username, phone, verified = first[:6]
        items = []
        for *_head, sku_id, qty, prev, changed in (first, *rest):
            sku = skus[sku_id]
            items.append(HandoutItem(sku.code, sku.label, sku.unit, qty, change_mark(prev, qty, changed)))
        items.sort(key=lambda item: item.label)
        yield HandoutRow(
            handout_id,
            code,
            member_name(nickname, username, phone),
            mask_phone(phone),
            tuple(items),
            bool(verified),
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
    return write_xlsx(lambda book: write_handouts(book, point, delivery_date, sort=sort), out, small=True)


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
    return write_xlsx(lambda book: write_handout_labels(book, point, delivery_date), out, small=True)


def handout_labels_filename(point: PickupPoint, delivery_date: date) -> str:
    return f"{_('Hand-out labels')}-{point.name}-{delivery_date.isoformat()}.xlsx"
