"""Roster import (导入群成员): dry run on xlsx and CSV, confirm only valid rows once, merge by phone, refusals."""

import codecs
import io
import threading

import pytest
from django.db import connection
from openpyxl import Workbook, load_workbook

from community import events as community_events
from community import roster
from community.models import Invitation, Membership, User
from groupbuy import events
from tests import factories

pytestmark = pytest.mark.django_db

HEADER = "昵称,手机号,自提点,邀请人"


@pytest.fixture(autouse=True)
def _stage_dir(settings, tmp_path):
    settings.ROSTER_IMPORT_DIR = tmp_path / "roster-imports"
    return settings.ROSTER_IMPORT_DIR


@pytest.fixture
def ops(client):
    client.cookies["django_language"] = "en"
    client.force_login(factories.operator())
    return client


@pytest.fixture
def group():
    """A community with an open and a closed pickup point and the people a real roster runs into."""
    community = factories.community(capacity=500)
    people = {
        "sunny": factories.pickup_point(community=community, name="阳光花园"),
        "old_street": factories.pickup_point(community=community, name="老街站", is_active=False),
        "veteran": factories.member(phone="+8613900000001", nickname="老会员"),
        "registered": factories.member(phone="+8613900000002", nickname=""),
        "returning": factories.member(phone="+8613900000003", nickname="回头客"),
        "removed": factories.member(phone="+8613900000004", nickname="被移出"),
        "staff": factories.operator(phone="+8613900000005"),
    }
    User.objects.filter(pk=people["registered"].pk).update(nickname="")  # signed up, never set a nickname
    factories.membership(user=people["veteran"], community=community)
    people["left"] = factories.membership(user=people["returning"], community=community, status="left")
    factories.membership(user=people["removed"], community=community, status="removed")
    people["community"] = community
    return people


GOOD_AND_BAD_ROWS = [
    "王阿姨,13812345678,阳光花园,",  # 2 new
    "小李,13812345679,阳光花园,13812345678",  # 3 new, invited by row 2
    ",13812345680,,",  # 4 nickname missing
    "张三,12345,,",  # 5 invalid phone
    "王阿姨的小号,138 1234 5678,,",  # 6 duplicate of row 2
    "赵六,13812345681,不存在站,",  # 7 unknown pickup point
    "孙七,13812345682,老街站,",  # 8 closed pickup point
    "周八,13812345683,,不认识的人",  # 9 unknown inviter
    "老会员,13900000001,,",  # 10 already a member
    "新名字,13900000002,,老会员",  # 11 existing user merged, invited by an existing member (nickname)
    "回来了,13900000003,阳光花园,",  # 12 left earlier: re-activated
    "被移出,13900000004,,",  # 13 removed: refused
    "员工,13900000005,,",  # 14 staff account: refused
    f"{'长' * 65},13812345684,,",  # 15 nickname too long
    "自己,13812345685,,13812345685",  # 16 own inviter
]

EXPECTED_OUTCOMES = {
    2: ("new", ()),
    3: ("new", ()),
    4: ("invalid", ("The nickname is missing.",)),
    5: ("invalid", ("“12345” is not a valid mobile phone number.",)),
    6: ("duplicate", ("Same phone as row 2; merged into that row, only row 2 is imported.",)),
    7: ("invalid", ("This community has no pickup point called “不存在站”.",)),
    8: ("invalid", ("The pickup point “老街站” is closed.",)),
    9: ("invalid", ("Inviter “不认识的人” is not a member of this community or a row above.",)),
    10: ("already", ()),
    11: ("merged", ()),
    12: ("merged", ()),
    13: (
        "invalid",
        ("This person was removed from the community; add them back on their member page if you mean to.",),
    ),
    14: ("invalid", ("This phone number belongs to a staff account.",)),
    15: ("invalid", ("The nickname is longer than 64 characters.",)),
    16: ("invalid", ("A member cannot be their own inviter.",)),
}


def csv_bytes(lines, *, encoding="utf-8", header=HEADER) -> bytes:
    return "\n".join([header, *lines]).encode(encoding)


def upload(client, community, content: bytes, name: str, *, prefix: str = "/ops/communities"):
    file = io.BytesIO(content)
    file.name = name
    return client.post(f"{prefix}/{community.slug}/import/", {"action": "upload", "file": file}, follow=True)


