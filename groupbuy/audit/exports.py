"""The log as CSV or xlsx, in the reader's language (user text written as text, never a formula)."""

from __future__ import annotations

import csv
from io import BytesIO, StringIO

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from groupbuy.spreadsheets import FORMULA_TRIGGERS, append_row

from . import selectors
from .models import Entry

MAX_ROWS = 50_000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _header() -> list[str]:
    return [
        _("When"),
        _("Action"),
        _("Action code"),
        _("By"),
        _("Place"),
        _("Brand"),
        _("Target type"),
        _("Target id"),
        _("Target"),
        _("Changes"),
        _("Note"),
    ]


def rows(entries: QuerySet[Entry], *, brand_names: dict[int, str]) -> list[list]:
    out = []
    for entry in entries[:MAX_ROWS]:
        shown = selectors.describe(entry)
        out.append(
            [
                timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
                shown["action_label"],
                entry.action,
                shown["actor"],
                shown["place"],
                brand_names.get(entry.brand_id, "") if entry.brand_id else "",
                entry.target_type,
                entry.target_id,
                entry.target_label,
                "; ".join(f"{c.field}: {c.before} → {c.after}" for c in shown["changes"]),
                entry.note,
            ]
        )
    return out


def _csv_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def render(body: list[list], *, fmt: str) -> bytes:
    if fmt == "csv":
        out = StringIO()
        writer = csv.writer(out)
        writer.writerow(_header())
        writer.writerows([[_csv_cell(v) for v in row] for row in body])
        return ("\ufeff" + out.getvalue()).encode("utf-8")  # a BOM, so Excel reads the Chinese as UTF-8
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Audit log")[:31]
    append_row(sheet, _header())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in body:
        append_row(sheet, row)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
