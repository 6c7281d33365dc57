"""A board, or the people behind one of its numbers, as CSV or xlsx (user text written as text, never a formula).

The board's export holds figures only (counts, amounts, rates): a leader may take their own. The people export
holds names and masked phones: operators only (see ``bi.views``).
"""

from __future__ import annotations

import csv
from io import BytesIO, StringIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from groupbuy.money import fen_to_yuan
from groupbuy.spreadsheets import FORMULA_TRIGGERS, append_row

from . import charts, metrics
from .scope import Scope

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def plain_value(metric: metrics.Metric, figure: metrics.Figure):
    """The exact value in the unit a spreadsheet adds up: a ratio as a fraction, money in yuan."""
    if figure.value is None:
        return ""
    if metric.unit == metrics.FEN:
        return float(fen_to_yuan(figure.value))
    if metric.unit in (metrics.PCT, metrics.LIFT):
        return round(figure.value, 4)
    return figure.value


def _unit_label(unit: str) -> str:
    return {
        metrics.PCT: _("share (0–1)"),
        metrics.LIFT: _("relative change (1.0 = twice as much)"),
        metrics.FEN: _("yuan"),
        metrics.MINUTES: _("minutes"),
        metrics.COUNT: _("people"),
        metrics.SCORE: _("score"),
    }[unit]


def board_sheets(scope: Scope) -> list[tuple[str, list[list]]]:
    figures = metrics.figures(scope)
    summary = [
        [_("Board"), scope.label],
        [_("Period"), f"{scope.since.isoformat()} – {scope.until.isoformat()}"],
        [],
        [_("Metric"), _("Value"), _("Unit"), _("Counted"), _("Out of"), _("Formula")],
    ]
    for key, metric in metrics.METRICS.items():
        figure = figures[key]
        summary.append(
            [
                str(metric.label),
                plain_value(metric, figure),
                _unit_label(metric.unit),
                "" if figure.numerator is None else figure.numerator,
                "" if figure.denominator is None else figure.denominator,
                str(metric.formula),
            ]
        )
    funnel = [[_("Step"), _("People")]] + [[step.label, step.count] for step in charts.funnel(scope)]
    sessions = [[_("Live session"), _("Date")] + [str(metrics.METRICS[k].label) for k in charts.SESSION_TREND_KEYS]] + [
        [row["title"], row["date"]] + [_plain(k, row[k]) for k in charts.SESSION_TREND_KEYS]
        for row in charts.session_trend(scope)
    ]
    months = [[_("Month"), _("GMV (gross)"), _("GMV (net of refunds)"), _("Customer lifetime value (LTV)")]] + [
        [row["month"], yuan_text(row["gmv_gross"]), yuan_text(row["gmv_net"]), yuan_text(row["lifetime_value"])]
        for row in charts.monthly_trend(scope)
    ]
    return [(_("Figures"), summary), (_("Funnel"), funnel), (_("Sessions"), sessions), (_("Months"), months)]


def _plain(key: str, value):
    return plain_value(metrics.METRICS[key], metrics.Figure(value))


def yuan_text(fen):
    return "" if fen is None else float(fen_to_yuan(fen))


def board(scope: Scope, *, fmt: str) -> bytes:
    return _write(board_sheets(scope), fmt)


def people(title: str, rows: list[metrics.PersonRow], *, fmt: str) -> bytes:
    sheet = [[title], [_("Member"), _("Phone"), _("Detail")]] + [[r.name, r.masked_phone, r.detail] for r in rows]
    return _write([(_("People"), sheet)], fmt)


def _write(sheets: list[tuple[str, list[list]]], fmt: str) -> bytes:
    if fmt == "csv":
        out = StringIO()
        writer = csv.writer(out)
        for index, (name, rows) in enumerate(sheets):
            if index:
                writer.writerow([])
            writer.writerow([f"# {name}"])
            writer.writerows([[_csv_cell(v) for v in row] for row in rows])
        # A BOM, so Excel opens the Chinese as UTF-8.
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets:
        sheet = workbook.create_sheet(title=name[:31])
        for row in rows:
            append_row(sheet, row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_cell(value):
    """A text cell that a spreadsheet would read as a formula gets a leading quote (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
