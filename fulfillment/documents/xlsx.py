"""Streaming xlsx for the fulfilment documents.

A delivery day is 100k orders, so a workbook is never built in memory: xlsxwriter in ``constant_memory``
mode writes each row to a temporary file as it comes (inline strings, no shared-string table) and zips the
workbook into a temporary file, which the response then streams. Text is written as text, never as a formula
(``strings_to_formulas`` off), and text Excel would read as the start of a formula gets the quote prefix —
the same rule as ``groupbuy.spreadsheets.append_row`` for openpyxl.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any
from urllib.parse import quote

from django.db import transaction
from django.http import FileResponse
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from xlsxwriter import Workbook

from groupbuy.spreadsheets import FORMULA_TRIGGERS

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Excel refuses these in sheet names, and names longer than 31 characters.
_BAD_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


class Sheet:
    """One worksheet written row by row (rows can only go forward in constant-memory mode)."""

    def __init__(self, book: Book, worksheet) -> None:
        self._book = book
        self._ws = worksheet
        # xlsxwriter's undecorated writers: a day is millions of cells, and the public ones only add a
        # row/column-notation parser on top (a quarter of the time per cell).
        self._string = worksheet._write_string
        self._number = worksheet._write_number
        self.rows = 0

    def header(self, columns: Sequence[str], widths: Sequence[int] = ()) -> None:
        for index, width in enumerate(widths):
            self._ws.set_column(index, index, width)
        self._ws.write_row(self.rows, 0, [_clean(c) for c in columns], self._book.bold)
        self._ws.freeze_panes(self.rows + 1, 0)
        self.rows += 1

    def title(self, text: str) -> None:
        """A bold line above the header (the document's name, day and target)."""
        self._ws.write_string(self.rows, 0, _clean(text), self._book.bold)
        self.rows += 1

    def append(self, values: Iterable[Any]) -> None:
        row, string, number = self.rows, self._string, self._number
        for column, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, str):  # control characters: xlsxwriter escapes them itself
                string(row, column, value, self._book.quoted if value.startswith(FORMULA_TRIGGERS) else None)
            elif isinstance(value, bool):
                self._ws.write_boolean(row, column, value)
            else:
                number(row, column, value)
        self.rows += 1

    def blank(self) -> None:
        self.rows += 1


class Book:
    def __init__(self, out: IO[bytes], *, small: bool = False) -> None:
        self._wb = Workbook(
            out,
            {
                # A document bounded by one pickup point (its hand-outs: a few hundred rows) is assembled in
                # memory — a third of the time of nine temporary files per workbook; everything that grows
                # with the day streams its rows to disk.
                "constant_memory": not small,
                "in_memory": small,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "tmpdir": tempfile.gettempdir(),
            },
        )
        self.bold = self._wb.add_format({"bold": True})
        self.quoted = self._wb.add_format({"quote_prefix": True})
        self._names: set[str] = set()

    def sheet(self, name: str) -> Sheet:
        base = (name.translate(_BAD_SHEET_CHARS).strip() or "-")[:31]
        unique, n = base, 1
        while unique.lower() in self._names:
            n += 1
            unique = f"{base[: 31 - len(str(n)) - 1]}~{n}"
        self._names.add(unique.lower())
        return Sheet(self, self._wb.add_worksheet(unique))

    def close(self) -> None:
        self._wb.close()


def write_xlsx(write: Callable[[Book], None], out: IO[bytes] | None = None, *, small: bool = False) -> IO[bytes]:
    """Run ``write`` on a new workbook streamed into ``out`` (a temporary file by default), rewound."""
    # The caller streams the file and closes it (a FileResponse does), which deletes it.
    out = out if out is not None else tempfile.TemporaryFile()  # noqa: SIM115
    try:
        book = Book(out, small=small)
        # One read transaction per document: one snapshot for all its queries, and server-side cursors
        # that PostgreSQL streams (outside a transaction Django declares them WITH HOLD, which first copies
        # the whole result at the server).
        with transaction.atomic():
            write(book)
        book.close()
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def xlsx_response(file: IO[bytes], filename: str) -> FileResponse:
    """Stream a written workbook as a download; the temporary file is closed (so deleted) at the end."""
    response = FileResponse(file, content_type=XLSX_TYPE)
    # RFC 5987: Chinese file names survive every browser; the ASCII fallback is for the rest.
    ascii_name = filename.encode("ascii", "ignore").decode() or "document.xlsx"
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return response


def _clean(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)
