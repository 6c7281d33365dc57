"""Warm-up delivery (livestream/warmup/delivery.py): expansion and delivery exactly once per recipient and
channel, workers killed at each step, rounds of sessions that are over."""

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import connection

from community.models import Invitation
from livestream import services, warmup
from livestream.models import Delivery, LiveSession, Notification, WarmupRound
from livestream.warmup import delivery as warmup_delivery
from tests.livestream.warmup_scenarios import (
    EXPECTED_INBOX,
    EXPECTED_LEADER_COPIES,
    EXPECTED_SMS,
    after_start,
    setup_plan,
)

pytestmark = pytest.mark.usefixtures("recording_sms")


@pytest.mark.django_db
def test_rounds_not_yet_due_are_not_sent():
    session, *_ = setup_plan()
    warmup.run_once(now=session.scheduled_start - timedelta(days=2, minutes=1))
    assert Delivery.objects.count() == 0
    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_due_rounds_reach_each_audience_once_per_channel(recording_sms):
    session, _host, leader, koc, (m1, m2, m3) = setup_plan()
    warmup.run_once(now=after_start(session))
    warmup.run_once(now=after_start(session) + timedelta(hours=1))

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
    session, *_ = setup_plan()
    monkeypatch.setattr(warmup_delivery, "ROUND_BATCH", 1)
    monkeypatch.setattr(warmup_delivery, "DELIVERY_BATCH", 2)
    now = after_start(session)
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
    session, *_ = setup_plan()
    now = after_start(session)

    def killed(row, *args):
        raise SystemExit("worker killed")

    original = warmup_delivery._send_sms
    monkeypatch.setattr(warmup_delivery, "_send_sms", killed)
    with pytest.raises(SystemExit):
        warmup.run_once(now=now)
    monkeypatch.setattr(warmup_delivery, "_send_sms", original)

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
    session, *_ = setup_plan()
    now = after_start(session)
    warmup.rounds_expand_due(now=now)
    original, calls = warmup_delivery._inbox_link, []

    def dies_on_third(delivery):
        calls.append(delivery.pk)
        if len(calls) == 3:
            raise SystemExit("worker killed")
        return original(delivery)

    monkeypatch.setattr(warmup_delivery, "_inbox_link", dies_on_third)
    with pytest.raises(SystemExit):
        warmup.deliveries_send(now=now)
    monkeypatch.setattr(warmup_delivery, "_inbox_link", original)
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
    session, *_ = setup_plan()
    now = after_start(session)

    def killed(row, *args):
        raise SystemExit("worker killed")

    original = warmup_delivery._mark_sent
    monkeypatch.setattr(warmup_delivery, "_mark_sent", killed)
    with pytest.raises(SystemExit):
        warmup.run_once(now=now)
    monkeypatch.setattr(warmup_delivery, "_mark_sent", original)
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
    session, *_ = setup_plan()
    settings.SMS_PROVIDER = "tests.sms_fakes.FailingSMSProvider"
    now = after_start(session)
    for i in range(warmup.MAX_ATTEMPTS + 1):
        warmup.run_once(now=now + timedelta(hours=i))
    assert Delivery.objects.filter(channel="sms", status="failed", attempts=warmup.MAX_ATTEMPTS).count() == EXPECTED_SMS
    assert Delivery.objects.filter(channel="inbox", status="sent").count() == EXPECTED_INBOX


@pytest.mark.django_db
def test_rounds_of_a_session_that_already_ended_are_dropped_not_sent(recording_sms):
    session, *_ = setup_plan()
    LiveSession.objects.filter(pk=session.pk).update(status=LiveSession.Status.ENDED)
    warmup.run_once(now=after_start(session))
    assert WarmupRound.objects.filter(session=session, status="cancelled").count() == 4
    assert Delivery.objects.count() == 0
    assert recording_sms == []


