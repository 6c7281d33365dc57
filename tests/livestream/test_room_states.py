"""Issue 11 item 5: the room before, during and after the live; the host panel after the end."""

from datetime import timedelta

import pytest
from django.urls import reverse

from groupbuy import clock
from jielong.models import Campaign
from livestream.models import LiveSession, Reservation, WarmupRound
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(client):
    client.cookies["django_language"] = "en"
    host = factories.host()
    community = factories.community()
    member = factories.member()
    factories.membership(user=member, community=community)
    session = factories.live_session(hosts=[host], starts_in=timedelta(days=2))
    session.communities.set([community])
    return host, member, session, community


def _room(client, session) -> str:
    return client.get(reverse("livestream:member-live", args=[session.pk])).content.decode()


def test_before_the_start_the_room_counts_down_shows_the_poster_and_copies_the_invite(client, world):
    _host, member, session, _community = world
    poster = WarmupRound.objects.create(
        session=session, kind="teaser", send_at=clock.now() + timedelta(hours=1), title="t", has_poster=True
    )
    client.force_login(member)

    page = _room(client, session)

    assert 'id="live-countdown"' in page
    assert f'data-starts-at="{int(session.scheduled_start.timestamp() * 1000)}"' in page
    assert reverse("livestream:member-poster", args=[poster.pk]) in page
    assert 'id="share-copy"' in page and "js/live_invite.js" in page
    assert reverse("livestream:member-reserve", args=[session.pk]) in page


def test_once_live_the_reservation_box_is_gone(client, world):
    _host, member, session, _community = world
    Reservation.objects.create(session=session, user=member)
    LiveSession.objects.filter(pk=session.pk).update(status="live", started_at=clock.now())
    client.force_login(member)

    page = _room(client, session)

    assert "Reserved — we will remind you before it starts" not in page
    assert reverse("livestream:member-unreserve", args=[session.pk]) not in page
    assert reverse("livestream:member-reserve", args=[session.pk]) not in page
    assert 'id="live-countdown"' not in page


@pytest.mark.parametrize("is_open", [True, False], ids=["campaign-open", "campaign-closed"])
def test_after_the_end_the_jielong_button_shows_only_while_the_campaign_is_open(client, world, is_open):
    _host, member, session, community = world
    campaign = factories.campaign(communities=[community], live_session=session)
    if is_open:
        Campaign.objects.filter(pk=campaign.pk).update(status="open", closes_at=clock.now() + timedelta(days=1))
    else:
        Campaign.objects.filter(pk=campaign.pk).update(status="completed", closes_at=clock.now() - timedelta(days=3))
    LiveSession.objects.filter(pk=session.pk).update(
        status="ended", jielong_campaign_id=campaign.pk, replay_url="https://example.com/replay"
    )
    client.force_login(member)

    page = _room(client, session)

    assert "https://example.com/replay" in page
    assert ("The jielong is open — join now" in page) is is_open


def test_after_the_end_the_panel_no_longer_says_real_time_and_marks_rounds_not_sent(client, world):
    host, _member, session, _community = world
    WarmupRound.objects.create(
        session=session, kind="reminder", send_at=session.scheduled_start, title="r", status="cancelled"
    )
    LiveSession.objects.filter(pk=session.pk).update(status="ended", ended_at=clock.now())
    client.force_login(host)

    page = client.get(reverse("livestream:host-panel", args=[session.pk])).content.decode()

    assert "real time" not in page and "Online now" not in page
    assert "Session metrics" in page and "Not sent" in page


def test_the_end_button_asks_first_and_stands_apart_from_publishing_the_jielong(client, world):
    host, _member, session, _community = world
    LiveSession.objects.filter(pk=session.pk).update(status="live", started_at=clock.now())
    client.force_login(host)

    page = client.get(reverse("livestream:host-panel", args=[session.pk])).content.decode()

    assert 'id="end-form"' in page and 'id="end-form" data-ask="End the live now?' in page  # page.js asks
    assert page.index('id="publish-jielong"') < page.index('class="live-end-zone"') < page.index('id="end-form"')


@pytest.mark.parametrize("route", ["livestream:host-cancel", "livestream:host-go-live", "livestream:host-end"])
def test_a_host_of_another_session_is_refused_and_nothing_changes(client, world, route):
    _host, _member, session, _community = world
    client.force_login(factories.host())

    response = client.post(reverse(route, args=[session.pk]))

    assert response.status_code == 403
    session.refresh_from_db()
    assert session.status == LiveSession.Status.SCHEDULED
    assert not WarmupRound.objects.filter(session=session).exists()
