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
from openpyxl.utils import get_column_letter

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


# --- Orders across campaigns ------------------------------------------------------------------


def _all_orders_columns() -> list[str]:
    return [
        pgettext("jielong export column", "Campaign"),
        pgettext("jielong export column", "Jielong no."),
        pgettext("jielong export column", "Joined at"),
        pgettext("jielong export column", "Member"),
        pgettext("jielong export column", "Phone"),
        pgettext("jielong export column", "Community"),
        pgettext("jielong export column", "Pickup point"),
        pgettext("jielong export column", "Address"),
        pgettext("jielong export column", "Order status"),
        pgettext("jielong export column", "Payment status"),
        pgettext("jielong export column", "Paid at"),
        pgettext("jielong export column", "SKU code"),
        pgettext("jielong export column", "Product"),
        pgettext("jielong export column", "Spec"),
        pgettext("jielong export column", "Quantity"),
        pgettext("jielong export column", "Unit price (yuan)"),
        pgettext("jielong export column", "Line amount (yuan)"),
        pgettext("jielong export column", "Order amount (yuan)"),
        pgettext("jielong export column", "Member note"),
    ]


_ALL_ORDERS_WIDTHS = (24, 8, 17, 14, 15, 16, 16, 26, 12, 12, 17, 14, 18, 12, 8, 12, 12, 12, 24)


def _header(sheet, columns: list[str], widths) -> None:
    append_row(sheet, columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"  # the header stays while scrolling
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def all_orders_xlsx(*, orders) -> bytes:
    """The orders of the operator's list, as filtered: one row per order item (SKU columns, payment
    status), and a totals sheet per SKU over the orders that are not cancelled. Phones masked."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Orders")
    _header(sheet, _all_orders_columns(), _ALL_ORDERS_WIDTHS)
    status_labels, payment_labels = dict(Order.Status.choices), dict(Order.PaymentStatus.choices)
    totals: dict[int, dict] = {}
    for order in orders:
        head = [
            order.campaign.title,
            order.seq,
            timezone.localtime(order.created_at).strftime("%Y-%m-%d %H:%M"),
            order.user.display_name,
            mask_phone(order.user.phone),
            order.community.name,
            order.pickup_point.name if order.pickup_point else "",
            order.pickup_point.address if order.pickup_point else "",
            str(status_labels[order.status]),
            str(payment_labels[order.payment_status]),
            timezone.localtime(order.paid_at).strftime("%Y-%m-%d %H:%M") if order.paid_at else "",
        ]
        for line in order.lines.all():
            sku = line.item.sku
            append_row(
                sheet,
                [
                    *head,
                    sku.code,
                    sku.product.name,
                    sku.spec_label,
                    line.quantity,
                    fen_to_yuan(line.unit_price_fen),
                    fen_to_yuan(line.unit_price_fen * line.quantity),
                    fen_to_yuan(order.total_fen),
                    order.note,
                ],
            )
            if order.status != Order.Status.CANCELLED:
                row = totals.setdefault(sku.pk, {"sku": sku, "quantity": 0, "amount": 0, "orders": set()})
                row["quantity"] += line.quantity
                row["amount"] += line.unit_price_fen * line.quantity
                row["orders"].add(order.pk)
    summary = workbook.create_sheet(title=_("Totals by SKU"))
    _header(
        summary,
        [
            pgettext("jielong export column", "SKU code"),
            pgettext("jielong export column", "Product"),
            pgettext("jielong export column", "Spec"),
            pgettext("jielong export column", "Orders"),
            pgettext("jielong export column", "Quantity"),
            pgettext("jielong export column", "Amount (yuan)"),
        ],
        (14, 20, 14, 10, 10, 14),
    )
    for row in sorted(totals.values(), key=lambda r: r["sku"].code):
        sku = row["sku"]
        append_row(
            summary,
            [
                sku.code,
                sku.product.name,
                sku.spec_label,
                len(row["orders"]),
                row["quantity"],
                fen_to_yuan(row["amount"]),
            ],
        )
    append_row(
        summary,
        [
            pgettext("jielong export column", "Total"),
            "",
            "",
            len(set().union(*(r["orders"] for r in totals.values()))) if totals else 0,
            sum(r["quantity"] for r in totals.values()),
            fen_to_yuan(sum(r["amount"] for r in totals.values())),
        ],
    )
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
