"""community.access.may_manage_community: who manages a community (members, roster, posts, questionnaire)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from community.access import may_manage_community
from community.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db


def _operator(community):
    return factories.operator()


def _active_leader(community):
    user = factories.member()
    factories.membership(user=user, community=community, role=Membership.Role.LEADER)
    return user


def _leader_of_another_community(community):
    user = factories.member()
    factories.membership(user=user, community=factories.community(), role=Membership.Role.LEADER)
    factories.membership(user=user, community=community)
    return user


def _removed_leader(community):
    user = factories.member()
    factories.membership(user=user, community=community, role=Membership.Role.LEADER, status=Membership.Status.REMOVED)
    return user


def _leader_who_left(community):
    user = factories.member()
    factories.membership(user=user, community=community, role=Membership.Role.LEADER, status=Membership.Status.LEFT)
    return user


def _plain_member(community):
    user = factories.member()
    factories.membership(user=user, community=community)
    return user


def _koc(community):
    user = factories.member()
    factories.membership(user=user, community=community, role=Membership.Role.KOC)
    return user


def _inactive_leader(community):
    user = factories.member(is_active=False)
    factories.membership(user=user, community=community, role=Membership.Role.LEADER)
    return user


def _inactive_operator(community):
    return factories.operator(is_active=False)


def _host(community):
    return factories.host()


def _anonymous(community):
    return AnonymousUser()


@pytest.mark.parametrize(
    ("make_user", "expected"),
    [
        pytest.param(_operator, True, id="operator"),
        pytest.param(_active_leader, True, id="active-leader"),
        pytest.param(_leader_of_another_community, False, id="leader-of-another-community"),
        pytest.param(_removed_leader, False, id="removed-leader"),
        pytest.param(_leader_who_left, False, id="leader-who-left"),
        pytest.param(_plain_member, False, id="plain-member"),
        pytest.param(_koc, False, id="koc"),
        pytest.param(_inactive_leader, False, id="inactive-leader"),
        pytest.param(_inactive_operator, False, id="inactive-operator"),
        pytest.param(_host, False, id="host"),
        pytest.param(_anonymous, False, id="anonymous"),
    ],
)
def test_who_may_manage_a_community(make_user, expected):
    community = factories.community()
    user = make_user(community)

    assert may_manage_community(user=user, community=community) is expected
    assert may_manage_community(user=user, community=community.pk) is expected


def test_the_answer_is_one_query_for_a_member(django_assert_num_queries):
    community = factories.community()
    leader = _active_leader(community)

    with django_assert_num_queries(1):
        assert may_manage_community(user=leader, community=community)
