"""Warm-up plans (livestream/warmup/plans.py): the standard plan, rescheduling and cancelling."""

from datetime import timedelta

import pytest
from django.utils import timezone

from livestream import services, warmup
from livestream.models import LiveSession, Notification, WarmupRound
from tests import factories
from tests.livestream.warmup_scenarios import after_start, setup_plan

pytestmark = pytest.mark.usefixtures("recording_sms")


@pytest.mark.django_db
def test_standard_plan_has_four_rounds_before_the_start_and_applying_twice_adds_none():
    session, host, *_ = setup_plan()
    services.warmup_plan_apply_standard(session=session, by=host)

    rounds = list(WarmupRound.objects.filter(session=session).order_by("send_at"))
    assert [(r.kind, session.scheduled_start - r.send_at) for r in rounds] == [
        ("teaser", timedelta(days=2)),
        ("story", timedelta(days=1)),
        ("reminder", timedelta(hours=1)),
        ("live_now", timedelta(minutes=5)),
    ]
    assert [r.audience for r in rounds] == ["communities", "kocs", "reserved", "reserved"]
    assert all(r.status == "pending" for r in rounds)


@pytest.mark.django_db
def test_rescheduling_moves_pending_rounds_and_leaves_sent_ones(recording_sms):
    session, host, *_ = setup_plan()
    teaser_at = session.scheduled_start - timedelta(days=2)
    warmup.run_once(now=teaser_at + timedelta(seconds=1))
    before = {r.kind: r.send_at for r in WarmupRound.objects.filter(session=session)}
    sent_before = Notification.objects.count()

    new_start = session.scheduled_start + timedelta(days=1, hours=2)
    services.session_reschedule(session=session, by=host, starts_at=new_start)

    after = {r.kind: r.send_at for r in WarmupRound.objects.filter(session=session)}
    shift = timedelta(days=1, hours=2)
    assert after == {
        "teaser": before["teaser"],
        "story": before["story"] + shift,
        "reminder": before["reminder"] + shift,
        "live_now": before["live_now"] + shift,
    }
    session.refresh_from_db()
    assert session.scheduled_start == new_start
    warmup.run_once(now=teaser_at + timedelta(days=1, seconds=1))  # the old D-1 time: nothing due now
    assert Notification.objects.count() == sent_before == 5 + 1


@pytest.mark.django_db
def test_reschedule_into_the_past_or_by_another_host_is_refused_and_changes_nothing():
    session, host, *_ = setup_plan()
    other = factories.host()
    before = list(WarmupRound.objects.filter(session=session).values_list("send_at", flat=True))
    start = session.scheduled_start

    with pytest.raises(services.ScheduleError):
        services.session_reschedule(session=session, by=host, starts_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(services.SessionPermissionError):
        services.session_reschedule(session=session, by=other, starts_at=start + timedelta(days=1))

    session.refresh_from_db()
    assert session.scheduled_start == start
    assert list(WarmupRound.objects.filter(session=session).values_list("send_at", flat=True)) == before


@pytest.mark.django_db
def test_cancelling_tells_members_who_reserved_once_and_stops_the_plan(django_capture_on_commit_callbacks):
    session, host, _leader, _koc, (m1, m2, _m3) = setup_plan()
    with django_capture_on_commit_callbacks(execute=True):
        services.session_cancel(session=session, by=host)
    warmup.run_once(now=after_start(session))

    assert sorted(Notification.objects.values_list("user_id", flat=True)) == sorted([m1.pk, m2.pk])
    assert Notification.objects.filter(title__contains=session.title).count() == 2
    assert WarmupRound.objects.filter(session=session, status="cancelled").count() == 4
    assert LiveSession.objects.get(pk=session.pk).status == "cancelled"


@pytest.mark.django_db
def test_a_host_of_another_session_cannot_cancel_it():
    session, _host, *_ = setup_plan()
    with pytest.raises(services.SessionPermissionError):
        services.session_cancel(session=session, by=factories.host())
    assert LiveSession.objects.get(pk=session.pk).status == "scheduled"
    assert WarmupRound.objects.filter(session=session, status="pending").count() == 4
