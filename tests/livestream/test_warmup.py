"""Warm-up plans: expansion and delivery exactly once per recipient and channel, kills, rescheduling."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from community.models import Invitation, Membership
from livestream import services, warmup
from livestream.models import Delivery, LiveSession, Notification, Reservation, WarmupRound
from tests import factories
from tests.livestream import fakes

SMS = "tests.livestream.fakes.RecordingSMSProvider"


@pytest.fixture(autouse=True)
def recording_sms(settings):
    settings.SMS_PROVIDER = SMS
    fakes.sent.clear()
    yield fakes.sent
    fakes.sent.clear()


def _setup():
    """One community: a leader, a KOC and three members, two of whom reserved; the standard plan."""
    host = factories.host()
    community = factories.community()
    leader, koc, m1, m2, m3 = (factories.member() for _ in range(5))
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    factories.membership(user=koc, community=community, role=Membership.Role.KOC)
    for m in (m1, m2, m3):
        factories.membership(user=m, community=community)
    session = factories.live_session(hosts=[host], starts_in=timedelta(days=3), perk_summary="前50单八折")
    session.communities.set([community])
    Reservation.objects.create(session=session, user=m1)
    Reservation.objects.create(session=session, user=m2)
    services.warmup_plan_apply_standard(session=session, by=host)
    return session, host, leader, koc, (m1, m2, m3)


# 5 members × teaser, 1 KOC × story, 2 reserved × reminder and live-now, plus leader copies on 3 rounds.
EXPECTED_INBOX = 5 + 1 + 2 + 2
EXPECTED_LEADER_COPIES = 3
EXPECTED_SMS = 2 + 2


def _after_start(session):
    return session.scheduled_start + timedelta(minutes=1)


@pytest.mark.django_db
def test_standard_plan_has_four_rounds_before_the_start_and_applying_twice_adds_none():
    session, host, *_ = _setup()
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
def test_rounds_not_yet_due_are_not_sent():
    session, *_ = _setup()
    warmup.run_once(now=session.scheduled_start - timedelta(days=2, minutes=1))
    assert Delivery.objects.count() == 0
    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_due_rounds_reach_each_audience_once_per_channel(recording_sms):
    session, _host, leader, koc, (m1, m2, m3) = _setup()
    warmup.run_once(now=_after_start(session))
    warmup.run_once(now=_after_start(session) + timedelta(hours=1))

    assert Delivery.objects.filter(channel="inbox").count() == EXPECTED_INBOX
    assert Delivery.objects.filter(channel="leader_copy", user=leader).count() == EXPECTED_LEADER_COPIES
    assert Delivery.objects.exclude(status="sent").count() == 0
    assert Notification.objects.count() == EXPECTED_INBOX + EXPECTED_LEADER_COPIES
    assert Notification.objects.filter(user=m3).count() == 1  # teaser only: m3 did not reserve
    assert Notification.objects.filter(user=koc).count() == 2  # teaser and story
    assert sorted(p for p, _ in recording_sms) == sorted([m1.phone, m1.phone, m2.phone, m2.phone])
    copy = Delivery.objects.get(channel="leader_copy", round__kind="teaser")
    assert (
        f"?ref={Invitation.objects.get(inviter=leader, is_personal=True).code}" in copy.text
    )  # the leader's personal invitation code
    assert "前50单八折" in copy.text


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_deliver_each_round_once_per_recipient(monkeypatch, recording_sms):
    session, *_ = _setup()
    monkeypatch.setattr(warmup, "ROUND_BATCH", 1)
    monkeypatch.setattr(warmup, "DELIVERY_BATCH", 2)
    now = _after_start(session)
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            barrier.wait()
            for _ in range(3):
                warmup.run_once(now=now)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert WarmupRound.objects.filter(session=session, status="expanded").count() == 4
    assert Delivery.objects.count() == EXPECTED_INBOX + EXPECTED_LEADER_COPIES + EXPECTED_SMS
    assert Delivery.objects.filter(status="sent", attempts=1).count() == Delivery.objects.count()
    assert Notification.objects.count() == EXPECTED_INBOX + EXPECTED_LEADER_COPIES
    assert len(recording_sms) == EXPECTED_SMS
    assert len(set(recording_sms)) == EXPECTED_SMS  # two rounds × two members, no repeats


@pytest.mark.django_db
def test_killed_after_claiming_sms_before_sending_loses_nothing_and_repeats_nothing(monkeypatch, recording_sms):
    session, *_ = _setup()
    now = _after_start(session)

    def killed(row, *args):
        raise SystemExit("worker killed")

    original = warmup._send_sms
    monkeypatch.setattr(warmup, "_send_sms", killed)
    with pytest.raises(SystemExit):
        warmup.run_once(now=now)
    monkeypatch.setattr(warmup, "_send_sms", original)

    assert Delivery.objects.filter(channel="sms", status="sending").exists()
    warmup.run_once(now=now)  # the lease has not run out: nobody takes the claimed rows
    warmup.run_once(now=now + warmup.LEASE + timedelta(seconds=1))
    warmup.run_once(now=now + 2 * warmup.LEASE + timedelta(seconds=2))

    assert len(recording_sms) == EXPECTED_SMS
    assert len(set(recording_sms)) == EXPECTED_SMS
    assert Delivery.objects.exclude(status="sent").count() == 0
    assert Notification.objects.count() == EXPECTED_INBOX + EXPECTED_LEADER_COPIES


@pytest.mark.django_db
def test_killed_inside_the_inbox_claim_loses_nothing_and_repeats_nothing(monkeypatch):
    session, *_ = _setup()
    now = _after_start(session)
    warmup.rounds_expand_due(now=now)
    original, calls = warmup._inbox_link, []

    def dies_on_third(delivery):
        calls.append(delivery.pk)
        if len(calls) == 3:
            raise SystemExit("worker killed")
        return original(delivery)

    monkeypatch.setattr(warmup, "_inbox_link", dies_on_third)
    with pytest.raises(SystemExit):
        warmup.deliveries_send(now=now)
    monkeypatch.setattr(warmup, "_inbox_link", original)
    assert Notification.objects.count() == 0  # the claiming transaction rolled back whole
    assert Delivery.objects.filter(status="sent").count() == 0

    warmup.deliveries_send(now=now)
    warmup.deliveries_send(now=now + warmup.LEASE + timedelta(seconds=1))

    assert Notification.objects.count() == EXPECTED_INBOX + EXPECTED_LEADER_COPIES
    assert Delivery.objects.filter(channel__in=["inbox", "leader_copy"], status="sent", attempts=1).count() == (
        EXPECTED_INBOX + EXPECTED_LEADER_COPIES
    )


@pytest.mark.django_db
def test_killed_after_the_provider_accepted_an_sms_before_marking_it_sent(monkeypatch, recording_sms):
    """The documented limit: SMS is at-least-once in the one-UPDATE window after the provider accepted."""
    session, *_ = _setup()
    now = _after_start(session)

    def killed(row, *args):
        raise SystemExit("worker killed")

    original = warmup._mark_sent
    monkeypatch.setattr(warmup, "_mark_sent", killed)
    with pytest.raises(SystemExit):
        warmup.run_once(now=now)
    monkeypatch.setattr(warmup, "_mark_sent", original)
    assert len(recording_sms) == 1

    warmup.run_once(now=now + warmup.LEASE + timedelta(seconds=1))
    warmup.run_once(now=now + 2 * warmup.LEASE + timedelta(seconds=2))

    # Nothing is lost; the one text in flight when the worker died went out twice; every other once.
    assert len(recording_sms) == EXPECTED_SMS + 1
    assert len(set(recording_sms)) == EXPECTED_SMS
    assert Delivery.objects.exclude(status="sent").count() == 0
    # A row marked sent is never sent again, however often the task runs.
    warmup.run_once(now=now + timedelta(days=1))
    assert len(recording_sms) == EXPECTED_SMS + 1


@pytest.mark.django_db
def test_a_failing_provider_is_retried_later_then_given_up(monkeypatch, settings):
    session, *_ = _setup()
    settings.SMS_PROVIDER = "tests.livestream.fakes.FailingSMSProvider"
    now = _after_start(session)
    for i in range(warmup.MAX_ATTEMPTS + 1):
        warmup.run_once(now=now + timedelta(hours=i))
    assert Delivery.objects.filter(channel="sms", status="failed", attempts=warmup.MAX_ATTEMPTS).count() == EXPECTED_SMS
    assert Delivery.objects.filter(channel="inbox", status="sent").count() == EXPECTED_INBOX


@pytest.mark.django_db
def test_rescheduling_moves_pending_rounds_and_leaves_sent_ones(recording_sms):
    session, host, *_ = _setup()
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
    session, host, *_ = _setup()
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
    session, host, _leader, _koc, (m1, m2, _m3) = _setup()
    with django_capture_on_commit_callbacks(execute=True):
        services.session_cancel(session=session, by=host)
    warmup.run_once(now=_after_start(session))

    assert sorted(Notification.objects.values_list("user_id", flat=True)) == sorted([m1.pk, m2.pk])
    assert Notification.objects.filter(title__contains=session.title).count() == 2
    assert WarmupRound.objects.filter(session=session, status="cancelled").count() == 4
    assert LiveSession.objects.get(pk=session.pk).status == "cancelled"


@pytest.mark.django_db
def test_a_host_of_another_session_cannot_cancel_it():
    session, _host, *_ = _setup()
    with pytest.raises(services.SessionPermissionError):
        services.session_cancel(session=session, by=factories.host())
    assert LiveSession.objects.get(pk=session.pk).status == "scheduled"
    assert WarmupRound.objects.filter(session=session, status="pending").count() == 4


@pytest.mark.django_db
def test_rounds_of_a_session_that_already_ended_are_dropped_not_sent(recording_sms):
    session, *_ = _setup()
    LiveSession.objects.filter(pk=session.pk).update(status=LiveSession.Status.ENDED)
    warmup.run_once(now=_after_start(session))
    assert WarmupRound.objects.filter(session=session, status="cancelled").count() == 4
    assert Delivery.objects.count() == 0
    assert recording_sms == []


@pytest.mark.django_db
def test_deliveries_expanded_just_before_a_cancellation_are_skipped_but_the_notice_goes_out(
    recording_sms, django_capture_on_commit_callbacks
):
    session, host, _leader, _koc, (m1, m2, _m3) = _setup()
    warmup.rounds_expand_due(now=_after_start(session))  # expanded, not yet sent
    with django_capture_on_commit_callbacks(execute=True):
        services.session_cancel(session=session, by=host)
    warmup.run_once(now=_after_start(session))

    assert Delivery.objects.filter(round__kind="cancelled", status="sent").count() == 2
    assert Delivery.objects.exclude(round__kind="cancelled").exclude(status="skipped").count() == 0
    assert sorted(Notification.objects.values_list("user_id", flat=True)) == sorted([m1.pk, m2.pk])
    assert recording_sms == []


@pytest.mark.django_db
def test_the_teaser_to_whole_communities_puts_the_live_in_their_feeds_once():
    from community.models import FeedItem

    session, *_ = _setup()
    warmup.run_once(now=session.scheduled_start - timedelta(days=2) + timedelta(minutes=1))
    assert FeedItem.objects.filter(kind="live").count() == 1
    warmup.run_once(now=_after_start(session))  # story (KOCs) and reminders (reserved) add nothing

    [entry] = FeedItem.objects.filter(kind="live")
    assert entry.source_key == f"livestream.session:{session.pk}"
    assert (entry.title, entry.body, entry.url) == (session.title, "前50单八折", f"/m/live/{session.pk}/")
    assert entry.community_id == session.communities.get().pk
