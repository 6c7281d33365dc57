"""Roster files made to overload the server (issue 10 item 10): a 1.19 MB xlsx whose shared-strings
part unpacked to hundreds of MB took 43 s and ~870 MB. The zip's directory is judged before openpyxl
opens anything; CSV lines and rows are capped too. Files are generated here, for real."""

import io
import time
import tracemalloc
import zipfile

import pytest
from openpyxl import Workbook

from community import roster
from tests.community.scenarios import snapshot, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_stage_dir")]

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="成员" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
SHEET = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
    "</sheetData></worksheet>"
)


def xlsx_bomb(path, *, shared_string_megabytes: int) -> bytes:
    """A valid xlsx whose shared-strings part is one enormous string of repeated characters."""
    chunk = "哈" * (1024 * 1024 // 3)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", SHEET)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(
                b'<?xml version="1.0" encoding="UTF-8"?>'
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b"<si><t>\xe6\x98\xb5\xe7\xa7\xb0</t></si><si><t>"
            )
            encoded = chunk.encode()
            for _ in range(shared_string_megabytes):
                part.write(encoded)
            part.write(b"</t></si></sst>")
    return path.read_bytes()


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    return xlsx_bomb(tmp_path_factory.mktemp("bombs") / "名单.xlsx", shared_string_megabytes=300)


def test_the_bomb_is_small_on_the_wire_and_huge_unpacked(bomb):
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        unpacked = sum(member.file_size for member in archive.infolist())

    assert len(bomb) < roster.MAX_FILE_BYTES  # passes the upload size limit, as the report's 1.19 MB did
    assert unpacked > 300 * 1024 * 1024


def test_xlsx_bomb_is_refused_quickly_without_unpacking(bomb):
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(roster.RosterFileInvalid) as refused:
        roster.roster_parse(content=bomb, filename="名单.xlsx")
    elapsed = time.monotonic() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert refused.value.code == "unpacked_too_large"
    assert elapsed < 1
    assert peak < 20 * 1024 * 1024


def test_the_page_refuses_the_bomb_with_a_clear_message_and_nothing_changes(ops, group, bomb, _stage_dir):
    before = snapshot()

    response = upload(ops, group["community"], bomb, "名单.xlsx")

    assert response.status_code == 200
    assert "plan" not in response.context
    assert [str(m) for m in response.context["messages"]] == [
        "The Excel file unpacks to far more data than a member list holds (it may be damaged or made to overload "
        "the server). Save the list again as .xlsx or CSV and upload the new file."
    ]
    assert snapshot() == before
    assert not _stage_dir.exists() or not list(_stage_dir.iterdir())


def test_a_small_part_packed_far_past_any_real_spreadsheet_is_refused(tmp_path):
    small = xlsx_bomb(tmp_path / "r.xlsx", shared_string_megabytes=5)  # 5 MB of one character: ~1000:1

    with pytest.raises(roster.RosterFileInvalid) as refused:
        roster.roster_parse(content=small, filename="r.xlsx")

    assert refused.value.code == "unpacked_too_large"


def test_a_full_size_real_roster_is_still_read(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["昵称", "手机号", "自提点", "邀请人"])
    for n in range(roster.MAX_ROWS):
        sheet.append([f"阳光花园{n}号楼的邻居", f"1381234{n:04d}", "阳光花园自提点", "13812345678"])
    workbook.save(tmp_path / "real.xlsx")

    rows = roster.roster_parse(content=(tmp_path / "real.xlsx").read_bytes(), filename="real.xlsx")

    assert len(rows) == roster.MAX_ROWS


def test_a_sheet_formatted_to_the_last_row_stops_after_the_blank_run(tmp_path):
    lines = ["昵称,手机号", "王阿姨,13812345678", *([","] * 50_000), "迟到的人,13812345679"]
    content = "\n".join(lines).encode()

    rows = roster.roster_parse(content=content, filename="r.csv")

    assert [row.nickname for row in rows] == ["王阿姨"]


def test_a_csv_line_far_too_long_is_refused(tmp_path):
    content = ("昵称,手机号\n王阿姨,13812345678\n" + "长," * 100_000 + "\n").encode()

    with pytest.raises(roster.RosterFileInvalid) as refused:
        roster.roster_parse(content=content, filename="r.csv")

    assert refused.value.code == "csv_line_too_long"
    assert refused.value.message == "CSV 文件第 3 行太长，不像成员名单。请检查文件后重新上传。"
