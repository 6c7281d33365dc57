"""Leaving, removal and community roles (community.services.membership), from the services and the pages."""

import pytest

from community import services
from community.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db


def test_operator_removes_member_who_then_cannot_rejoin(ops):
    community = factories.community()
    m = factories.membership(user=factories.member(), community=community)

    ops.post(f"/ops/communities/{community.slug}/members/{m.pk}/", {"action": "remove"})

    m.refresh_from_db()
    assert m.status == "removed"
    with pytest.raises(services.JoinRefused):
        services.community_join(user=m.user, community=community)


def test_member_cannot_remove_and_leader_cannot_remove_self():
    community = factories.community()
    leader = factories.member()
    leader_m = factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    plain = factories.member()
    other = factories.membership(user=factories.member(), community=community)
    factories.membership(user=plain, community=community)

    with pytest.raises(services.MembershipChangeRefused):
        services.membership_remove(membership=other, by=plain)
    with pytest.raises(services.MembershipChangeRefused):
        services.membership_remove(membership=leader_m, by=leader)
    services.membership_remove(membership=other, by=leader)

    assert dict(Membership.objects.values_list("pk", "status")) == {
        leader_m.pk: "active",
        other.pk: "removed",
        Membership.objects.get(user=plain).pk: "active",
    }


def test_member_leaves_from_profile_and_may_rejoin(client):
    client.cookies["django_language"] = "en"
    community = factories.community()
    user = factories.member()
    factories.membership(user=user, community=community)
    client.force_login(user)

    response = client.post(f"/m/leave/{community.slug}/")

    assert response.status_code == 302
    assert Membership.objects.get(user=user).status == "left"
    again = client.post(f"/m/leave/{community.slug}/", follow=True)
    assert Membership.objects.get(user=user).status == "left"
    assert [str(m) for m in again.context["messages"]][-1] == "You are not a member of this community."
    services.community_join(user=user, community=community)
    assert Membership.objects.get(user=user).status == "active"


def test_operator_designates_koc_and_leader_cannot(ops):
    community = factories.community()
    m = factories.membership(user=factories.member(), community=community)

    ops.post(f"/ops/communities/{community.slug}/members/{m.pk}/", {"action": "role", "role": "koc"})
    m.refresh_from_db()
    role = m.role
    leader = factories.member()
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    with pytest.raises(services.MembershipChangeRefused):
        services.membership_role_set(by=leader, membership=m, role="member")

    assert role == "koc"
    m.refresh_from_db()
    assert m.role == "koc"


def test_leader_cannot_remove_another_leader_or_an_operator_but_an_operator_can():
    # Issue 10 item 19, confirmed: a leader could remove the community's other leaders.
    community = factories.community()
    leader = factories.member()
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    other_leader = factories.membership(user=factories.member(), community=community, role=Membership.Role.LEADER)
    operator_member = factories.membership(user=factories.operator(), community=community)
    koc = factories.membership(user=factories.member(), community=community, role=Membership.Role.KOC)

    refusals = []
    for target in (other_leader, operator_member):
        with pytest.raises(services.MembershipChangeRefused) as refused:
            services.membership_remove(membership=target, by=leader)
        refusals.append(refused.value.code)
    services.membership_remove(membership=koc, by=leader)
    services.membership_remove(membership=other_leader, by=factories.operator())

    assert refusals == ["leader", "leader"]
    assert dict(Membership.objects.filter(community=community).values_list("pk", "status")) == {
        Membership.objects.get(user=leader).pk: "active",
        other_leader.pk: "removed",
        operator_member.pk: "active",
        koc.pk: "removed",
    }


def test_leader_page_says_a_leader_cannot_be_removed(client):
    community = factories.community()
    leader = factories.member()
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    other_leader = factories.membership(user=factories.member(), community=community, role=Membership.Role.LEADER)
    client.force_login(leader)
    client.cookies["django_language"] = "en"

    response = client.post(f"/m/lead/{community.slug}/members/", {"membership": other_leader.pk}, follow=True)

    assert "Only operators can remove a leader." in response.content.decode()
    other_leader.refresh_from_db()
    assert other_leader.status == "active"
