"""Input the database cannot store or that is not a number (issue 10 item 15): NUL in any text field and
``point=²`` (which passes ``str.isdigit()`` and fails ``int()``) were 500s. Now each is refused with a
clear message, or names nothing (404 / no choice), and nothing changes."""

import pytest

from community.inputs import parse_id
from community.models import Column, Community, Membership, PickupPoint, Questionnaire, User
from groupbuy.errors import DomainError
from tests import factories

pytestmark = pytest.mark.django_db

NUL_MESSAGE = "The text contains characters that cannot be saved (such as a NUL character). Remove them and try again."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("12", 12, id="plain"),
        pytest.param(" 7 ", 7, id="spaces"),
        pytest.param("²", None, id="superscript-two"),
        pytest.param("١٢", None, id="arabic-indic-digits"),
        pytest.param("1_000", None, id="underscore"),
        pytest.param("-3", None, id="negative"),
        pytest.param("9" * 19, None, id="beyond-bigint"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_parse_id(raw, expected):
    assert parse_id(raw) == expected


@pytest.fixture
def member_client(client):
    client.cookies["django_language"] = "en"
    user = factories.member(nickname="原来的名字")
    client.force_login(user)
    client.user = user
    return client


def test_nickname_with_nul_is_refused_with_a_message(member_client):
    response = member_client.post("/m/me/", {"nickname": "小\x00王"}, follow=True)

    assert response.status_code == 200
    assert NUL_MESSAGE in response.content.decode()
    member_client.user.refresh_from_db()
    assert member_client.user.nickname == "原来的名字"


def test_nickname_with_a_lone_surrogate_is_refused(member_client):
    from community import services

    with pytest.raises(DomainError) as refused:
        services.member_profile_update(user=member_client.user, nickname="小\ud800王")

    assert refused.value.code == "unstorable"
    member_client.user.refresh_from_db()
    assert member_client.user.nickname == "原来的名字"


@pytest.mark.parametrize("raw", ["²", "١", "99999999999999999999", "x"])
def test_a_pickup_point_that_is_not_a_number_chooses_none(member_client, raw):
    community = factories.community()
    point = factories.pickup_point(community=community)
    membership = factories.membership(user=member_client.user, community=community, default_pickup_point=point)

    response = member_client.post(f"/m/pickup/{community.slug}/", {"point": raw})

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.default_pickup_point is None  # names no point: the default is cleared, as for ""


def test_operator_pages_refuse_nul_and_odd_numbers(ops):
    community = factories.community(capacity=300, positioning="原来的定位")
    base = f"/ops/communities/{community.slug}"

    settings_page = ops.post(
        f"{base}/", {"positioning": "新\x00定位", "capacity": "²", "join_gate": "open"}, follow=True
    )
    point_page = ops.post(
        f"{base}/pickup-points/",
        {"name": "门卫\x00室", "address": "3栋", "capacity": "²", "leader": "²", "is_active": "on"},
        follow=True,
    )
    odd_point = ops.post(f"{base}/pickup-points/", {"point": "²", "name": "x", "address": "y"})

    assert NUL_MESSAGE in settings_page.content.decode()
    assert NUL_MESSAGE in point_page.content.decode()
    assert odd_point.status_code == 404
    community.refresh_from_db()
    assert (community.positioning, community.capacity) == ("原来的定位", 300)
    assert not PickupPoint.objects.exists()


def test_leader_pages_answer_404_for_ids_that_are_not_numbers(client):
    community = factories.community()
    leader = factories.member()
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    client.force_login(leader)

    removed = client.post(f"/m/lead/{community.slug}/members/", {"membership": "²"})
    reviewed = client.post(f"/m/lead/{community.slug}/applications/", {"application": "²", "decision": "approve"})
    new_post = client.get(f"/m/lead/{community.slug}/rhythm/posts/new/?column=²")

    assert (removed.status_code, reviewed.status_code, new_post.status_code) == (404, 404, 200)


def test_column_and_questionnaire_with_nul_are_refused(client):
    community = factories.community()
    leader = factories.member()
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    client.force_login(leader)
    client.cookies["django_language"] = "en"

    column = client.post(
        f"/m/lead/{community.slug}/rhythm/columns/",
        {"name": "周一\x00农场日", "weekdays": ["1", "²"], "time_of_day": "09:30", "is_active": "on"},
        follow=True,
    )
    questionnaire = client.post(
        f"/m/lead/{community.slug}/questionnaire/",
        {"intro": "欢迎\x00", "threshold": "²", "q-0-text": "为什么？", "q-0-kind": "text", "q-0-position": "1"},
    )

    assert NUL_MESSAGE in column.content.decode()
    assert questionnaire.status_code == 400
    assert NUL_MESSAGE in questionnaire.content.decode()
    assert not Column.objects.exists()
    assert not Questionnaire.objects.filter(community=community, questions__isnull=False).exists()


def test_joining_with_nul_in_an_answer_or_the_code_is_refused(member_client):
    community = factories.community(join_gate=Community.JoinGate.INVITATION)

    response = member_client.post(f"/m/join/{community.slug}/", {"code": "AB\x00CD"}, follow=True)

    linked = member_client.get(f"/m/join/{community.slug}/", {"ref": "AB\x00CD"})

    assert response.status_code == 200
    assert NUL_MESSAGE in response.content.decode()
    assert linked.status_code == 200
    assert not Membership.objects.filter(community=community).exists()
    assert User.objects.count() == 1
