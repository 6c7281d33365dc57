"""The roster dry run is no cross-community lookup (issue 10 item 7): uploading the phones of another
community's members showed their real nicknames as "existing user", and told staff and disabled
accounts apart. It now shows a number outside this community exactly as it shows a number nobody has."""

import pytest

from community.models import Membership, User
from tests import factories
from tests.community.scenarios import confirm, csv_bytes, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_stage_dir")]


@pytest.fixture
def elsewhere():
    """People of another community, a staff account and a disabled member; and a leader of community A."""
    other = factories.community()
    neighbour = factories.member(phone="+8613700000001", nickname="隔壁的张姐")
    factories.membership(user=neighbour, community=other)
    factories.operator(phone="+8613700000002")
    factories.member(phone="+8613700000003", nickname="停用的人", is_active=False)
    community = factories.community()
    leader = factories.member(nickname="团长")
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    return {"community": community, "leader": leader, "neighbour": neighbour}


def visible(row):
    """Everything the dry-run page shows of a row."""
    return (row.outcome, row.outcome_label, row.reasons, row.note, row.nickname, row.inviter_label)


ROWS = [
    "某某一,13700000001,,",  # another community's member
    "某某二,13700000002,,",  # a staff account
    "某某三,13700000003,,",  # a disabled account
    "某某四,13700000004,,",  # nobody
]


def test_dry_run_shows_accounts_outside_the_community_like_unknown_numbers(client, elsewhere):
    client.cookies["django_language"] = "en"
    client.force_login(elsewhere["leader"])

    response = upload(client, elsewhere["community"], csv_bytes(ROWS), "r.csv", prefix="/m/lead")

    rows = response.context["plan"].rows
    assert [visible(row) for row in rows] == [
        ("new", "New member", (), "", f"某某{n}", "") for n in ("一", "二", "三", "四")
    ]
    body = response.content.decode()
    for secret in (
        "隔壁的张姐",
        "停用的人",
        "staff account",
        "account is disabled",
        "Existing user",
        "+86137",
        "13700000001",
    ):
        assert secret not in body
    assert response.context["summary"]["new_members"] == 4


def test_a_missing_nickname_is_judged_alike_for_known_and_unknown_numbers(client, elsewhere):
    client.cookies["django_language"] = "en"
    client.force_login(elsewhere["leader"])

    response = upload(
        client, elsewhere["community"], csv_bytes([",13700000001,,", ",13700000004,,"]), "r.csv", prefix="/m/lead"
    )

    assert [visible(row) for row in response.context["plan"].rows] == [
        ("invalid", "Bad row", ("The nickname is missing.",), "", "", "")
    ] * 2


def test_confirm_attaches_existing_accounts_without_exposing_them_and_skips_staff_and_disabled(client, elsewhere):
    client.cookies["django_language"] = "en"
    client.force_login(elsewhere["leader"])
    community = elsewhere["community"]
    token = upload(client, community, csv_bytes(ROWS), "r.csv", prefix="/m/lead").context["token"]
    users_before = User.objects.count()

    done = confirm(client, community, token, prefix="/m/lead")

    assert [str(m) for m in done.context["messages"]] == ["Imported 2 members. Rows with problems were skipped."]
    assert done.context["result"] == {
        "new_members": 2,
        "merged_users": 0,
        "already_members": 0,
        "duplicates": 0,
        "bad_rows": 2,
        "imported": 2,
    }
    assert User.objects.count() == users_before + 1  # only 13700000004; no second account for a phone
    members = set(Membership.objects.filter(community=community, role="member").values_list("user__phone", flat=True))
    assert members == {"+8613700000001", "+8613700000004"}
    elsewhere["neighbour"].refresh_from_db()
    assert elsewhere["neighbour"].nickname == "隔壁的张姐"  # their own nickname is kept
    assert "隔壁的张姐" not in done.content.decode()
