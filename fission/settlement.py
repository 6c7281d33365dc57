"""Settling commissions (结算): a statement per person per period, each ledger entry settled once.

A statement takes the person's commission and clawback entries created in the period that no statement has
settled yet; its totals are their sums (accrued − reversed, which may be below zero when a refund took back a
commission settled before). Settling the same person and period again returns the statement made the first
time; two operators settling at once make one (the person's row is locked, the entries are unique in lines).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from community.models import User
from groupbuy import clock, events
from groupbuy.spreadsheets import append_row
from jielong.models import LedgerEntry

from . import access
from . import events as fission_events
from .models import Statement, StatementLine
from .sellers import CommissionRefused

Kind = LedgerEntry.Kind


@dataclass(frozen=True)
class Settled:
    statement: Statement
    is_new: bool


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_default_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def unsettled(*, period_start: date, period_end: date, payee_id: int | None = None):
    """Commission and clawback entries created in the period that no statement settled yet."""
    since, until = _bounds(period_start, period_end)
    entries = LedgerEntry.objects.filter(
        kind__in=[Kind.COMMISSION, Kind.CLAWBACK],
        created_at__gte=since,
        created_at__lt=until,
        statement_line__isnull=True,
    )
    return entries if payee_id is None else entries.filter(payee_id=payee_id)


def statement_settle(
    *, payee: User, period_start: date, period_end: date, by: User, now: datetime | None = None
) -> Settled:
    """Settle ``payee``'s commissions of the period (see the module docstring). Refused, with nothing written,
    for someone who is not an operator, a period that has not ended, or nothing to settle."""
    if not access.may_manage_commissions(user=by):
        raise CommissionRefused(_("Only operators can settle commissions."), code="not_allowed")
    now = now or clock.now()
    if period_end < period_start:
        raise CommissionRefused(_("The period ends before it starts."), code="period")
    if period_end >= clock.localtime(now).date():
        raise CommissionRefused(_("A period can be settled once it has ended (up to yesterday)."), code="period")
    try:
        with transaction.atomic():
            # One settlement per person at a time: the second waits here, then finds the first's statement.
            User.objects.select_for_update().filter(pk=payee.pk).first()
            existing = Statement.objects.filter(payee=payee, period_start=period_start, period_end=period_end).first()
            if existing is not None:
                return Settled(existing, False)
            entries = list(
                unsettled(period_start=period_start, period_end=period_end, payee_id=payee.pk).values_list(
                    "pk", "kind", "amount_fen"
                )
            )
            if not entries:
                raise CommissionRefused(
                    _("%(name)s has nothing to settle in this period.") % {"name": payee.display_name},
                    code="nothing",
                )
            accrued = sum(amount for _pk, kind, amount in entries if kind == Kind.COMMISSION)
            reversed_ = sum(amount for _pk, kind, amount in entries if kind == Kind.CLAWBACK)
            statement = Statement.objects.create(
                payee=payee,
                period_start=period_start,
                period_end=period_end,
                accrued_fen=accrued,
                reversed_fen=reversed_,
                total_fen=accrued - reversed_,
                settled_at=now,
                settled_by=by,
            )
            StatementLine.objects.bulk_create(StatementLine(statement=statement, entry_id=pk) for pk, _k, _a in entries)
            events.publish(
                fission_events.CommissionSettled(
                    statement_id=statement.pk,
                    payee_id=payee.pk,
                    period_start=period_start.isoformat(),
                    period_end=period_end.isoformat(),
                    total_fen=statement.total_fen,
                    entries=len(entries),
                    by=by.pk,
                )
            )
    except IntegrityError:
        # A racing settlement of an overlapping period took some of these entries first (SQLite has no row lock).
        existing = Statement.objects.filter(payee=payee, period_start=period_start, period_end=period_end).first()
        if existing is None:
            raise CommissionRefused(
                _("Someone else settled these commissions just now; reload."), code="race"
            ) from None
        return Settled(existing, False)
    return Settled(statement, True)


def statement_xlsx(statement: Statement) -> bytes:
    """The statement as a workbook: one row per ledger entry (order, item, role, amount), then the totals."""
    book = Workbook()
    sheet = book.active
    sheet.title = _("Statement")[:31]
    append_row(sheet, [_("Commission statement"), statement.payee.display_name])
    append_row(sheet, [_("Period"), f"{statement.period_start:%Y-%m-%d} – {statement.period_end:%Y-%m-%d}"])
    append_row(sheet, [_("Settled at"), clock.localtime(statement.settled_at).strftime("%Y-%m-%d %H:%M")])
    append_row(sheet, [])
    append_row(
        sheet,
        [_("Date"), _("Jielong"), _("No."), _("Item"), _("Type"), _("Amount (yuan)")],
    )
    entries = (
        LedgerEntry.objects.filter(statement_line__statement=statement)
        .select_related("order__campaign", "order_line__item__sku__product")
        .order_by("created_at", "pk")
    )
    for entry in entries:
        sign = 1 if entry.kind == Kind.COMMISSION else -1
        label = entry.get_kind_display()
        if entry.kind == Kind.COMMISSION:
            label = (
                _("Leader commission") if entry.key.startswith("commission:leader:") else _("Help-seller commission")
            )
        append_row(
            sheet,
            [
                clock.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M"),
                entry.order.campaign.title,
                entry.order.seq,
                str(entry.order_line.item.sku) if entry.order_line else "",
                label,
                sign * entry.amount_fen / 100,
            ],
        )
    append_row(sheet, [])
    append_row(sheet, [_("Accrued"), "", "", "", "", statement.accrued_fen / 100])
    append_row(sheet, [_("Reversed"), "", "", "", "", -statement.reversed_fen / 100])
    append_row(sheet, [_("Total"), "", "", "", "", statement.total_fen / 100])
    for column, width in zip("ABCDEF", (18, 36, 8, 24, 18, 14), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
