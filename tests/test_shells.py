"""The three UI shells: every page × every role, the host panel's seat check, go live / end."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from community.models import Membership
from groupbuy.web.templatetags.money import fen
from livestream.models import LiveSession, Reservation
from tests import factories

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "member", "host", "assistant", "operator"]
STAFF_LOGIN = "/accounts/login/"
MEMBER_LOGIN = "/m/login/"


@pytest.fixture
def world():
    """A session hosted by ``host`` and assisted by ``assistant``, aimed at the member's community."""
    community = factories.community(name="阳光花园邻里群")
    people = {
        "member": factories.member(nickname="王阿姨"),
        "host": factories.host(nickname="老李"),
        "assistant": factories.assistant(nickname="小周"),
        "operator": factories.operator(nickname="运营小林"),
    }
    factories.membership(user=people["member"], community=community)
    session = factories.live_session(hosts=[people["host"]])
    session.assistants.set([people["assistant"]])
    session.communities.set([community])
    campaign = factories.campaign(communities=[community], live_session=session, group_threshold=50)
    return {"community": community, "session": session, "campaign": campaign, **people}


def client_for(client, world, role):
    if role != "anonymous":
        client.force_login(world[role])
    return client


# (url name, shell, roles that may open it)
PAGES = [
    ("analytics:ops-dashboard", "staff", {"operator"}),
    ("community:ops-communities", "staff", {"operator"}),
    ("livestream:ops-sessions", "staff", {"operator"}),
    ("jielong:ops-campaigns", "staff", {"operator"}),
    ("community:member-home", "member", {"member"}),
    ("community:member-profile", "member", {"member"}),
    ("livestream:host-sessions", "staff", {"host", "assistant", "operator"}),
    ("livestream:host-panel", "staff", {"host", "assistant", "operator"}),
]


def page_url(name, world):
    if name == "livestream:host-panel":
        return reverse(name, args=[world["session"].pk])
    return reverse(name)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "login_kind", "allowed"), PAGES, ids=[p[0] for p in PAGES])
def test_page_access_by_role(client, world, name, login_kind, allowed, role):
    url = page_url(name, world)

    response = client_for(client, world, role).get(url)

    if role == "anonymous":
        login_url = MEMBER_LOGIN if login_kind == "member" else STAFF_LOGIN
        assert response.status_code == 302
        assert response["Location"] == f"{login_url}?next={url}"
    elif role in allowed:
        assert response.status_code == 200
        assert response["Content-Type"] == "text/html; charset=utf-8"
        assert b'<meta charset="utf-8">' in response.content
        assert b'name="viewport"' in response.content
    else:
        assert response.status_code == 403
        assert "这个页面".encode() in response.content or "不能打开".encode() in response.content


@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/m/login/"])
def test_public_pages_render_for_anonymous(client, url):
    response = client.get(url)

    assert response.status_code == 200
    assert b'<meta charset="utf-8">' in response.content


@pytest.mark.parametrize(
    ("role", "target"),
    [
        ("operator", "/ops/"),
        ("host", "/host/"),
        ("assistant", "/host/"),
        ("member", "/m/"),
    ],
)
def test_home_sends_each_role_to_its_shell(client, world, role, target):
    response = client_for(client, world, role).get("/")

    assert response.status_code == 302
    assert response["Location"] == target


def test_unknown_page_shows_friendly_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "找不到这个页面" in response.content.decode()


def test_staff_sign_in_with_password(client, world, password):
    response = client.post(STAFF_LOGIN, {"username": world["operator"].username, "password": password})

    assert response.status_code == 302
    assert client.get("/ops/").status_code == 200


def test_staff_sign_in_refuses_wrong_password(client, world):
    response = client.post(STAFF_LOGIN, {"username": world["operator"].username, "password": "nope"})

    assert response.status_code == 200
    assert client.get("/ops/").status_code == 302


def test_sign_out_ends_the_session(client, world):
    client.force_login(world["member"])

    response = client.post(reverse("web:logout"))

    assert response.status_code == 302
    assert client.get("/m/").status_code == 302


# --- host panel -------------------------------------------------------------------------------


