"""The member join pages (community.views: /m/join/<slug>/), the profile, and the review pages for leaders and operators."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from community import services
from community.models import Application, Community, Invitation, Membership
from tests import factories
from tests.community.scenarios import good_answers, questionnaire

pytestmark = pytest.mark.django_db


def form_data(parts, **extra):
    answers = good_answers(parts)
    data = {
        f"q{parts['why'].pk}": answers[str(parts["why"].pk)],
        f"q{parts['cook'].pk}": answers[str(parts["cook"].pk)],
        f"q{parts['about'].pk}": answers[str(parts["about"].pk)],
    }
    data.update(extra)
    return data


def test_anonymous_sees_positioning_and_sign_in_link_with_ref(en):
    community = factories.community(positioning="关心食材来源的邻居", join_gate=Community.JoinGate.INVITATION)
    inviter = factories.member(nickname="王姐")
    factories.membership(user=inviter, community=community)
    code = services.invitation_personal_get_or_create(user=inviter, community=community).code

    response = en.get(f"/m/join/{community.slug}/?ref={code}")

    body = response.content.decode()
    assert response.status_code == 200
    assert "关心食材来源的邻居" in body
    assert "Invited by 王姐" in body
    assert f"/m/login/?next=%2Fm%2Fjoin%2F{community.slug}%2F%3Fref%3D{code}" in body


def test_unknown_or_inactive_community_is_404(client):
    community = factories.community(is_active=False)

    assert client.get("/m/join/nope/").status_code == 404
    assert client.get(f"/m/join/{community.slug}/").status_code == 404


def test_anonymous_post_goes_to_sign_in_and_changes_nothing(client):
    community = factories.community()

    response = client.post(f"/m/join/{community.slug}/", {"code": ""})

    assert response.status_code == 302
    assert response["Location"].startswith("/m/login/?next=")
    assert not Membership.objects.exists()


def test_invitation_code_field_is_prefilled_and_join_records_inviter(en):
    community = factories.community(join_gate=Community.JoinGate.INVITATION)
    inviter = factories.member()
    factories.membership(user=inviter, community=community)
    code = services.invitation_personal_get_or_create(user=inviter, community=community).code
    user = factories.member()
    en.force_login(user)

    page = en.get(f"/m/join/{community.slug}/?ref={code}")
    response = en.post(f"/m/join/{community.slug}/", {"code": code})

    assert f'name="code" value="{code}"' in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == "/m/"
    assert Membership.objects.get(user=user).invited_by == inviter
    assert f"Welcome to {community.name}!" in en.get("/m/").content.decode()


def test_wrong_code_shows_message_and_changes_nothing(en):
    community = factories.community(join_gate=Community.JoinGate.INVITATION)
    en.force_login(factories.member())

    response = en.post(f"/m/join/{community.slug}/", {"code": "NOPE1234"})

    assert response.status_code == 200
    assert "This invitation code is not valid for this community." in response.content.decode()
    assert not Membership.objects.exists()


def test_questionnaire_pass_joins_and_low_score_goes_to_status_page(en):
    community = factories.community(join_gate=Community.JoinGate.QUESTIONNAIRE)
    _q, parts = questionnaire(community, threshold=13)
    passing, failing = factories.member(), factories.member()

    en.force_login(passing)
    joined = en.post(f"/m/join/{community.slug}/", form_data(parts))
    en.force_login(failing)
    pending = en.post(f"/m/join/{community.slug}/", form_data(parts, **{f"q{parts['about'].pk}": "短"}))
    status = en.get(pending["Location"])

    assert joined["Location"] == "/m/"
    assert Membership.objects.get(user=passing).status == "active"
    assert pending["Location"] == f"/m/join/{community.slug}/status/"
    assert 'data-status="pending"' in status.content.decode()
    assert "Waiting for review" in status.content.decode()
    assert not Membership.objects.filter(user=failing).exists()


def test_unanswered_question_keeps_answers_and_changes_nothing(en):
    community = factories.community(join_gate=Community.JoinGate.QUESTIONNAIRE)
    _q, parts = questionnaire(community)
    en.force_login(factories.member())
    data = form_data(parts)
    del data[f"q{parts['why'].pk}"]

    response = en.post(f"/m/join/{community.slug}/", data)

    body = response.content.decode()
    assert "Please answer: 为什么想加入？" in body
    assert f'value="{parts["daily"].pk}" checked' in body
    assert (Membership.objects.count(), Application.objects.count()) == (0, 0)


def test_rejected_applicant_sees_reason(en):
    community = factories.community(join_gate=Community.JoinGate.QUESTIONNAIRE)
    _q, parts = questionnaire(community, threshold=100)
    user = factories.member()
    application = services.community_join(user=user, community=community, answers=good_answers(parts)).application
    services.application_review(
        application=application, reviewer=factories.operator(), approve=False, reason="名额已满"
    )
    en.force_login(user)

    response = en.get(f"/m/join/{community.slug}/status/")

    assert "Reason: 名额已满" in response.content.decode()
    assert 'data-status="rejected"' in response.content.decode()


def pending_app():
    community = factories.community(join_gate=Community.JoinGate.QUESTIONNAIRE)
    _q, parts = questionnaire(community, threshold=100)
    user = factories.member(phone="+8613812345678")
    application = services.community_join(user=user, community=community, answers=good_answers(parts)).application
    return community, application


def test_leader_reviews_in_member_shell_with_masked_phone(en):
    community, application = pending_app()
    leader = factories.member()
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    en.force_login(leader)

    page = en.get(f"/m/lead/{community.slug}/applications/")
    response = en.post(
        f"/m/lead/{community.slug}/applications/", {"application": application.pk, "decision": "approve"}
    )

    assert "138****5678" in page.content.decode()
    assert "+8613812345678" not in page.content.decode()
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == "approved"


def test_plain_member_and_other_leader_cannot_open_review(client):
    community, application = pending_app()
    other_leader = factories.member()
    factories.membership(user=other_leader, community=factories.community(), role=Membership.Role.LEADER)

    client.force_login(other_leader)
    page = client.get(f"/m/lead/{community.slug}/applications/")
    post = client.post(
        f"/m/lead/{community.slug}/applications/", {"application": application.pk, "decision": "approve"}
    )

    assert (page.status_code, post.status_code) == (403, 403)
    application.refresh_from_db()
    assert application.status == "pending"


def test_operator_rejects_without_reason_is_refused_then_with_reason(en):
    community, application = pending_app()
    en.force_login(factories.operator())
    url = f"/ops/communities/{community.slug}/applications/"

    refused = en.post(url, {"application": application.pk, "decision": "reject"}, follow=True)
    application.refresh_from_db()
    status_after_refusal = application.status
    en.post(url, {"application": application.pk, "decision": "reject", "reason": "不在配送范围"})

    assert "Give a reason for the rejection; the applicant will see it." in refused.content.decode()
    assert status_after_refusal == "pending"
    application.refresh_from_db()
    assert (application.status, application.reason) == ("rejected", "不在配送范围")


def test_profile_shows_personal_invitation_link_and_leader_review_link(en):
    community = factories.community()
    user = factories.member()
    factories.membership(user=user, community=community, role=Membership.Role.LEADER)
    en.force_login(user)

    first = en.get("/m/me/").content.decode()
    second = en.get("/m/me/").content.decode()

    invitation = user.invitations.get()
    assert f"http://testserver/m/join/{community.slug}/?ref={invitation.code}" in first
    assert f"/m/lead/{community.slug}/applications/" in first
    assert first.count(invitation.code) == second.count(invitation.code)
    assert user.invitations.count() == 1


def test_profile_of_a_member_who_joined_only_reads(en):
    community = factories.community()
    user = factories.member()
    services.community_join(user=user, community=community)
    code = Invitation.objects.get(inviter=user).code
    en.force_login(user)

    with CaptureQueriesContext(connection) as queries:
        page = en.get("/m/me/").content.decode()

    assert f"http://testserver/m/join/{community.slug}/?ref={code}" in page
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert Invitation.objects.count() == 1
