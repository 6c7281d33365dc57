"""Joining a community (community.services.joining): the open, invitation and questionnaire gates, personal
codes, and the review of applications."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from community import events as community_events
from community import selectors, services
from community.models import Application, Community, Invitation, Membership
from groupbuy import events
from tests import factories
from tests.community.scenarios import good_answers, invited_community, questionnaire

pytestmark = pytest.mark.django_db


Gate = Community.JoinGate


def counts():
    return (Membership.objects.count(), Application.objects.count(), list(Invitation.objects.values_list("uses")))


def test_open_community_joins_at_once_and_publishes_after_commit(django_capture_on_commit_callbacks):
    community = factories.community()
    user = factories.member()
    heard = []
    events.subscribe(community_events.MemberJoined, heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = services.community_join(user=user, community=community)
    finally:
        events.unsubscribe(community_events.MemberJoined, heard.append)

    assert result.joined
    membership = Membership.objects.get(user=user, community=community)
    assert membership.status == Membership.Status.ACTIVE
    assert membership.invited_by is None
    assert [e.payload["membership_id"] for e in heard] == [membership.pk]


def test_already_member_refused_and_nothing_changes():
    community = factories.community()
    user = factories.member()
    services.community_join(user=user, community=community)
    before = counts()

    with pytest.raises(services.AlreadyMember) as refused:
        services.community_join(user=user, community=community)

    assert refused.value.message == "您已经是这个社群的成员了。"  # zh-hans is the default language
    assert counts() == before


def test_full_community_refused_and_nothing_changes():
    community = factories.community(capacity=1)
    services.community_join(user=factories.member(), community=community)
    before = counts()

    with pytest.raises(services.CommunityFull):
        services.community_join(user=factories.member(), community=community)

    assert counts() == before


def test_member_who_left_can_rejoin_and_keeps_first_inviter():
    community = factories.community()
    inviter = factories.member()
    factories.membership(user=inviter, community=community)
    user = factories.member()
    membership = factories.membership(user=user, community=community, status="left", invited_by=inviter)

    services.community_join(user=user, community=community)

    membership.refresh_from_db()
    assert membership.status == Membership.Status.ACTIVE
    assert membership.invited_by == inviter
    assert Membership.objects.filter(user=user).count() == 1


def test_removed_member_cannot_rejoin():
    community = factories.community()
    user = factories.member()
    factories.membership(user=user, community=community, status="removed")

    with pytest.raises(services.JoinRefused) as refused:
        services.community_join(user=user, community=community)

    assert refused.value.code == "removed"
    assert Membership.objects.get(user=user).status == "removed"


def test_joining_gives_the_new_member_their_personal_code_once():
    community = factories.community()
    user = factories.member()

    services.community_join(user=user, community=community)
    first = Invitation.objects.get(inviter=user, community=community, is_personal=True)
    services.membership_leave(user=user, community=community)
    services.community_join(user=user, community=community)

    assert list(Invitation.objects.filter(inviter=user)) == [first]
    assert (len(first.code), first.uses, first.max_uses, first.expires_at) == (8, 0, None, None)
    assert services.invitation_personal_get_or_create(user=user, community=community) == first


def test_personal_codes_are_made_for_many_members_at_once_and_kept():
    community = factories.community()
    users = [factories.member() for _ in range(3)]
    for user in users:
        factories.membership(user=user, community=community)
    kept = services.invitation_personal_get_or_create(user=users[0], community=community)

    services.invitations_personal_ensure(community=community, user_ids=[u.pk for u in users])
    services.invitations_personal_ensure(community=community, user_ids=[u.pk for u in users])

    codes = dict(Invitation.objects.filter(community=community, is_personal=True).values_list("inviter_id", "code"))
    assert sorted(codes) == sorted(u.pk for u in users)
    assert codes[users[0].pk] == kept.code
    assert len(set(codes.values())) == 3


def test_invitation_only_requires_a_code():
    community, _inviter = invited_community()
    user = factories.member()

    with pytest.raises(services.InvitationInvalid) as refused:
        services.community_join(user=user, community=community)

    assert refused.value.code == "no_code"
    assert not Membership.objects.filter(user=user).exists()


def test_personal_code_records_the_inviter_and_counts_a_use():
    community, inviter = invited_community()
    invitation = services.invitation_personal_get_or_create(user=inviter, community=community)
    user = factories.member()

    services.community_join(user=user, community=community, invitation_code=invitation.code.lower())

    assert Membership.objects.get(user=user).invited_by == inviter
    invitation.refresh_from_db()
    assert invitation.uses == 1
    assert services.invitation_personal_get_or_create(user=inviter, community=community) == invitation


def test_non_member_has_no_personal_code():
    community = factories.community()

    with pytest.raises(services.InvitationInvalid):
        services.invitation_personal_get_or_create(user=factories.member(), community=community)

    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        pytest.param({"expires_at": timezone.now() - timedelta(minutes=1)}, "expired", id="expired"),
        pytest.param({"max_uses": 1, "uses": 1}, "used_up", id="reused-single-use"),
        pytest.param({"max_uses": 3, "uses": 3}, "used_up", id="exhausted"),
    ],
)
def test_unusable_invitation_refused_and_nothing_changes(setup, code):
    community, inviter = invited_community()
    Invitation.objects.create(code="TESTCODE", community=community, inviter=inviter, **setup)
    user = factories.member()
    before = counts()

    with pytest.raises(services.InvitationInvalid) as refused:
        services.community_join(user=user, community=community, invitation_code="TESTCODE")

    assert refused.value.code == code
    assert counts() == before


def test_code_of_another_community_refused():
    community, _ = invited_community()
    other, other_inviter = invited_community()
    Invitation.objects.create(code="OTHERONE", community=other, inviter=other_inviter)

    with pytest.raises(services.InvitationInvalid) as refused:
        services.community_join(user=factories.member(), community=community, invitation_code="OTHERONE")

    assert refused.value.code == "unknown_code"
    assert Invitation.objects.get().uses == 0


def test_full_community_does_not_use_the_invitation():
    community, inviter = invited_community()
    community.capacity = 1
    community.save()
    invitation = services.invitation_personal_get_or_create(user=inviter, community=community)

    with pytest.raises(services.CommunityFull):
        services.community_join(user=factories.member(), community=community, invitation_code=invitation.code)

    invitation.refresh_from_db()
    assert invitation.uses == 0


def test_leader_creates_limited_invitation_member_cannot():
    community, member = invited_community()
    leader = factories.member()
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)

    invitation = services.invitation_create(inviter=leader, community=community, max_uses=2)

    assert invitation.max_uses == 2
    assert len(invitation.code) == 8
    with pytest.raises(services.InvitationInvalid):
        services.invitation_create(inviter=member, community=community)
    assert Invitation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_joins_never_exceed_max_uses():
    community, inviter = invited_community()
    Invitation.objects.create(code="RACE0001", community=community, inviter=inviter, max_uses=3)
    users = [factories.member() for _ in range(8)]
    barrier = threading.Barrier(len(users))
    outcomes = []

    def join(user):
        try:
            barrier.wait()
            services.community_join(user=user, community=community, invitation_code="RACE0001")
            outcomes.append("joined")
        except services.InvitationInvalid as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=join, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["joined"] * 3 + ["used_up"] * 5
    assert Invitation.objects.get(code="RACE0001").uses == 3
    assert Membership.objects.filter(community=community, invited_by=inviter).count() == 3


def test_score_at_threshold_approves_at_once():
    community = factories.community(join_gate=Gate.QUESTIONNAIRE)
    _q, parts = questionnaire(community, threshold=13)  # 6 + 3 + 2 + 2
    user = factories.member()

    result = services.community_join(user=user, community=community, answers=good_answers(parts))

    assert result.joined
    application = Application.objects.get(user=user)
    assert (application.status, application.score) == ("approved", 13)
    assert application.answers[str(parts["cook"].pk)] == sorted([parts["daily"].pk, parts["kids"].pk])
    assert Membership.objects.get(user=user).status == Membership.Status.ACTIVE


def test_score_below_threshold_waits_for_review():
    community = factories.community(join_gate=Gate.QUESTIONNAIRE)
    _q, parts = questionnaire(community, threshold=13)
    user = factories.member()

    result = services.community_join(user=user, community=community, answers=good_answers(parts, text="短"))

    assert not result.joined
    assert (result.application.status, result.application.score) == ("pending", 11)
    assert not Membership.objects.filter(user=user).exists()
    assert selectors.latest_application(user=user, community=community) == result.application


def test_duplicate_application_refused_and_nothing_changes():
    community = factories.community(join_gate=Gate.QUESTIONNAIRE)
    _q, parts = questionnaire(community, threshold=100)
    user = factories.member()
    services.community_join(user=user, community=community, answers=good_answers(parts))
    before = counts()

    with pytest.raises(services.ApplicationExists) as refused:
        services.community_join(user=user, community=community, answers=good_answers(parts))

    assert refused.value.message == "您已经申请过这个社群，请耐心等待审核。"
    assert counts() == before


def test_database_refuses_a_second_open_application():
    from django.db import IntegrityError, transaction

    community = factories.community(join_gate=Gate.QUESTIONNAIRE)
    user = factories.member()
    Application.objects.create(user=user, community=community)

    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.create(user=user, community=community)


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda parts, a: a.pop(str(parts["why"].pk)), id="missing-required"),
        pytest.param(lambda parts, a: a.update({str(parts["why"].pk): "999999"}), id="foreign-choice"),
        pytest.param(
            lambda parts, a: a.update({str(parts["why"].pk): [parts["good"].pk, parts["cheap"].pk]}),
            id="two-for-single",
        ),
        pytest.param(lambda parts, a: a.update({str(parts["about"].pk): "   "}), id="blank-text"),
    ],
)
def test_bad_answers_refused_and_nothing_changes(broken):
    community = factories.community(join_gate=Gate.QUESTIONNAIRE)
    _q, parts = questionnaire(community)
    answers = good_answers(parts)
    broken(parts, answers)

    with pytest.raises(services.AnswersInvalid):
        services.community_join(user=factories.member(), community=community, answers=answers)

    assert counts() == (0, 0, [])


def pending_application():
    community = factories.community(join_gate=Gate.QUESTIONNAIRE)
    _q, parts = questionnaire(community, threshold=100)
    inviter = factories.member()
    factories.membership(user=inviter, community=community)
    code = services.invitation_personal_get_or_create(user=inviter, community=community).code
    user = factories.member()
    result = services.community_join(user=user, community=community, answers=good_answers(parts), invitation_code=code)
    return community, result.application, inviter


def test_leader_approves_and_membership_records_the_inviter():
    community, application, inviter = pending_application()
    leader = factories.member()
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)

    services.application_review(application=application, reviewer=leader, approve=True)

    application.refresh_from_db()
    assert application.status == "approved"
    assert application.reviewed_by == leader
    assert application.reviewed_at is not None
    assert Membership.objects.get(user=application.user).invited_by == inviter


def test_approval_gives_the_new_member_their_personal_code():
    community, application, _inviter = pending_application()
    waiting = Invitation.objects.filter(inviter=application.user).exists()

    services.application_review(application=application, reviewer=factories.operator(), approve=True)

    assert not waiting
    assert Invitation.objects.filter(inviter=application.user, community=community, is_personal=True).count() == 1


def test_operator_rejects_with_reason():
    _community, application, _ = pending_application()

    services.application_review(
        application=application, reviewer=factories.operator(), approve=False, reason="不在本小区"
    )

    application.refresh_from_db()
    assert (application.status, application.reason) == ("rejected", "不在本小区")
    assert not Membership.objects.filter(user=application.user).exists()


@pytest.mark.parametrize("who", ["member", "leader-elsewhere"])
def test_others_cannot_review(who):
    community, application, inviter = pending_application()
    reviewer = inviter
    if who == "leader-elsewhere":
        reviewer = factories.member()
        factories.membership(user=reviewer, community=factories.community(), role=Membership.Role.LEADER)

    with pytest.raises(services.ReviewRefused):
        services.application_review(application=application, reviewer=reviewer, approve=True)

    application.refresh_from_db()
    assert application.status == "pending"
    assert not Membership.objects.filter(user=application.user).exists()
    assert selectors.pending_applications(reviewer=reviewer, community=community).count() == 0


def test_reject_without_reason_and_second_review_refused():
    _community, application, _ = pending_application()
    operator = factories.operator()

    with pytest.raises(services.ReviewRefused) as no_reason:
        services.application_review(application=application, reviewer=operator, approve=False)
    services.application_review(application=application, reviewer=operator, approve=True)
    with pytest.raises(services.ReviewRefused) as again:
        services.application_review(application=application, reviewer=operator, approve=False, reason="x")

    assert (no_reason.value.code, again.value.code) == ("no_reason", "reviewed")
    application.refresh_from_db()
    assert application.status == "approved"


def test_approval_into_full_community_refused_and_nothing_changes():
    community, application, _ = pending_application()
    community.capacity = 1  # the inviter fills it
    community.save()

    with pytest.raises(services.CommunityFull):
        services.application_review(application=application, reviewer=factories.operator(), approve=True)

    application.refresh_from_db()
    assert application.status == "pending"
    assert not Membership.objects.filter(user=application.user).exists()


def test_rejected_applicant_may_apply_again():
    community, application, _ = pending_application()
    services.application_review(application=application, reviewer=factories.operator(), approve=False, reason="再想想")

    services.community_join(user=application.user, community=community, answers=application.answers)

    assert Application.objects.filter(user=application.user).count() == 2
