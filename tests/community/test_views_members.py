"""Member management pages (community.views): the operator's list and member page, the leader's list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from community.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db


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


def test_leader_cannot_unmask_a_phone_through_the_search(client):
    # Issue 10 item 6: the suffix match was an oracle. From 139****8192, "08192" found or not told the
    # fifth-last digit; eight searches recovered the whole number.
    community = factories.community()
    leader = factories.member()
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    factories.membership(user=factories.member(phone="+8613905208192", nickname="小王"), community=community)
    client.force_login(leader)

    def found(q):
        response = client.get(f"/m/lead/{community.slug}/members/", {"q": q})
        return [m.user.nickname for m in response.context["page"].object_list]

    national = "13905208192"
    attack = [national[-n:] for n in range(5, 12)] + ["+86" + national]  # the 8 searches of the report
    wrong_guesses = ["1" + national[-4:], "00" + national[-4:]]

    # A right guess and a wrong one answer alike: nothing to learn.
    assert [found(q) for q in attack] == [[]] * 8
    assert [found(q) for q in wrong_guesses] == [[], []]
    assert found("8192") == ["小王"]
    assert found("139****8192") == []  # the masked form has 7 digits: no phone match either


def test_operator_search_still_matches_longer_suffixes(ops):
    community = factories.community()
    factories.membership(user=factories.member(phone="+8613905208192", nickname="小王"), community=community)

    response = ops.get(f"/ops/communities/{community.slug}/", {"q": "05208192"})

    assert [m.user.nickname for m in response.context["page"].object_list] == ["小王"]
