"""Heartbeat → watch-time arithmetic, online count, peak and per-minute samples."""

from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from livestream import watch
from livestream.models import LiveSession, ViewerSample, WatchRecord
from tests import factories


@pytest.fixture
def live_session():
    session = factories.live_session(status=LiveSession.Status.LIVE, starts_in=timedelta(minutes=-5))
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(*watch._keys(session.pk))
    yield session
    client.delete(*watch._keys(session.pk))


@pytest.mark.parametrize(
    ("gap", "credit"),
    [(0, 0), (-3, 0), (4.5, 4), (10, 10), (20, 20), (21, 20), (600, 20)],
    ids=["same-instant", "out-of-order", "short", "one-interval", "two-intervals", "just-over", "long-pause"],
)
def test_credit_is_the_gap_capped_at_two_intervals(gap, credit):
    assert watch.credit_for_gap(gap) == credit


@pytest.mark.django_db
def test_heartbeats_credit_watch_time_with_gaps_pauses_and_stragglers(live_session):
    member = factories.member()
    t0 = timezone.now().replace(microsecond=0)
    credits = [
        watch.heartbeat_record(session=live_session, user=member, now=t0 + timedelta(seconds=s))["credited"]
        for s in (0, 10, 20, 35, 300, 310, 305)
    ]
    # first 0; two on time; a late one (15 s); a pause of 265 s counts 20; on time; out of order counts 0
    assert credits == [0, 10, 10, 15, 20, 10, 0]
    record = WatchRecord.objects.get(session=live_session, user=member)
    assert record.seconds_watched == 65
    assert record.first_seen_at == t0
    assert record.last_seen_at == t0 + timedelta(seconds=310)


@pytest.mark.django_db
def test_online_count_peak_and_minute_samples(live_session):
    a, b, c = factories.member(), factories.member(), factories.member()
    t0 = timezone.now().replace(second=0, microsecond=0)
    watch.heartbeat_record(session=live_session, user=a, now=t0)
    watch.heartbeat_record(session=live_session, user=b, now=t0 + timedelta(seconds=2))
    result = watch.heartbeat_record(session=live_session, user=c, now=t0 + timedelta(seconds=4))
    assert (result["online"], result["peak"]) == (3, 3)
    # a minute later only a is still sending: b and c fell silent for more than two intervals
    later = watch.heartbeat_record(session=live_session, user=a, now=t0 + timedelta(seconds=64))
    assert (later["online"], later["peak"]) == (1, 3)

    samples = list(
        ViewerSample.objects.filter(session=live_session).order_by("minute").values_list("online", flat=True)
    )
    assert samples == [3, 1]
    live_session.refresh_from_db()
    assert live_session.peak_online == 3


@pytest.mark.django_db
def test_a_heartbeat_for_a_session_that_is_not_live_is_refused_and_credits_nothing():
    session = factories.live_session()
    member = factories.member()
    with pytest.raises(watch.NotLiveError):
        watch.heartbeat_record(session=session, user=member)
    assert WatchRecord.objects.count() == 0
    assert ViewerSample.objects.count() == 0


@pytest.mark.django_db
def test_analytics_hear_entered_once_and_at_most_one_heartbeat_per_minute(
    live_session, django_capture_on_commit_callbacks
):
    from analytics.models import Event

    member = factories.member()
    t0 = timezone.now().replace(second=0, microsecond=0)
    with django_capture_on_commit_callbacks(execute=True):
        for s in (0, 10, 20, 30, 40, 50, 60, 70, 125, 124):
            watch.heartbeat_record(session=live_session, user=member, now=t0 + timedelta(seconds=s))

    rows = list(Event.objects.filter(user=member).order_by("pk").values_list("name", "properties"))
    # entered at 0:00; the first beat of minute 1 (60 s credited) and of minute 2 (after a 55 s gap: 20 more)
    assert rows == [
        ("livestream.entered", {}),
        ("livestream.heartbeat", {"seconds_watched": 60}),
        ("livestream.heartbeat", {"seconds_watched": 90}),
    ]
