"""Pickup points (自提点): operators manage them; a member picks a default in their community."""

import pytest

from community import services
from community.models import Membership, PickupPoint
from tests import factories

pytestmark = pytest.mark.django_db


def test_operator_adds_and_edits_a_pickup_point_with_a_leader(client):
    community = factories.community()
    leader = factories.member(nickname="阿芳")
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    client.force_login(factories.operator())
    url = f"/ops/communities/{community.slug}/pickup-points/"
    data = {"name": "3栋门卫室", "address": "阳光花园3栋", "opening_hours": "9:00-20:00", "capacity": "150"}

    client.post(url, {**data, "leader": leader.pk, "is_active": "on"})
    point = PickupPoint.objects.get()
    client.post(url, {**data, "point": point.pk, "capacity": "80"})

    point.refresh_from_db()
    assert (point.name, point.capacity, point.leader, point.is_active) == ("3栋门卫室", 80, None, False)
    assert "3栋门卫室" in client.get(url).content.decode()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        pytest.param({"name": ""}, "missing", id="no-name"),
        pytest.param({"capacity": 0}, "capacity", id="zero-capacity"),
        pytest.param({"name": "老点"}, "duplicate", id="duplicate-name"),
    ],
)
def test_bad_pickup_point_refused_and_nothing_changes(fields, code):
    community = factories.community()
    factories.pickup_point(community=community, name="老点")
    before = list(PickupPoint.objects.values_list("pk", "name", "capacity"))
    args = {"name": "新点", "address": "1栋", "capacity": 100, **fields}

    with pytest.raises(services.PickupPointInvalid) as refused:
        services.pickup_point_save(by=factories.operator(), community=community, **args)

    assert refused.value.code == code
    assert list(PickupPoint.objects.values_list("pk", "name", "capacity")) == before


def test_leader_of_another_community_or_member_cannot_be_in_charge():
    community = factories.community()
    outsider = factories.member()
    factories.membership(user=outsider, community=factories.community(), role=Membership.Role.LEADER)

    with pytest.raises(services.PickupPointInvalid) as refused:
        services.pickup_point_save(
            by=factories.operator(), community=community, name="点", address="址", leader=outsider
        )
    with pytest.raises(services.PickupPointInvalid):
        services.pickup_point_save(by=outsider, community=community, name="点", address="址")

    assert refused.value.code == "leader"
    assert not PickupPoint.objects.exists()


def test_member_chooses_default_pickup_point_from_profile(client):
    community = factories.community()
    point = factories.pickup_point(community=community, name="北门驿站")
    closed = factories.pickup_point(community=community, name="已关闭", is_active=False)
    foreign = factories.pickup_point(community=factories.community())
    user = factories.member()
    membership = factories.membership(user=user, community=community)
    client.force_login(user)

    profile = client.get("/m/me/").content.decode()
    client.post(f"/m/pickup/{community.slug}/", {"point": point.pk})
    membership.refresh_from_db()
    chosen = membership.default_pickup_point
    client.post(f"/m/pickup/{community.slug}/", {"point": foreign.pk})
    client.post(f"/m/pickup/{community.slug}/", {"point": closed.pk})

    assert "北门驿站" in profile
    assert "已关闭" not in profile
    assert chosen == point
    membership.refresh_from_db()
    assert membership.default_pickup_point == point