def snapshot():
    return (
        list(User.objects.order_by("pk").values_list("pk", "phone", "nickname")),
        list(Membership.objects.order_by("pk").values_list("pk", "status", "invited_by", "default_pickup_point")),
    )


def outcomes(plan):
    return {row.number: (row.outcome, row.reasons) for row in plan.rows}


# --- Dry run ---------------------------------------------------------------------------------------------------


def test_csv_dry_run_reports_every_bad_row_with_its_reason_and_writes_nothing(ops, group, _stage_dir):
    community = group["community"]
    before = snapshot()

    response = upload(ops, community, csv_bytes(GOOD_AND_BAD_ROWS), "群成员.csv")

    assert response.status_code == 200
    plan = response.context["plan"]
    assert outcomes(plan) == EXPECTED_OUTCOMES
    assert response.context["summary"] == {
        "new_members": 2,
        "merged_users": 2,
        "already_members": 1,
        "duplicates": 1,
        "bad_rows": 9,
    }
    assert [row.number for row in response.context["problems"]] == [4, 5, 6, 7, 8, 9, 13, 14, 15, 16]
    assert snapshot() == before  # the dry run wrote nothing
    assert len(list(_stage_dir.glob("*.json"))) == 1  # only the staged rows, outside MEDIA_ROOT


def test_dry_run_report_masks_phone_numbers(ops, group):
    typo = "手滑,138123456789,,"  # one digit too many: invalid, but nearly someone's number

    response = upload(ops, group["community"], csv_bytes([*GOOD_AND_BAD_ROWS, typo]), "roster.csv")

    body = response.content.decode()
    assert "138****5678" in body
    assert "139****0004" in body  # the removed member, in the bad-rows table
    assert "“138****6789” is not a valid mobile phone number." in body
    for phone in ("13812345678", "+8613812345678", "13900000004", "13812345685", "138123456789"):
        assert phone not in body
    assert "Same phone as row 2; merged into that row, only row 2 is imported." in body
    assert "Confirm: import 4 members" in body


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


def test_rows_beyond_capacity_are_refused_with_reason(ops):
    community = factories.community(capacity=3)
    factories.membership(user=factories.member(), community=community)
    lines = ["一号,13812340001,,", "二号,13812340002,,", "三号,13812340003,,", "坏,123,,"]

    response = upload(ops, community, csv_bytes(lines), "roster.csv")

    assert outcomes(response.context["plan"]) == {
        2: ("new", ()),
        3: ("new", ()),
        4: ("invalid", ("The community is full (capacity 3 members).",)),
        5: ("invalid", ("“123” is not a valid mobile phone number.",)),
    }


def test_inviter_nickname_shared_by_two_members_is_ambiguous(ops):
    community = factories.community()
    for phone in ("+8613900000011", "+8613900000012"):
        factories.membership(user=factories.member(phone=phone, nickname="王姐"), community=community)

    response = upload(ops, community, csv_bytes(["新人,13812340001,,王姐", "新人2,13812340002,,13900000012"]), "r.csv")

    assert outcomes(response.context["plan"]) == {
        2: ("invalid", ("Several members are called “王姐”; give the inviter's phone number instead.",)),
        3: ("new", ()),
    }


# --- Malformed files -------------------------------------------------------------------------------------------


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


def test_upload_without_a_file_is_refused(ops, group):
    response = ops.post(f"/ops/communities/{group['community'].slug}/import/", {"action": "upload"}, follow=True)

    assert [str(m) for m in response.context["messages"]] == ["Choose the roster file to upload."]


# --- Confirming ------------------------------------------------------------------------------------------------


def confirm(client, community, token, *, prefix="/ops/communities"):
    return client.post(f"{prefix}/{community.slug}/import/", {"action": "confirm", "token": token}, follow=True)


