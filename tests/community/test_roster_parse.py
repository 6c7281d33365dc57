"""Roster import, reading the file (community.roster.parse): xlsx and CSV in Chinese encodings, title rows,
malformed files refused with a clear message, and the downloadable templates."""

import codecs
import io

import pytest
from openpyxl import Workbook, load_workbook

from community import roster
from tests.community.scenarios import (
    HEADER,
    csv_bytes,
    outcomes,
    snapshot,
    upload,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_stage_dir")]


def test_xlsx_dry_run_reads_numbers_title_rows_and_english_headers(ops, group):
    community = group["community"]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["阳光花园吃货群 成员名单"])  # a title line above the header, as exports often have
    sheet.append(["Nickname", "Phone (required)", "Pickup point", "Invited by"])
    sheet.append(["王阿姨", 13812345678, "阳光花园", None])  # phone stored as a number
    sheet.append(["小李", 13812345679.0, None, "王阿姨"])  # float, and inviter by nickname of the row above
    sheet.append(["坏号码", "1381234", None, None])
    sheet.append([None, None, None, None])  # blank rows are skipped
    sheet.append(["老会员", "139 0000 0001", None, None])
    sheet.append(["赵六", 13812345681, "不存在站", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    before = snapshot()

    response = upload(ops, community, buffer.getvalue(), "roster.xlsx")

    assert outcomes(response.context["plan"]) == {
        3: ("new", ()),
        4: ("new", ()),
        5: ("invalid", ("“1381234” is not a valid mobile phone number.",)),
        7: ("already", ()),
        8: ("invalid", ("This community has no pickup point called “不存在站”.",)),
    }
    assert response.context["plan"].rows[1].inviter_key == ("phone", "+8613812345678")
    assert snapshot() == before


@pytest.mark.parametrize(
    "encoding", ["gbk", "gb18030", "utf-8-sig", "utf-16"], ids=["gbk", "gb18030", "utf8-bom", "utf16-excel"]
)
def test_chinese_csv_encodings_are_read(ops, group, encoding):
    content = csv_bytes(["王阿姨,13812345678,阳光花园,", "小李,13812345679,阳光花园,王阿姨"], encoding=encoding)

    response = upload(ops, group["community"], content, "roster.csv")

    rows = response.context["plan"].rows
    assert [(row.nickname, row.phone, row.pickup_point.name, row.outcome) for row in rows] == [
        ("王阿姨", "+8613812345678", "阳光花园", "new"),
        ("小李", "+8613812345679", "阳光花园", "new"),
    ]


@pytest.mark.parametrize("delimiter", [",", "\t", ";"], ids=["comma", "tab", "semicolon"])
def test_csv_delimiters_and_a_title_line_above_the_header(delimiter):
    content = (
        f"阳光花园群，成员名单\n昵称{delimiter}手机{delimiter}自提点\n王阿姨{delimiter}13812345678{delimiter}阳光花园\n"
    )

    rows = roster.roster_parse(content=content.encode(), filename="a.csv")

    assert rows == [roster.RosterRow(number=3, nickname="王阿姨", phone="13812345678", pickup="阳光花园", inviter="")]


def _broken_xlsx() -> bytes:
    return b"PK\x03\x04" + b"\x00" * 200


MALFORMED = [
    (b"", "roster.csv", "The file is empty."),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "photo.png", "Upload an Excel (.xlsx) or CSV file."),
    (b"\xd0\xcf\x11\xe0" + b"\x00" * 50, "roster.xls", "Old Excel files (.xls) cannot be read."),
    (_broken_xlsx(), "roster.xlsx", "The Excel file could not be opened."),
    ("地址,电话号码\n阳光花园,13812345678\n".encode("gbk"), "roster.csv", "The header row has no nickname column"),
    (b"a,b,c\n1,2,3\n", "roster.csv", "No header row was found."),
    (HEADER.encode(), "roster.csv", "The file has no member rows under its header."),
    (b"\xff\xfe\x00\xd8" * 10, "roster.csv", "The CSV file's text encoding is not recognised."),
    (
        csv_bytes([f"人{n},138{n:08d},," for n in range(roster.MAX_ROWS + 1)]),
        "roster.csv",
        "The file has more than 5000 member rows.",
    ),
    (HEADER.encode() + b"\n" + b"x" * (roster.MAX_FILE_BYTES + 1), "roster.csv", "The file is larger than 5 MB."),
]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    MALFORMED,
    ids=[
        "empty",
        "not-a-spreadsheet",
        "old-xls",
        "broken-xlsx",
        "no-nickname-column",
        "no-header",
        "header-only",
        "undecodable",
        "too-many-rows",
        "too-large",
    ],
)
def test_malformed_file_is_refused_with_a_clear_message_and_nothing_changes(
    ops, group, _stage_dir, content, name, message
):
    before = snapshot()

    response = upload(ops, group["community"], content, name)

    assert response.status_code == 200
    assert "plan" not in response.context
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1 and shown[0].startswith(message), shown
    assert snapshot() == before
    assert not _stage_dir.exists() or not list(_stage_dir.iterdir())


def test_downloadable_templates_have_the_expected_headers_and_read_back(ops, group):
    slug = group["community"].slug

    csv_response = ops.get(f"/ops/communities/{slug}/import/template.csv")
    xlsx_response = ops.get(f"/ops/communities/{slug}/import/template.xlsx")

    assert csv_response.content.startswith(codecs.BOM_UTF8)
    assert csv_response.content.decode("utf-8-sig").splitlines()[0] == HEADER
    sheet = load_workbook(io.BytesIO(xlsx_response.content)).active
    assert [cell.value for cell in sheet[1]] == ["昵称", "手机号", "自提点", "邀请人"]
    assert 'filename="roster-template.xlsx"' in xlsx_response["Content-Disposition"]
    for content, name in ((csv_response.content, "t.csv"), (xlsx_response.content, "t.xlsx")):
        rows = roster.roster_parse(content=content, filename=name)
        assert [(r.nickname, r.phone, r.inviter) for r in rows] == [
            ("王阿姨", "13812345678", ""),
            ("小李", "13987654321", "13812345678"),
        ]
    assert ops.get(f"/ops/communities/{slug}/import/template.exe").status_code == 404


def test_xlsx_template_writes_its_text_as_text_through_the_kernel_helper():
    # Issue 10 item 8: every xlsx writer goes through groupbuy.spreadsheets.append_row (no formula cells).
    # Community has no other spreadsheet writer; the CSV template holds only fixed text.
    sheet = load_workbook(io.BytesIO(roster.roster_template_xlsx())).active

    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]

    assert cells and {cell.data_type for cell in cells} == {"s"}
    assert [cell.value for cell in sheet[1]] == list(roster.TEMPLATE_HEADERS)
