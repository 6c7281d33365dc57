"""Roster import, confirming (community.roster.confirm): only valid rows, merged by phone, once."""

import threading

import pytest
from django.db import connection

from community import events as community_events
from community import roster
from community.models import Invitation, Membership, User
from groupbuy import events
from tests import factories
from tests.community.scenarios import GOOD_AND_BAD_ROWS, confirm, csv_bytes, snapshot, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_stage_dir")]


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
            "new_members": 3,  # rows 2, 3 and 11 (an account elsewhere, attached, not copied)
            "merged_users": 1,  # row 12, a former member
            "already_members": 1,
            "duplicates": 1,
            "bad_rows": 9,  # the 8 bad rows and row 14, the staff account, skipped
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
