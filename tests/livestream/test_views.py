"""Member reservation and live room, inbox and poster; host warm-up, reschedule and cancel routes."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from community.models import Invitation
from livestream import warmup
from livestream.models import LiveSession, Notification, Reservation, WarmupRound
from tests import factories


@pytest.fixture
def setup(client):
    client.cookies["django_language"] = "en"
    host = factories.host()
    community = factories.community()
    member = factories.member()
    factories.membership(user=member, community=community)
    session = factories.live_session(hosts=[host], starts_in=timedelta(days=3))
    session.communities.set([community])
    return host, member, session


@pytest.mark.django_db
def test_member_reserves_sees_the_count_and_cancels(client, setup):
    _host, member, session = setup
    client.force_login(member)

    response = client.post(reverse("livestream:member-reserve", args=[session.pk]), {"next": "room"}, follow=True)
    assert Reservation.objects.filter(session=session, user=member).count() == 1
    assert response.redirect_chain[-1][0] == reverse("livestream:member-live", args=[session.pk])
    assert '<span id="reservation-count">1</span>' in response.content.decode()
    assert "Cancel reservation" in response.content.decode()
    assert (
        f"/m/live/{session.pk}/?ref={Invitation.objects.get(inviter=member, is_personal=True).code}"
        in response.content.decode()
    )  # the member's referral link

    home = client.get(reverse("community:member-home")).content.decode()
    assert "1 reserved" in home

    client.post(reverse("livestream:member-unreserve", args=[session.pk]))
    assert Reservation.objects.filter(session=session).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("status", [LiveSession.Status.CANCELLED, LiveSession.Status.ENDED])
def test_reserving_a_cancelled_or_ended_session_is_refused_and_changes_nothing(client, setup, status):
    _host, member, session = setup
    LiveSession.objects.filter(pk=session.pk).update(status=status)
    client.force_login(member)

    response = client.post(reverse("livestream:member-reserve", args=[session.pk]), {"next": "room"}, follow=True)

    assert "This session can no longer be reserved." in response.content.decode()
    assert Reservation.objects.count() == 0


@pytest.mark.django_db
def test_live_room_sends_heartbeats_to_an_endpoint_that_credits_watch_time(client, setup):
    _host, member, session = setup
    LiveSession.objects.filter(pk=session.pk).update(status="live", hls_url="https://example.com/live.m3u8")
    client.force_login(member)

    page = client.get(reverse("livestream:member-live", args=[session.pk])).content.decode()
    assert "vendor/hls.min.js" in page and "js/live.js" in page
    assert 'data-heartbeat-seconds="10"' in page

    first = client.post(reverse("livestream:member-heartbeat", args=[session.pk])).json()
    assert first["credited"] == 0 and first["online"] >= 1


@pytest.mark.django_db
def test_heartbeat_for_a_session_that_is_not_live_is_refused(client, setup):
    _host, member, session = setup
    client.force_login(member)
    response = client.post(reverse("livestream:member-heartbeat", args=[session.pk]))
    assert response.status_code == 409
    assert response.json()["status"] == "scheduled"


@pytest.mark.django_db
def test_a_member_outside_the_target_communities_cannot_open_the_room(client, setup):
    _host, _member, session = setup
    client.force_login(factories.member())
    assert client.get(reverse("livestream:member-live", args=[session.pk])).status_code == 404
    assert client.post(reverse("livestream:member-reserve", args=[session.pk])).status_code == 404


@pytest.mark.django_db
def test_host_adds_the_standard_plan_and_the_panel_shows_rounds_and_leader_copies(client, setup, settings):
    settings.SMS_PROVIDER = "tests.livestream.fakes.RecordingSMSProvider"
    host, _member, session = setup
    leader = factories.member()
    factories.membership(user=leader, community=session.communities.get(), role="leader")
    client.force_login(host)

    client.post(reverse("livestream:host-warmup-standard", args=[session.pk]))
    assert WarmupRound.objects.filter(session=session).count() == 4
    warmup.run_once(now=session.scheduled_start - timedelta(days=2) + timedelta(seconds=1))

    page = client.get(reverse("livestream:host-panel", args=[session.pk])).content.decode()
    assert "Warm-up plan" in page
    assert "Teaser poster" in page
    assert (
        f"?ref={Invitation.objects.get(inviter=leader, is_personal=True).code}" in page
    )  # the leader's copy carries their referral code


@pytest.mark.django_db
def test_member_inbox_lists_messages_and_the_poster_renders(client, setup, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    host, member, session = setup
    client.force_login(host)
    client.post(reverse("livestream:host-warmup-standard", args=[session.pk]))
    warmup.run_once(now=session.scheduled_start - timedelta(days=2) + timedelta(seconds=1))

    client.force_login(member)
    inbox = client.get(reverse("livestream:member-inbox")).content.decode()
    teaser = WarmupRound.objects.get(session=session, kind="teaser")
    assert teaser.title in inbox
    assert Notification.objects.filter(user=member, read_at__isnull=False).count() == 0  # a GET writes nothing
    shown = Notification.objects.get(user=member)
    assert f'data-up-to="{shown.pk}"' in inbox
    client.post(reverse("livestream:member-inbox-read"), {"up_to": shown.pk})  # the page's script
    assert Notification.objects.filter(user=member, read_at__isnull=False).count() == 1

    poster = client.get(reverse("livestream:member-poster", args=[teaser.pk]))
    assert poster.status_code == 200
    assert poster["Content-Type"] == "image/png"


@pytest.mark.django_db
def test_marking_the_inbox_read_leaves_messages_newer_than_the_page_unread(client, setup):
    _host, member, _session = setup
    shown = Notification.objects.create(user=member, title="shown")
    newer = Notification.objects.create(user=member, title="arrived after the page")
    client.force_login(member)

    response = client.post(reverse("livestream:member-inbox-read"), {"up_to": shown.pk}, HTTP_ACCEPT="application/json")

    assert response.json() == {"ok": True, "marked": 1}
    shown.refresh_from_db()
    newer.refresh_from_db()
    assert shown.read_at is not None
    assert newer.read_at is None


@pytest.mark.django_db
def test_the_inbox_is_not_marked_read_by_a_get(client, setup):
    _host, member, _session = setup
    Notification.objects.create(user=member, title="hello")
    client.force_login(member)

    assert client.get(reverse("livestream:member-inbox-read")).status_code == 405
    client.get(reverse("livestream:member-inbox"))

    assert Notification.objects.filter(user=member, read_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_a_host_acting_on_another_hosts_session_is_refused(client, setup):
    _host, _member, session = setup
    start = session.scheduled_start
    client.force_login(factories.host())
    new = (timezone.localtime(start) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    for name, data in [("host-warmup-standard", {}), ("host-reschedule", {"starts_at": new}), ("host-cancel", {})]:
        assert client.post(reverse(f"livestream:{name}", args=[session.pk]), data).status_code == 403
    session.refresh_from_db()
    assert (session.status, session.scheduled_start) == ("scheduled", start)
    assert WarmupRound.objects.count() == 0


@pytest.mark.django_db
def test_host_reschedules_and_a_past_time_is_refused(client, setup):
    host, _member, session = setup
    client.force_login(host)
    start = session.scheduled_start
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("livestream:host-reschedule", args=[session.pk]), {"starts_at": past}, follow=True)
    assert "The new start must be in the future." in response.content.decode()
    session.refresh_from_db()
    assert session.scheduled_start == start

    new = (timezone.localtime(start) + timedelta(days=1)).replace(second=0, microsecond=0)
    client.post(reverse("livestream:host-reschedule", args=[session.pk]), {"starts_at": new.strftime("%Y-%m-%dT%H:%M")})
    session.refresh_from_db()
    assert session.scheduled_start == new


@pytest.mark.django_db
def test_ops_sessions_page_shows_the_demo_past_session_summary(client):
    from django.db.models import Avg

    from demo import story as demo
    from livestream.models import WatchRecord
    from livestream.templatetags.live import watch_time

    demo.seed_demo()
    past = LiveSession.objects.get(title=demo.PAST_SESSION_TITLE)
    average = WatchRecord.objects.filter(session=past).aggregate(avg=Avg("seconds_watched"))["avg"]
    client.cookies["django_language"] = "en"
    client.force_login(factories.operator())

    page = client.get(reverse("livestream:ops-sessions")).content.decode()

    assert '<td class="num">270</td>' in page
    assert f'<td class="num">{watch_time(average)}</td>' in page
    assert average > 45 * 60
    panel = client.get(reverse("livestream:host-panel", args=[past.pk])).content.decode()
    assert "Session summary" in panel and ">270<" in panel
    assert watch_time(average) in panel  # the same figure as the operator's list


@pytest.mark.django_db
def test_the_demo_upcoming_session_has_a_warm_up_plan_and_reseeding_keeps_it():
    from demo import story as demo

    demo.seed_demo()
    upcoming = LiveSession.objects.get(status="scheduled")
    kinds = sorted(WarmupRound.objects.filter(session=upcoming).values_list("kind", flat=True))
    assert kinds == ["live_now", "reminder", "story", "teaser"]
    demo.seed_demo()
    assert WarmupRound.objects.filter(session=upcoming).count() == 4
    assert LiveSession.objects.get(title=demo.PAST_SESSION_TITLE).peak_online > 0
