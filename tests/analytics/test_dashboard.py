"""The operator dashboard (/ops/) and the selector behind it, on a small hand-made data set."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics import selectors
from analytics.selectors import LastSessionFigures, OpsHeadline
from community.models import Community, Membership
from jielong.models import Campaign, Order
from livestream.models import LiveSession, Reservation, WatchRecord
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Two active communities and a closed one; members, sessions and campaigns in every state that matters."""
    now = timezone.now()
    sunny, river = factories.community(name="阳光花园"), factories.community(name="滨江苑")
    closed = factories.community(name="已解散的群", is_active=False)
    both, sunny_only = factories.member(nickname="两边都在"), factories.member(nickname="只在阳光")
    pending, closed_only = factories.member(nickname="待审核"), factories.member(nickname="只在解散群")
    gone = factories.member(nickname="已注销", is_active=False)
    factories.membership(user=both, community=sunny)
    factories.membership(user=both, community=river)
    factories.membership(user=sunny_only, community=sunny)
    factories.membership(user=pending, community=river, status=Membership.Status.PENDING)
    factories.membership(user=closed_only, community=closed)
    factories.membership(user=gone, community=sunny)

    sessions = {
        "live": factories.live_session(status=LiveSession.Status.LIVE, starts_in=timedelta(minutes=-5)),
        "tomorrow": factories.live_session(starts_in=timedelta(days=1)),
        "overran": factories.live_session(starts_in=timedelta(hours=-3)),  # scheduled, its end has passed
        "cancelled": factories.live_session(status=LiveSession.Status.CANCELLED, starts_in=timedelta(days=1)),
        "older": factories.live_session(
            status=LiveSession.Status.ENDED, starts_in=timedelta(days=-2), ended_at=now - timedelta(days=2)
        ),
        "last": factories.live_session(
            title="周五晚上的草莓专场",
            status=LiveSession.Status.ENDED,
            starts_in=timedelta(hours=-2),
            ended_at=now - timedelta(hours=1),
        ),
    }
    for status in Campaign.Status.values:
        factories.campaign(communities=[sunny], status=status, title=f"{status} 接龙")
    last_campaign = factories.campaign(
        communities=[sunny], status=Campaign.Status.COMPLETED, live_session=sessions["last"], title="草莓接龙"
    )
    older_campaign = factories.campaign(
        communities=[sunny], status=Campaign.Status.COMPLETED, live_session=sessions["older"], title="旧接龙"
    )
    orders = [
        (last_campaign, both, 1590, Order.Status.JOINED),
        (last_campaign, sunny_only, 3180, Order.Status.PICKED_UP),
        (last_campaign, pending, 990, Order.Status.CANCELLED),  # does not count
        (older_campaign, both, 5000, Order.Status.JOINED),  # another session's
    ]
    for seq, (campaign, user, total_fen, status) in enumerate(orders, start=1):
        Order.objects.create(
            campaign=campaign, user=user, community=sunny, seq=seq, total_fen=total_fen, status=status, created_at=now
        )
    for user in (both, sunny_only, pending):
        Reservation.objects.create(session=sessions["last"], user=user)
    Reservation.objects.create(session=sessions["older"], user=both)
    for user in (both, sunny_only):
        WatchRecord.objects.create(session=sessions["last"], user=user, first_seen_at=now, last_seen_at=now)
    return {"sessions": sessions, "communities": (sunny, river, closed)}


def test_the_headline_counts_only_what_is_active_upcoming_open_and_the_last_ended_session(world):
    headline = selectors.ops_headline()

    assert headline == OpsHeadline(
        communities=2,  # the closed community does not count
        active_members=2,  # once each; not pending, not only in a closed community, not a deactivated account
        upcoming_sessions=2,  # live now and tomorrow; not the overrun, cancelled or ended ones
        open_campaigns=2,  # open and formed
        last_session=LastSessionFigures(
            session=world["sessions"]["last"], reservations=3, viewers=2, joins=2, gmv_fen=1590 + 3180
        ),
    )


def test_with_no_ended_session_there_are_no_last_session_figures():
    factories.live_session(starts_in=timedelta(days=1))

    headline = selectors.ops_headline()

    assert (headline.upcoming_sessions, headline.last_session) == (1, None)


def test_the_dashboard_shows_the_figures(client, world):
    client.force_login(factories.operator())
    client.cookies["django_language"] = "en"

    response = client.get("/ops/")

    assert response.status_code == 200
    assert response.context["headline"] == selectors.ops_headline()
    page = response.content.decode()
    for label, value in [
        ("Communities", "2"),
        ("Active members", "2"),
        ("Upcoming sessions", "2"),
        ("Open campaigns", "2"),
        ("Reservations", "3"),
        ("Viewers", "2"),
        ("Jielong joins", "2"),
        ("GMV", "¥47.70"),
    ]:
        assert f'<span class="stat-label">{label}</span><span class="stat-value">{value}</span>' in page
    last = world["sessions"]["last"]
    assert f"{last.title} · {last.series.title} · ended {timezone.localtime(last.ended_at):%Y-%m-%d %H:%M}" in page


def test_the_dashboard_says_so_before_the_first_live_has_ended(client):
    Community.objects.all().delete()
    client.force_login(factories.operator())
    client.cookies["django_language"] = "en"

    page = client.get("/ops/").content.decode()

    assert "No session has ended yet. Figures appear here after the first live." in page
    assert '<span class="stat-label">Communities</span><span class="stat-value">0</span>' in page


@pytest.mark.parametrize("role", ["member", "host"])
def test_only_an_operator_sees_the_dashboard(client, world, role):
    client.force_login(getattr(factories, role)())

    response = client.get("/ops/")

    assert response.status_code == 403
    assert "Active members" not in response.content.decode()
