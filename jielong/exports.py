"""Excel export of a campaign's orders, laid out like the sheets operators already keep:
one sheet per pickup point, the columns of the common jielong tools (跟团号, 下单人, …)."""

from __future__ import annotations

from io import BytesIO

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.styles import Font

from community.phones import mask_phone
from groupbuy.money import fen_to_yuan
from groupbuy.spreadsheets import append_row

from .models import Campaign, Order, OrderLine

# Excel refuses these in sheet names.
_BAD_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


def _columns() -> list[str]:
    # The headers of the sheets operators already keep (跟团号, 下单人, …), hence a context of their own.
    return [
        pgettext("jielong export column", "Jielong no."),
        pgettext("jielong export column", "Member"),
        pgettext("jielong export column", "Member note"),
        pgettext("jielong export column", "Paid at"),
        pgettext("jielong export column", "Leader note"),
        pgettext("jielong export column", "Items"),
        pgettext("jielong export column", "Order amount (yuan)"),
        pgettext("jielong export column", "Refunded (yuan)"),
        pgettext("jielong export column", "Order status"),
        pgettext("jielong export column", "Pickup point"),
        pgettext("jielong export column", "Recipient"),
        pgettext("jielong export column", "Phone"),
        pgettext("jielong export column", "Address"),
    ]


def campaign_orders_xlsx(*, campaign: Campaign, full_phones: bool = False) -> bytes:
    """Build the workbook. Phones are masked unless the caller is allowed and asked for them."""
    orders = (
        Order.objects.filter(campaign=campaign)
        .select_related("user", "pickup_point")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("item__sku__product")))
        .order_by("pickup_point__name", "seq")
    )
    workbook = Workbook()
    workbook.remove(workbook.active)
    sheets: dict[str, object] = {}
    status_labels = dict(Order.Status.choices)
    for order in orders:
        point_name = order.pickup_point.name if order.pickup_point else _("No pickup point")
        sheet = sheets.get(point_name)
        if sheet is None:
            sheet = workbook.create_sheet(title=point_name.translate(_BAD_SHEET_CHARS)[:31] or "-")
            append_row(sheet, _columns())
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            sheets[point_name] = sheet
        items = "，".join(f"{line.item.sku}×{line.quantity}" for line in order.lines.all())
        phone = order.user.phone if full_phones else mask_phone(order.user.phone)
        append_row(
            sheet,
            [
                order.seq,
                order.user.display_name,
                order.note,
                timezone.localtime(order.paid_at).strftime("%Y-%m-%d %H:%M") if order.paid_at else "",
                order.leader_note,
                items,
                fen_to_yuan(order.total_fen),
                fen_to_yuan(order.refunded_fen),
                str(status_labels[order.status]),
                point_name,
                order.user.display_name,
                phone,
                order.pickup_point.address if order.pickup_point else "",
            ],
        )
    if not sheets:
        append_row(workbook.create_sheet(title=_("Orders")), _columns())
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
