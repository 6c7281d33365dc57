"""Writing user text into spreadsheets safely (CSV/formula injection).

A nickname ``=HYPERLINK("http://evil.example", "点我")`` or a note ``=1+1`` written with openpyxl's
plain ``sheet.append`` becomes a *formula* cell that Excel evaluates when an operator opens the
export. Every xlsx writer appends its rows through ``append_row``: text is stored as text (the cell's
data type is string, never formula), and text that Excel would read as the start of a formula
(OWASP's ``= + - @`` and tab / carriage return) also gets Excel's quote prefix, so editing the cell
keeps it text. The value itself is kept as written; characters XML cannot hold are dropped (openpyxl
would refuse the whole workbook for one of them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def append_row(sheet: Worksheet, values: Iterable[Any]) -> None:
    """``sheet.append(values)``, with every string written as text (see the module docstring)."""
    values = list(values)
    sheet.append([_clean(value) for value in values])
    row = sheet.max_row
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            cell = sheet.cell(row=row, column=column)
            cell.value = _clean(value)
            cell.data_type = "s"
            if cell.value.startswith(FORMULA_TRIGGERS):
                cell.quotePrefix = True


def _clean(value: Any) -> Any:
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value
