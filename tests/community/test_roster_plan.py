"""Roster import, the dry run (community.roster.plan): every row judged with its reason, nothing written."""

import pytest

from tests import factories
from tests.community.scenarios import EXPECTED_OUTCOMES, GOOD_AND_BAD_ROWS, csv_bytes, outcomes, snapshot, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_stage_dir")]


def test_csv_dry_run_reports_every_bad_row_with_its_reason_and_writes_nothing(ops, group, _stage_dir):
    community = group["community"]
    before = snapshot()

    response = upload(ops, community, csv_bytes(GOOD_AND_BAD_ROWS), "群成员.csv")

    assert response.status_code == 200
    plan = response.context["plan"]
    assert outcomes(plan) == EXPECTED_OUTCOMES
    assert response.context["summary"] == {
        "new_members": 4,  # rows 2, 3, 11 (an account elsewhere) and 14 (a staff account): item 7
        "merged_users": 1,
        "already_members": 1,
        "duplicates": 1,
        "bad_rows": 8,
    }
    assert [row.number for row in response.context["problems"]] == [4, 5, 6, 7, 8, 9, 13, 15, 16]
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
    assert "Confirm: import 5 members" in body  # row 14, a staff account, is not told apart (item 7)


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
