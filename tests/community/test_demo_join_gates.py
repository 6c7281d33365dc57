"""The demo shows questionnaires, invitation trees and applications waiting for review; re-runs change nothing."""

import pytest

from community import selectors
from community.models import Application, Choice, Community, Invitation, Membership, Question, User
from demo import story as demo

pytestmark = pytest.mark.django_db


def rows():
    return (
        Question.objects.count(),
        Choice.objects.count(),
        Invitation.objects.count(),
        Application.objects.count(),
        sorted(Invitation.objects.values_list("code", "uses")),
    )


def test_demo_has_questionnaires_invitation_trees_and_pending_applications():
    demo.seed_demo()
    first = rows()
    demo.seed_demo()

    assert rows() == first
    main = Community.objects.get(slug=demo.MAIN_COMMUNITY_SLUG)
    assert main.questionnaire.threshold == 10
    assert main.questionnaire.questions.count() == 3
    assert Community.objects.get(slug="cuihu").questionnaire.questions.count() == 3
    pending = Application.objects.filter(community=main, status=Application.Status.PENDING)
    assert pending.count() == 4
    assert not Membership.objects.filter(community=main, user__in=pending.values("user")).exists()
    assert all(a.score < 10 for a in pending)
    # Every referral is backed by the inviter's personal code, whose uses match the members brought in.
    counts = selectors.referral_counts(community=main)
    codes = {i.inviter_id: i.uses for i in Invitation.objects.filter(community=main, is_personal=True)}
    assert sum(counts.values()) == 205
    assert all(codes[inviter] == n for inviter, n in counts.items())
    leader = Membership.objects.get(community=main, role=Membership.Role.LEADER).user
    assert leader.pk in codes
    wang = Membership.objects.get(community=main, user__phone=demo.DEMO_MEMBER_PHONE).user
    assert wang.pk in codes
    deepest = max(
        (node.depth for i in counts for node in selectors.referral_subtree(user=User(pk=i), community=main)),
        default=0,
    )
    assert deepest >= 2  # a tree, not only direct invitations
