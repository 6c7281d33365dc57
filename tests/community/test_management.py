"""Operator community pages: member list with filters, member detail with referral tree, leave and remove."""

from datetime import timedelta

import pytest
from django.utils import timezone

from community import selectors, services
from community.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(client):
    client.cookies["django_language"] = "en"
    client.force_login(factories.operator())
    return client


def test_member_list_masks_phones_filters_and_warns_near_capacity(ops):
    community = factories.community(capacity=10)
    leader = factories.member(nickname="团长阿芳", phone="+8613900001234")
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    old = timezone.now() - timedelta(days=60)
    for n in range(8):
        factories.membership(
            user=factories.member(nickname=f"邻居{n:02d}"), community=community, invited_by=leader, last_active_at=old
        )
    factories.membership(user=factories.member(nickname="退群的人"), community=community, status="left")

    page = ops.get(f"/ops/communities/{community.slug}/").content.decode()
    by_phone = ops.get(f"/ops/communities/{community.slug}/?q=1234")
    leaders = ops.get(f"/ops/communities/{community.slug}/?role=leader")
    left = ops.get(f"/ops/communities/{community.slug}/?status=left")
    inactive = ops.get(f"/ops/communities/{community.slug}/?inactive_days=30")

    assert "Nearly full: 1 place left" in page
    assert "139****1234" in page
    assert "+8613900001234" not in page
    assert "退群的人" not in page
    assert [m.user.nickname for m in by_phone.context["page"].object_list] == ["团长阿芳"]
    assert [m.user.nickname for m in leaders.context["page"].object_list] == ["团长阿芳"]
    assert leaders.context["page"].object_list[0].referrals == 8
    assert [m.user.nickname for m in left.context["page"].object_list] == ["退群的人"]
    assert inactive.context["page"].paginator.count == 9  # 8 old + the leader never seen


def test_member_detail_shows_full_phone_and_referral_tree_to_operator(ops):
    community = factories.community()
    root = factories.member(phone="+8613900005678", nickname="根")
    root_m = factories.membership(user=root, community=community)
    child = factories.member(nickname="子")
    factories.membership(user=child, community=community, invited_by=root)
    factories.membership(user=factories.member(nickname="孙"), community=community, invited_by=child)

    response = ops.get(f"/ops/communities/{community.slug}/members/{root_m.pk}/")

    body = response.content.decode()
    assert "+8613900005678" in body
    assert "Referral tree (2 people)" in body
    assert [(n.membership.user.nickname, n.depth) for n in response.context["tree"]] == [("子", 1), ("孙", 2)]


def test_management_pages_are_for_operators_only(client):
    community = factories.community()
    m = factories.membership(user=factories.member(), community=community)
    leader = factories.member()
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    client.force_login(leader)

    assert client.get(f"/ops/communities/{community.slug}/").status_code == 403
    assert client.get(f"/ops/communities/{community.slug}/members/{m.pk}/").status_code == 403
    assert client.post(f"/ops/communities/{community.slug}/members/{m.pk}/", {"action": "remove"}).status_code == 403
    m.refresh_from_db()
    assert m.status == "active"


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


def test_overview_counts_pending_applications():
    community = factories.community()
    factories.membership(user=factories.member(), community=community)

    overview = selectors.community_overview(community=community)

    assert (overview["member_count"], overview["places_left"], overview["pending_applications"]) == (1, 499, 0)


def test_leader_sees_only_own_community_with_masked_phones_and_can_remove(client):
    community = factories.community()
    leader = factories.member()
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    m = factories.membership(user=factories.member(phone="+8613900004321", nickname="小李"), community=community)
    other = factories.community()
    client.force_login(leader)

    page = client.get(f"/m/lead/{community.slug}/members/")
    searched = client.get(f"/m/lead/{community.slug}/members/?q=小李")
    forbidden = client.get(f"/m/lead/{other.slug}/members/")
    client.post(f"/m/lead/{community.slug}/members/", {"membership": m.pk})

    body = page.content.decode()
    assert "139****4321" in body
    assert "+8613900004321" not in body
    assert [x.user.nickname for x in searched.context["page"].object_list] == ["小李"]
    assert forbidden.status_code == 403
    m.refresh_from_db()
    assert m.status == "removed"


def test_operator_edits_positioning_capacity_and_gate(ops):
    community = factories.community()
    factories.membership(user=factories.member(), community=community)
    factories.membership(user=factories.member(), community=community)
    url = f"/ops/communities/{community.slug}/"

    ops.post(url, {"positioning": "相信食物本源", "capacity": "480", "join_gate": "invitation"})
    community.refresh_from_db()
    saved = (community.positioning, community.capacity, community.join_gate)
    refused = ops.post(url, {"positioning": "x", "capacity": "1", "join_gate": "open"}, follow=True)
    no_questionnaire = ops.post(url, {"positioning": "x", "capacity": "480", "join_gate": "questionnaire"}, follow=True)

    assert saved == ("相信食物本源", 480, "invitation")
    assert "The capacity cannot be below the current number of members (2)." in refused.content.decode()
    assert "no questionnaire yet" in no_questionnaire.content.decode()
    community.refresh_from_db()
    assert (community.positioning, community.capacity, community.join_gate) == saved


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