@pytest.mark.django_db
def test_deliveries_expanded_just_before_a_cancellation_are_skipped_but_the_notice_goes_out(
    recording_sms, django_capture_on_commit_callbacks
):
    session, host, _leader, _koc, (m1, m2, _m3) = setup_plan()
    warmup.rounds_expand_due(now=after_start(session))  # expanded, not yet sent
    with django_capture_on_commit_callbacks(execute=True):
        services.session_cancel(session=session, by=host)
    warmup.run_once(now=after_start(session))

    assert Delivery.objects.filter(round__kind="cancelled", status="sent").count() == 2
    assert Delivery.objects.exclude(round__kind="cancelled").exclude(status="skipped").count() == 0
    assert sorted(Notification.objects.values_list("user_id", flat=True)) == sorted([m1.pk, m2.pk])
    assert recording_sms == []


@pytest.mark.django_db
def test_the_teaser_to_whole_communities_puts_the_live_in_their_feeds_once():
    from community.models import FeedItem

    session, *_ = setup_plan()
    warmup.run_once(now=session.scheduled_start - timedelta(days=2) + timedelta(minutes=1))
    assert FeedItem.objects.filter(kind="live").count() == 1
    warmup.run_once(now=after_start(session))  # story (KOCs) and reminders (reserved) add nothing

    [entry] = FeedItem.objects.filter(kind="live")
    assert entry.source_key == f"livestream.session:{session.pk}"
    # the card's own time is when it was posted: its text says when the live is (issue 11)
    live_time = warmup.texts.when(session)
    assert (entry.title, entry.body, entry.url) == (
        session.title,
        f"开播时间：{live_time} · 前50单八折",
        f"/m/live/{session.pk}/",
    )
    assert entry.community_id == session.communities.get().pk


def _lease_runs(now, count):
    """``count`` task runs, each after the previous run's leases and retry delays have run out."""
    return [now + i * (warmup.LEASE + warmup_delivery.RETRY_AFTER * warmup.MAX_ATTEMPTS) for i in range(count)]


@pytest.mark.django_db
def test_a_provider_error_that_is_not_a_delivery_error_is_capped_then_failed_with_its_reason(settings):
    """Before: the exception escaped the run, the row stayed "sending" and was taken again after every
    lease, past MAX_ATTEMPTS, for ever; the other rows of the batch waited behind it."""
    session, *_ = setup_plan()
    settings.SMS_PROVIDER = "tests.sms_fakes.TimingOutSMSProvider"
    now = after_start(session)

    for at in _lease_runs(now, warmup.MAX_ATTEMPTS + 3):
        warmup.run_once(now=at)

    sms = Delivery.objects.filter(channel="sms")
    assert sms.count() == EXPECTED_SMS
    assert sms.filter(status="failed", attempts=warmup.MAX_ATTEMPTS).count() == EXPECTED_SMS
    assert set(sms.values_list("last_error", flat=True)) == {"TimeoutError: gateway timed out"}
    assert Delivery.objects.filter(channel="inbox", status="sent").count() == EXPECTED_INBOX


@pytest.mark.django_db
def test_a_row_whose_worker_dies_every_time_is_given_up_after_the_cap_and_stays_failed(monkeypatch, recording_sms):
    """Before: a row stuck in "sending" was claimed again after each lease with no attempt cap."""
    session, *_ = setup_plan()
    now = after_start(session)

    def killed(row, *args):
        raise SystemExit("worker killed")

    monkeypatch.setattr(warmup_delivery, "_send_sms", killed)
    runs = _lease_runs(now, warmup.MAX_ATTEMPTS + 3)
    for at in runs:
        with contextlib.suppress(SystemExit):
            warmup.run_once(now=at)

    sms = Delivery.objects.filter(channel="sms")
    assert sms.filter(status="failed", attempts=warmup.MAX_ATTEMPTS).count() == EXPECTED_SMS
    assert set(sms.values_list("last_error", flat=True)) == {
        f"gave up after {warmup.MAX_ATTEMPTS} attempts: the worker did not finish"
    }
    assert recording_sms == []

    # idempotent: later runs change nothing
    before = list(sms.order_by("pk").values_list("pk", "status", "attempts", "last_error", "lease_until"))
    warmup.run_once(now=runs[-1] + timedelta(days=1))
    assert list(sms.order_by("pk").values_list("pk", "status", "attempts", "last_error", "lease_until")) == before