def test_confirm_imports_only_valid_rows_merging_existing_users_by_phone(
    ops, group, _stage_dir, django_capture_on_commit_callbacks
):
    community = group["community"]
    token = upload(ops, community, csv_bytes(GOOD_AND_BAD_ROWS), "roster.csv").context["token"]
    users_before = User.objects.count()
    heard = []
    events.subscribe(community_events.RosterImported, heard.append)
    events.subscribe(community_events.MemberJoined, heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = confirm(ops, community, token)
    finally:
        events.unsubscribe(community_events.RosterImported, heard.append)
        events.unsubscribe(community_events.MemberJoined, heard.append)

    assert [str(m) for m in response.context["messages"]] == ["Imported 4 members. Rows with problems were skipped."]
    assert response.context["result"]["imported"] == 4
    assert User.objects.count() == users_before + 2  # only the two new people; merged users are not copied
    aunt = User.objects.get(phone="+8613812345678")
    li = User.objects.get(phone="+8613812345679")
    assert (aunt.nickname, aunt.role, aunt.has_usable_password()) == ("王阿姨", "member", False)
    assert li.nickname == "小李"
    members = {
        m.user.phone: m
        for m in Membership.objects.filter(community=community, status="active").select_related("user", "invited_by")
    }
    assert sorted(members) == [
        "+8613812345678",
        "+8613812345679",
        "+8613900000001",
        "+8613900000002",
        "+8613900000003",
    ]
    assert members["+8613812345678"].default_pickup_point == group["sunny"]
    assert members["+8613812345679"].invited_by == aunt  # inviter = a row above in the same file
    assert members["+8613900000002"].invited_by == group["veteran"]  # inviter = existing member, by nickname
    group["registered"].refresh_from_db()
    assert group["registered"].nickname == "新名字"  # the missing nickname was filled in
    group["returning"].refresh_from_db()
    assert group["returning"].nickname == "回头客"  # an existing nickname is kept
    group["left"].refresh_from_db()
    assert (group["left"].status, group["left"].default_pickup_point) == ("active", group["sunny"])
    assert Membership.objects.get(user=group["removed"], community=community).status == "removed"
    assert not User.objects.filter(phone__in=["+8613812345680", "+8613812345681", "+8613812345685"]).exists()
    imported = [e for e in heard if e.name == "community.roster_imported"]
    assert [e.payload for e in imported] == [
        {
            "community_id": community.pk,
            "imported_by_id": response.wsgi_request.user.pk,
            "filename": "roster.csv",
            "new_members": 2,
            "merged_users": 2,
            "already_members": 1,
            "duplicates": 1,
            "bad_rows": 9,
        }
    ]
    joined = [e.payload for e in heard if e.name == "community.member_joined"]
    assert len(joined) == 4 and {p["source"] for p in joined} == {"import"}
    assert not list(_stage_dir.iterdir())  # the staged rows are gone


def test_imported_members_get_their_personal_codes(ops, group):
    community = group["community"]
    token = upload(ops, community, csv_bytes(GOOD_AND_BAD_ROWS), "roster.csv").context["token"]

    confirm(ops, community, token)

    personal = set(
        Invitation.objects.filter(community=community, is_personal=True).values_list("inviter__phone", flat=True)
    )
    assert personal == {"+8613812345678", "+8613812345679", "+8613900000002", "+8613900000003"}


def test_confirming_twice_imports_once(ops, group):
    community = group["community"]
    token = upload(ops, community, csv_bytes(GOOD_AND_BAD_ROWS), "roster.csv").context["token"]
    confirm(ops, community, token)
    after_first = snapshot()

    second = confirm(ops, community, token)

    assert [str(m) for m in second.context["messages"]] == [
        "This import was already confirmed; it was not imported twice."
    ]
    assert second.context["result"]["imported"] == 4
    assert snapshot() == after_first


def test_confirming_a_consumed_token_from_another_session_changes_nothing(client, group):
    community = group["community"]
    operator = factories.operator()
    client.force_login(operator)
    staged = roster.roster_upload_stage(
        by=operator, community=community, content=csv_bytes(GOOD_AND_BAD_ROWS), filename="r.csv"
    )
    roster.roster_import_confirm(by=operator, community=community, token=staged.token)
    after_first = snapshot()

    with pytest.raises(roster.RosterImportRefused) as refused:
        roster.roster_import_confirm(by=operator, community=community, token=staged.token)

    assert refused.value.code == "unknown"
    assert snapshot() == after_first


@pytest.mark.django_db(transaction=True)
def test_parallel_confirmations_import_once(group):
    community = group["community"]
    operator = factories.operator()
    staged = roster.roster_upload_stage(
        by=operator, community=community, content=csv_bytes(GOOD_AND_BAD_ROWS), filename="r.csv"
    )
    barrier = threading.Barrier(4)
    outcomes_seen = []

    def run():
        try:
            barrier.wait()
            result = roster.roster_import_confirm(by=operator, community=community, token=staged.token)
            outcomes_seen.append(("ok", result.imported))
        except roster.RosterImportRefused as exc:
            outcomes_seen.append(("refused", exc.code))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(o[0] for o in outcomes_seen) == ["ok", "refused", "refused", "refused"]
    assert ("ok", 4) in outcomes_seen
    assert User.objects.filter(phone__in=["+8613812345678", "+8613812345679"]).count() == 2
    assert Membership.objects.filter(community=community, status="active").count() == 5


def test_confirm_judges_rows_again_against_the_current_community(ops):
    community = factories.community(capacity=3)
    token = upload(ops, community, csv_bytes(["一号,13812340001,,", "二号,13812340002,,"]), "r.csv").context["token"]
    # Between the dry run and the confirmation two people join through the invitation link.
    for _ in range(2):
        factories.membership(user=factories.member(), community=community)

    confirm(ops, community, token)

    assert list(
        Membership.objects.filter(community=community, user__phone__startswith="+86138").values_list(
            "user__nickname", flat=True
        )
    ) == ["一号"]
    assert Membership.objects.filter(community=community, status="active").count() == 3


def test_cancelled_dry_run_cannot_be_confirmed(ops, group, _stage_dir):
    community = group["community"]
    token = upload(ops, community, csv_bytes(GOOD_AND_BAD_ROWS), "roster.csv").context["token"]
    before = snapshot()

    cancelled = ops.post(
        f"/ops/communities/{community.slug}/import/", {"action": "discard", "token": token}, follow=True
    )
    response = confirm(ops, community, token)

    assert [str(m) for m in cancelled.context["messages"]] == ["The import was cancelled; nothing was changed."]
    assert [str(m) for m in response.context["messages"]] == [
        "This import was not found or has already been confirmed. Upload the file again."
    ]
    assert snapshot() == before
    assert not list(_stage_dir.iterdir())


def test_a_malicious_token_is_refused(ops, group):
    before = snapshot()

    response = confirm(ops, group["community"], "../../etc/passwd")

    assert [str(m) for m in response.context["messages"]] == ["This import was not found. Upload the file again."]
    assert snapshot() == before


# --- Who may import -------------------------------------------------------------------------------------------


def test_leader_imports_into_their_own_community(client, group):
    community = group["community"]
    leader = factories.member(nickname="团长")
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    client.cookies["django_language"] = "en"
    client.force_login(leader)

    dry_run = upload(client, community, csv_bytes(["王阿姨,13812345678,阳光花园,团长"]), "r.csv", prefix="/m/lead")
    done = confirm(client, community, dry_run.context["token"], prefix="/m/lead")

    assert dry_run.context["base_template"] == "member/base.html"
    assert done.context["result"]["new_members"] == 1
    assert Membership.objects.get(user__phone="+8613812345678", community=community).invited_by == leader


def test_leader_of_another_community_and_members_are_refused(client, group):
    community = group["community"]
    other = factories.community()
    outsider = factories.member()
    factories.membership(user=outsider, community=other, role=Membership.Role.LEADER)
    plain = factories.member()
    factories.membership(user=plain, community=community)
    content = csv_bytes(["王阿姨,13812345678,阳光花园,"])
    before = snapshot()

    for user in (outsider, plain):
        client.force_login(user)
        assert upload(client, community, content, "r.csv", prefix="/m/lead").status_code == 403
        assert upload(client, community, content, "r.csv").status_code == 403
        assert client.get(f"/m/lead/{community.slug}/import/template.csv").status_code == 403

    assert snapshot() == before
    with pytest.raises(roster.RosterImportRefused):
        roster.roster_upload_stage(by=outsider, community=community, content=content, filename="r.csv")


def test_another_operators_dry_run_cannot_be_opened_or_confirmed(client, group):
    community = group["community"]
    first = factories.operator()
    staged = roster.roster_upload_stage(
        by=first, community=community, content=csv_bytes(GOOD_AND_BAD_ROWS), filename="r.csv"
    )
    client.cookies["django_language"] = "en"
    client.force_login(factories.operator())
    before = snapshot()

    page = client.get(f"/ops/communities/{community.slug}/import/?token={staged.token}", follow=True)
    response = confirm(client, community, staged.token)

    assert "plan" not in page.context
    assert [str(m) for m in response.context["messages"]] == ["This import was not found. Upload the file again."]
    assert snapshot() == before


def test_anonymous_visitors_are_sent_to_sign_in(client, group):
    response = client.get(f"/ops/communities/{group['community'].slug}/import/")

    assert response.status_code == 302
    assert "/login" in response["Location"]


# --- Templates -------------------------------------------------------------------------------------------------


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