def test_host_of_another_session_is_refused(client, world):
    other_host = factories.host()
    client.force_login(other_host)

    assert client.get(reverse("livestream:host-panel", args=[world["session"].pk])).status_code == 403
    assert client.post(reverse("livestream:host-go-live", args=[world["session"].pk])).status_code == 403
    world["session"].refresh_from_db()
    assert world["session"].status == LiveSession.Status.SCHEDULED


def test_host_sessions_lists_only_own_sessions(client, world):
    factories.live_session(title="别人的直播", hosts=[factories.host()])
    client.force_login(world["host"])

    content = client.get(reverse("livestream:host-sessions")).content.decode()

    assert world["session"].title in content
    assert "别人的直播" not in content


def test_operator_sees_every_session_in_host_list(client, world):
    factories.live_session(title="别人的直播", hosts=[factories.host()])
    client.force_login(world["operator"])

    content = client.get(reverse("livestream:host-sessions")).content.decode()

    assert world["session"].title in content
    assert "别人的直播" in content


def test_missing_session_is_404(client, world):
    client.force_login(world["host"])

    assert client.get(reverse("livestream:host-panel", args=[999999])).status_code == 404


@pytest.mark.parametrize("role", ["host", "operator"])
def test_go_live_then_end(client, world, role, django_capture_on_commit_callbacks):
    client_for(client, world, role)
    session = world["session"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("livestream:host-go-live", args=[session.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("livestream:host-panel", args=[session.pk])
    session.refresh_from_db()
    assert session.status == LiveSession.Status.LIVE
    assert session.started_at is not None
    assert "结束直播" in client.get(response["Location"]).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("livestream:host-end", args=[session.pk]))
    session.refresh_from_db()
    assert session.status == LiveSession.Status.ENDED
    assert session.ended_at is not None


def test_refused_action_shows_message_and_changes_nothing(client, world):
    client.force_login(world["host"])
    session = world["session"]

    response = client.post(reverse("livestream:host-end", args=[session.pk]), follow=True)

    assert response.status_code == 200
    assert "只有直播中的场次才能结束。" in response.content.decode()
    session.refresh_from_db()
    assert session.status == LiveSession.Status.SCHEDULED
    assert session.ended_at is None


def test_going_live_twice_is_refused_with_message(client, world):
    client.force_login(world["host"])
    session = world["session"]
    client.post(reverse("livestream:host-go-live", args=[session.pk]), follow=True)
    started_at = LiveSession.objects.get(pk=session.pk).started_at

    response = client.post(reverse("livestream:host-go-live", args=[session.pk]))

    assert [str(m) for m in get_messages(response.wsgi_request)] == ["只有待开播的场次才能开播。"]
    session.refresh_from_db()
    assert session.status == LiveSession.Status.LIVE
    assert session.started_at == started_at


def test_assistant_sees_panel_but_may_not_go_live(client, world):
    client.force_login(world["assistant"])
    session = world["session"]

    content = client.get(reverse("livestream:host-panel", args=[session.pk])).content.decode()
    response = client.post(reverse("livestream:host-go-live", args=[session.pk]))

    # No go-live button (the stream card's guide may still name the host's 开始直播 in its text).
    assert reverse("livestream:host-go-live", args=[session.pk]) not in content
    assert "推流密钥" not in content  # the stream key is the host's
    assert response.status_code == 403
    session.refresh_from_db()
    assert session.status == LiveSession.Status.SCHEDULED


def test_control_endpoints_refuse_get(client, world):
    client.force_login(world["host"])

    assert client.get(reverse("livestream:host-go-live", args=[world["session"].pk])).status_code == 405


def test_panel_shows_metrics(client, world):
    Reservation.objects.create(session=world["session"], user=world["member"])
    client.force_login(world["host"])

    response = client.get(reverse("livestream:host-panel", args=[world["session"].pk]))

    assert response.context["metrics"] == {"reservations": 1, "viewers": 0}


# --- operator dashboard -----------------------------------------------------------------------


def test_dashboard_headline_figures(client, world):
    other = factories.community()
    factories.membership(user=factories.member(), community=other)
    factories.membership(user=factories.member(), community=other, status=Membership.Status.PENDING)
    client.force_login(world["operator"])

    headline = client.get("/ops/").context["headline"]

    assert headline.communities == 2
    assert headline.active_members == 2
    assert headline.upcoming_sessions == 1
    assert headline.open_campaigns == 0
    assert headline.last_session is None


def test_dashboard_last_session_figures(client, world):
    session = world["session"]
    session.status = LiveSession.Status.ENDED
    session.ended_at = timezone.now() - timedelta(hours=1)
    session.save()
    Reservation.objects.create(session=session, user=world["member"])
    client.force_login(world["operator"])

    response = client.get("/ops/")

    last = response.context["headline"].last_session
    assert (last.session, last.reservations, last.viewers, last.joins, last.gmv_fen) == (session, 1, 0, 0, 0)
    assert "¥0.00" in response.content.decode()


def test_community_list_warns_near_capacity(client, world):
    full = factories.community(name="快满的群", capacity=3)
    for _ in range(3):
        factories.membership(user=factories.member(), community=full)
    client.force_login(world["operator"])

    response = client.get(reverse("community:ops-communities"))

    rows = {c.name: c for c in response.context["communities"]}
    assert rows["快满的群"].member_count == 3
    assert rows["快满的群"].is_near_capacity is True
    assert rows["阳光花园邻里群"].member_count == 1
    assert rows["阳光花园邻里群"].is_near_capacity is False
    assert "即将满员" in response.content.decode()


def test_campaign_list_shows_progress(client, world):
    client.force_login(world["operator"])

    content = client.get(reverse("jielong:ops-campaigns")).content.decode()

    assert world["campaign"].title in content
    assert "0 / 50" in content


# --- member pages -----------------------------------------------------------------------------


def test_member_home_shows_communities_lives_and_open_jielongs(client, world):
    campaign = world["campaign"]
    campaign.status = campaign.Status.OPEN
    campaign.joined_count = 12
    campaign.save()
    client.force_login(world["member"])

    content = client.get("/m/").content.decode()

    assert "阳光花园邻里群" in content
    assert world["session"].title in content
    assert "预约直播" in content
    assert "已接龙 12 人，还差 38 人成团" in content


def test_member_home_hides_other_communities_content(client, world):
    stranger = factories.member()
    client.force_login(stranger)

    content = client.get("/m/").content.decode()

    assert world["session"].title not in content
    assert "您还没有加入社群" in content


def test_member_reserves_a_session(client, world, django_capture_on_commit_callbacks):
    client.force_login(world["member"])
    session = world["session"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("livestream:member-reserve", args=[session.pk]))

    assert response.status_code == 302
    assert Reservation.objects.filter(session=session, user=world["member"]).count() == 1
    assert "已预约" in client.get("/m/").content.decode()


def test_member_cannot_reserve_session_outside_their_communities(client, world):
    stranger = factories.member()
    client.force_login(stranger)

    response = client.post(reverse("livestream:member-reserve", args=[world["session"].pk]))

    assert response.status_code == 404
    assert not Reservation.objects.exists()


def test_member_profile_shows_own_phone_in_full(client, world):
    member = world["member"]
    client.force_login(member)

    content = client.get("/m/me/").content.decode()

    assert member.phone in content
    assert "阳光花园邻里群" in content


def test_member_updates_nickname(client, world):
    client.force_login(world["member"])

    client.post("/m/me/", {"nickname": "  王老师 "})

    world["member"].refresh_from_db()
    assert world["member"].nickname == "王老师"


def test_member_blank_nickname_refused(client, world):
    client.force_login(world["member"])

    response = client.post("/m/me/", {"nickname": "  "}, follow=True)

    assert "请输入昵称。" in response.content.decode()
    world["member"].refresh_from_db()
    assert world["member"].nickname == "王阿姨"


def test_phones_are_masked_on_staff_pages(client, world):
    session = world["session"]
    nameless = factories.member(nickname="")
    nameless.nickname = ""
    nameless.save()
    session.assistants.add(nameless)
    client.force_login(world["operator"])

    content = client.get(reverse("livestream:host-panel", args=[session.pk])).content.decode()

    assert nameless.phone not in content
    assert nameless.phone[3:] not in content
    assert nameless.masked_phone in content


# --- template helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1280, "¥12.80"), (0, "¥0.00"), (5, "¥0.05"), (1234567, "¥12,345.67"), (-990, "-¥9.90"), (None, "")],
    ids=["yuan-and-fen", "zero", "fen-only", "thousands", "refund", "none"],
)
def test_fen_filter(value, shown):
    assert fen(value) == shown
