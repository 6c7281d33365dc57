"""A new community from the console (issue 11 item 1): settings, leaders by phone, first pickup points."""

import pytest

from community import services
from community.models import Community, Invitation, Membership, PickupPoint, User
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/ops/communities/new/"


def _data(**fields):
    return services.CommunityInput(
        **{
            "name": "河畔社群",
            "slug": "riverside",
            "positioning": "好好吃饭",
            "capacity": 300,
            "join_gate": Community.JoinGate.OPEN,
            "leader_phones": ("13800138100",),
            "pickup_points": (services.PickupPointInput(name="河畔1栋", address="河畔路1号", capacity=120),),
            **fields,
        }
    )


def _counts():
    return (Community.objects.count(), Membership.objects.count(), PickupPoint.objects.count(), User.objects.count())


def test_operator_creates_a_community_with_a_leader_and_a_pickup_point():
    brand = factories.brand()
    known = factories.member(phone="+8613800138101", nickname="老王")

    created = services.community_create(
        by=factories.operator(),
        brand=brand,
        data=_data(
            leader_phones=("13800138100", "138 0013 8101", "13800138100"),
            pickup_points=(
                services.PickupPointInput(
                    name="河畔1栋", address="河畔路1号", capacity=120, leader_phone="13800138101"
                ),
                services.PickupPointInput(name="", address=""),
            ),
        ),
    )

    community = created.community
    assert (community.name, community.slug, community.positioning, community.capacity, community.join_gate) == (
        "河畔社群",
        "riverside",
        "好好吃饭",
        300,
        "open",
    )
    leaders = Membership.objects.filter(community=community).order_by("user__phone")
    assert [(m.user.phone, m.role, m.status) for m in leaders] == [
        ("+8613800138100", "leader", "active"),
        ("+8613800138101", "leader", "active"),
    ]
    assert leaders[1].user == known
    point = PickupPoint.objects.get(community=community)
    assert (point.name, point.address, point.capacity, point.leader) == ("河畔1栋", "河畔路1号", 120, known)
    assert Invitation.objects.filter(community=community, is_personal=True).count() == 2
    assert created.needs_questionnaire is False


def test_slug_is_derived_from_the_name_and_kept_unique():
    Community.objects.create(brand=factories.brand(), name="别的", slug="market")
    operator = factories.operator()

    first = services.community_create(
        by=operator, brand=factories.brand(), data=_data(name="Market", slug="", leader_phones=(), pickup_points=())
    )
    chinese = services.community_create(
        by=operator, brand=factories.brand(), data=_data(name="菜市场", slug="", leader_phones=(), pickup_points=())
    )

    assert first.community.slug == "market-2"
    assert chinese.community.slug == "community"


