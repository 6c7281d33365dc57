"""Reads for communities (community.selectors): the referral tree and the overview counts."""

import pytest

from community import selectors, services
from tests import factories
from tests.community.scenarios import invited_community

pytestmark = pytest.mark.django_db


def test_referral_subtree_from_chained_invitations(django_assert_max_num_queries):
    community, root = invited_community()
    chain = {}

    def invite(parent, name):
        code = services.invitation_personal_get_or_create(user=parent, community=community).code
        child = factories.member(nickname=name)
        services.community_join(user=child, community=community, invitation_code=code)
        chain[name] = child
        return child

    a = invite(root, "A")
    b = invite(root, "B")
    a1 = invite(a, "A1")
    invite(a1, "A1x")
    invite(b, "B1")
    factories.membership(user=factories.member(), community=community)  # not referred

    with django_assert_max_num_queries(3):
        full = selectors.referral_subtree(user=root, community=community, max_depth=3)
    shallow = selectors.referral_subtree(user=root, community=community, max_depth=2)
    below_a = selectors.referral_subtree(user=a, community=community)

    assert [(n.membership.user.nickname, n.depth) for n in full] == [
        ("A", 1),
        ("B", 1),
        ("A1", 2),
        ("B1", 2),
        ("A1x", 3),
    ]
    assert [n.membership.user.nickname for n in shallow] == ["A", "B", "A1", "B1"]
    assert [(n.membership.user.nickname, n.depth) for n in below_a] == [("A1", 1), ("A1x", 2)]
    assert full[2].inviter_id == a.pk
    assert selectors.referral_counts(community=community) == {root.pk: 2, a.pk: 1, a1.pk: 1, b.pk: 1}


def test_overview_counts_pending_applications():
    community = factories.community()
    factories.membership(user=factories.member(), community=community)

    overview = selectors.community_overview(community=community)

    assert (overview["member_count"], overview["places_left"], overview["pending_applications"]) == (1, 499, 0)
