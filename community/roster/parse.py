"""Reading a roster file (xlsx or CSV in the encodings Chinese Excel writes) into rows, and the templates."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass

from django.utils.translation import gettext as _

from groupbuy.errors import DomainError

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
# The header may sit under a title line or two ("XX群成员名单"), as WeChat-group exports often do.
HEADER_SCAN_ROWS = 10
MAX_COLUMNS = 50
# An xlsx is a zip: 1 MB can unpack to gigabytes (issue 10 item 10: a 1.19 MB file with a huge
# shared-strings part took 43 s and ~870 MB). The zip's directory is read before openpyxl opens
# anything: the sizes it declares bound what can be unpacked (zipfile stops reading a member at its
# declared size), so refusing on them refuses the bomb. A real 5,000-row roster unpacks to a few MB.
MAX_XLSX_UNPACKED_BYTES = 40 * 1024 * 1024
MAX_XLSX_MEMBERS = 200
# XML compresses about 10:1; a member far past that and large is filler, not a roster.
MAX_XLSX_RATIO = 100
XLSX_RATIO_FLOOR_BYTES = 1024 * 1024
# Rows read from a sheet at most: the header scan, the member rows and one run of blank rows
# (a sheet formatted down to row 1,048,576 stops here instead of being read to the end).
MAX_SHEET_ROWS = HEADER_SCAN_ROWS + 2 * MAX_ROWS + 1
# A CSV line longer than this is not a roster line (csv's own limit is 128 KB a field).
MAX_CSV_LINE_CHARS = 64 * 1024
TEMPLATE_HEADERS = ("昵称", "手机号", "自提点", "邀请人")


class RosterFileInvalid(DomainError):
    """The uploaded file cannot be read as a roster at all."""


NICKNAME, PHONE, PICKUP, INVITER = "nickname", "phone", "pickup", "inviter"

_HEADER_ALIASES = {
    NICKNAME: {"昵称", "微信昵称", "群昵称", "群名片", "姓名", "名字", "称呼", "nickname", "name", "wechatnickname", "wechatname"},
    PHONE: {
        "手机号", "手机", "手机号码", "电话", "电话号码", "联系电话", "联系方式",
        "phone", "mobile", "phonenumber", "mobilenumber", "mobilephone", "tel", "telephone",
    },
    PICKUP: {"自提点", "提货点", "自提点名称", "取货点", "pickuppoint", "pickup", "pickuppointname"},
    INVITER: {"邀请人", "推荐人", "邀请者", "介绍人", "inviter", "invitedby", "referrer", "referredby"},
}  # fmt: skip


@dataclass(frozen=True)
class RosterRow:
    """One data row as found in the file; ``number`` is the row number the operator sees in Excel."""

    number: int
    nickname: str
    phone: str
    pickup: str = ""
    inviter: str = ""


def _header_key(value: str) -> str:
    text = re.sub(r"[（(\[【].*?[)）\]】]", "", value.strip().lower())  # "邀请人（选填）", "phone (required)"
    return re.sub(r"[\s_\-*:：/.]", "", text)


def _columns(cells: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = _header_key(cell)
        for column, aliases in _HEADER_ALIASES.items():
            if key in aliases and column not in found:
                found[column] = index
    return found


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel keeps 13812345678 as a number
    return str(value).strip()


def _decode_csv(content: bytes) -> str:
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    else:
        # gb18030 is a superset of GBK and GB2312: what Chinese Excel writes for "CSV (逗号分隔)".
        encodings = ["utf-8-sig", "gb18030"]
    for encoding in encodings:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise RosterFileInvalid(
        _("The CSV file's text encoding is not recognised. Save it as “CSV UTF-8” and upload it again."),
        code="encoding",
    )


def _csv_lines(content: bytes):
    text = _decode_csv(content)
    # Judge the delimiter on the first lines together: a title line above the header may hold none.
    head = "\n".join(text.split("\n", HEADER_SCAN_ROWS)[:HEADER_SCAN_ROWS])
    delimiter = max([",", "\t", ";", "，"], key=head.count)
    if head.count(delimiter) == 0:
        delimiter = ","
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            if number > MAX_SHEET_ROWS:
                return
            if sum(len(cell) for cell in cells) > MAX_CSV_LINE_CHARS:
                raise RosterFileInvalid(
                    _(
                        "Row %(row)s of the CSV file is far too long for a member list. Check the file and upload it again."
                    )
                    % {"row": number},
                    code="csv_line_too_long",
                )
            yield [cell.strip() for cell in cells[:MAX_COLUMNS]]
    except csv.Error:
        raise RosterFileInvalid(
            _("The CSV file is damaged and could not be read. Export it again and upload the new file."),
            code="csv",
        ) from None


def _too_big() -> RosterFileInvalid:
    return RosterFileInvalid(
        _(
            "The Excel file unpacks to far more data than a member list holds (it may be damaged or made to "
            "overload the server). Save the list again as .xlsx or CSV and upload the new file."
        ),
        code="unpacked_too_large",
    )


def _check_xlsx_size(content: bytes) -> None:
    """Refuse a zip bomb from the zip's directory alone, before anything is unpacked."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise RosterFileInvalid(
            _("The Excel file could not be opened. Save it again as .xlsx and upload the new file."), code="xlsx"
        ) from None
    if len(members) > MAX_XLSX_MEMBERS or sum(member.file_size for member in members) > MAX_XLSX_UNPACKED_BYTES:
        raise _too_big()
    for member in members:
        if member.file_size > XLSX_RATIO_FLOOR_BYTES and member.file_size > MAX_XLSX_RATIO * max(
            member.compress_size, 1
        ):
            raise _too_big()