def test_questionnaire_gate_starts_invitation_only_until_the_questionnaire_exists():
    created = services.community_create(
        by=factories.operator(), brand=factories.brand(), data=_data(join_gate=Community.JoinGate.QUESTIONNAIRE)
    )

    assert created.needs_questionnaire is True
    assert created.community.join_gate == Community.JoinGate.INVITATION


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        pytest.param({"name": "  "}, "name", "name", id="empty-name"),
        pytest.param({"name": "老社群"}, "name", "name", id="duplicate-name"),
        pytest.param({"slug": "taken"}, "slug", "slug", id="duplicate-slug"),
        pytest.param({"slug": "Bad Slug!"}, "slug", "slug", id="bad-slug"),
        pytest.param({"capacity": 0}, "capacity", "capacity", id="zero-capacity"),
        pytest.param({"capacity": None}, "capacity", "capacity", id="no-capacity"),
        pytest.param({"join_gate": "secret"}, "join_gate", "gate", id="unknown-gate"),
        pytest.param({"name": "河\x00畔"}, "", "unstorable", id="nul-in-name"),
        pytest.param({"leader_phones": ("12345",)}, "leaders", "leader_phone", id="bad-leader-phone"),
        pytest.param({"leader_phones": ("+8613900000005",)}, "leaders", "leader_account", id="staff-leader"),
        pytest.param(
            {"pickup_points": (services.PickupPointInput(name="点", address=""),)}, "points", "point", id="no-address"
        ),
        pytest.param(
            {"pickup_points": (services.PickupPointInput(name="点", address="址", capacity=0),)},
            "points",
            "point",
            id="point-capacity",
        ),
        pytest.param(
            {"pickup_points": (services.PickupPointInput(name="点", address="址", leader_phone="13800000000"),)},
            "points",
            "point_leader",
            id="point-leader-not-a-leader",
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(fields, field, code):
    Community.objects.create(brand=factories.brand(), name="老社群", slug="taken")
    factories.operator(phone="+8613900000005")
    operator = factories.operator()
    before = _counts()

    with pytest.raises(services.CommunityInvalid if code != "unstorable" else Exception) as refused:
        services.community_create(by=operator, brand=factories.brand(), data=_data(**fields))

    assert refused.value.code == code
    assert getattr(refused.value, "field", "") == field
    assert _counts() == before


@pytest.mark.parametrize("who", ["member", "leader", "host", "assistant"])
def test_only_operators_create_communities(who):
    existing = factories.community()
    user = {"host": factories.host, "assistant": factories.assistant}.get(who, factories.member)()
    if who == "leader":
        factories.membership(user=user, community=existing, role=Membership.Role.LEADER)
    before = _counts()

    with pytest.raises(services.CommunityInvalid) as refused:
        services.community_create(by=user, brand=factories.brand(), data=_data())

    assert refused.value.code == "forbidden"
    assert _counts() == before


# --- the page ---


def _post(**fields):
    return {
        "name": "河畔社群",
        "slug": "",
        "positioning": "好好吃饭",
        "capacity": "300",
        "join_gate": "open",
        "leaders": "13800138100",
        "point_name_0": "河畔1栋",
        "point_address_0": "河畔路1号",
        "point_hours_0": "9:00-20:00",
        "point_capacity_0": "120",
        "point_leader_0": "13800138100",
        **fields,
    }


def test_page_creates_the_community_and_its_detail_page_works_at_once(ops):
    factories.brand()

    response = ops.post(URL, _post())

    community = Community.objects.get(name="河畔社群")
    assert response.status_code == 302
    assert response["Location"] == f"/ops/communities/{community.slug}/"
    detail = ops.get(response["Location"])
    assert detail.status_code == 200
    assert "河畔社群" in detail.content.decode()
    assert "河畔社群" in ops.get("/ops/communities/").content.decode()
    assert "河畔1栋" in ops.get(f"/ops/communities/{community.slug}/pickup-points/").content.decode()
    assert Membership.objects.get(community=community).role == Membership.Role.LEADER


def test_questionnaire_gate_leads_to_the_questionnaire_page(ops):
    factories.brand()

    response = ops.post(URL, _post(join_gate="questionnaire"))

    community = Community.objects.get()
    assert response["Location"] == f"/ops/communities/{community.slug}/questionnaire/"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"name": ""}, "This field is required.", id="empty-name"),
        pytest.param({"slug": "taken"}, "Another community already uses this web address.", id="duplicate-slug"),
        pytest.param({"capacity": "0"}, "The capacity must be at least 1.", id="zero-capacity"),
        pytest.param({"capacity": "-5"}, "The capacity must be at least 1.", id="negative-capacity"),
        pytest.param({"capacity": "abc"}, "The capacity must be at least 1.", id="text-capacity"),
        pytest.param({"name": "河\x00畔"}, "Null characters are not allowed.", id="nul"),
        pytest.param({"point_address_0": ""}, "Pickup point 1: Enter the pickup point", id="point-without-address"),
    ],
)
def test_page_refuses_bad_input_with_a_message_and_changes_nothing(ops, fields, message):
    Community.objects.create(brand=factories.brand(), name="老社群", slug="taken")
    before = _counts()

    response = ops.post(URL, _post(**fields))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert _counts() == before


def test_page_speaks_chinese_by_default(client):
    Community.objects.create(brand=factories.brand(), name="老社群", slug="taken")
    client.force_login(factories.operator())

    response = client.post(URL, _post(slug="taken"))

    assert "已有社群使用这个网址" in response.content.decode()


@pytest.mark.parametrize("who", ["member", "leader", "host"])
def test_page_is_for_operators_only(client, who):
    community = factories.community()
    user = factories.host() if who == "host" else factories.member()
    if who == "leader":
        factories.membership(user=user, community=community, role=Membership.Role.LEADER)
    client.force_login(user)
    before = _counts()

    response = client.post(URL, _post())

    assert response.status_code in (302, 403)
    assert _counts() == before
    assert client.get("/ops/communities/").status_code in (302, 403)
