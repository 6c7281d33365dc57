"""Roster import, the staged upload (community.roster.staging): who may upload, cancel, foreign and bad tokens."""

import pytest

from community import roster
from community.models import Membership
from tests import factories
from tests.community.scenarios import GOOD_AND_BAD_ROWS, confirm, csv_bytes, snapshot, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_stage_dir")]


def test_upload_without_a_file_is_refused(ops, group):
    response = ops.post(f"/ops/communities/{group['community'].slug}/import/", {"action": "upload"}, follow=True)

    assert [str(m) for m in response.context["messages"]] == ["Choose the roster file to upload."]


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