def _xlsx_lines(content: bytes):
    from openpyxl import load_workbook

    _check_xlsx_size(content)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises zip, XML and key errors alike for a damaged workbook
        raise RosterFileInvalid(
            _("The Excel file could not be opened. Save it again as .xlsx and upload the new file."),
            code="xlsx",
        ) from None
    try:
        sheet = workbook.active or workbook.worksheets[0]
        for values in sheet.iter_rows(max_row=MAX_SHEET_ROWS, max_col=MAX_COLUMNS, values_only=True):
            yield [_cell_text(value) for value in values]
    except (zipfile.BadZipFile, KeyError, ValueError, IndexError):
        raise RosterFileInvalid(
            _("The Excel file could not be opened. Save it again as .xlsx and upload the new file."),
            code="xlsx",
        ) from None
    finally:
        workbook.close()


def _lines(*, content: bytes, filename: str):
    name = (filename or "").lower()
    if content.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise RosterFileInvalid(
            _("Old Excel files (.xls) cannot be read. In Excel choose “Save as” → .xlsx or CSV, then upload again."),
            code="xls",
        )
    if content.startswith(b"PK\x03\x04"):
        return _xlsx_lines(content)
    if name.endswith(".xlsx"):
        raise RosterFileInvalid(
            _("The Excel file could not be opened. Save it again as .xlsx and upload the new file."), code="xlsx"
        )
    if not name.endswith((".csv", ".txt")):
        raise RosterFileInvalid(_("Upload an Excel (.xlsx) or CSV file."), code="type")
    return _csv_lines(content)


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index].strip() if index is not None and index < len(cells) else ""


def roster_parse(*, content: bytes, filename: str) -> list[RosterRow]:
    """Read the rows of a roster file, or raise :class:`RosterFileInvalid` saying what is wrong with it."""
    if len(content) > MAX_FILE_BYTES:
        raise RosterFileInvalid(
            _("The file is larger than %(size)s MB. Split it into smaller files.") % {"size": MAX_FILE_BYTES // 2**20},
            code="too_large",
        )
    if not content.strip():
        raise RosterFileInvalid(_("The file is empty."), code="empty")
    columns: dict[str, int] | None = None
    rows: list[RosterRow] = []
    blank_run = 0
    for number, cells in enumerate(_lines(content=content, filename=filename), start=1):
        if columns is None:
            if number > HEADER_SCAN_ROWS:
                break
            found = _columns(cells)
            if PHONE in found:
                if NICKNAME not in found:
                    raise RosterFileInvalid(
                        _("The header row has no nickname column (昵称). Use the template's column names."),
                        code="no_nickname_column",
                    )
                columns = found
            continue
        row = RosterRow(number, *(_cell(cells, columns.get(column)) for column in (NICKNAME, PHONE, PICKUP, INVITER)))
        if not (row.nickname or row.phone or row.pickup or row.inviter):
            # A sheet formatted down to row 1,048,576 is all blank rows; stop instead of reading them all.
            blank_run += 1
            if blank_run > MAX_ROWS:
                break
            continue
        blank_run = 0
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise RosterFileInvalid(
                _("The file has more than %(max)s member rows. Split it into smaller files.") % {"max": MAX_ROWS},
                code="too_many_rows",
            )
    if columns is None:
        raise RosterFileInvalid(
            _("No header row was found. The first row must name the columns: 昵称, 手机号, 自提点, 邀请人."),
            code="no_header",
        )
    if not rows:
        raise RosterFileInvalid(_("The file has no member rows under its header."), code="no_rows")
    return rows


def roster_template_csv() -> bytes:
    """The CSV template (UTF-8 with BOM, so Excel shows the Chinese headers correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TEMPLATE_HEADERS)
    writer.writerow(["王阿姨", "13812345678", "阳光花园自提点", ""])
    writer.writerow(["小李", "13987654321", "阳光花园自提点", "13812345678"])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def roster_template_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from groupbuy.spreadsheets import append_row  # text stays text (no formula cells)

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "成员名单"
    append_row(sheet, TEMPLATE_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    append_row(sheet, ["王阿姨", "13812345678", "阳光花园自提点", ""])
    append_row(sheet, ["小李", "13987654321", "阳光花园自提点", "13812345678"])
    for letter, width in zip("ABCD", (18, 16, 20, 18), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2, min_col=2, max_col=2):
        row[0].number_format = "@"  # keep phone numbers as text
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
