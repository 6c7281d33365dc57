"""Issue 11 item 5: going live tells the members who reserved at that moment, exactly once, whatever the
plan's clock said; the end closes the rounds that never went out."""

from datetime import timedelta

import pytest
from django.urls import reverse

from livestream import services, warmup
from livestream.models import LiveSession, Notification, Reservation, WarmupRound
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recording_sms")]


@pytest.fixture
def world():
    host = factories.host()
    community = factories.community()
    members = [factories.member() for _ in range(3)]
    for m in members:
        factories.membership(user=m, community=community)
    session = factories.live_session(hosts=[host], starts_in=timedelta(days=3))
    session.communities.set([community])
    return host, session, members


def _live_now_notices(user) -> int:
    return Notification.objects.filter(user=user, delivery__round__kind=WarmupRound.Kind.LIVE_NOW).count()


def test_going_live_early_tells_who_reserved_once_whatever_the_plan_said(
    client, world, django_capture_on_commit_callbacks
):
    host, session, (early, late, never) = world
    warmup.warmup_plan_apply_standard(session=session)
    Reservation.objects.create(session=session, user=early)
    client.force_login(host)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("livestream:host-go-live", args=[session.pk]))

    assert LiveSession.objects.get(pk=session.pk).status == LiveSession.Status.LIVE
    assert _live_now_notices(early) == 1
    assert _live_now_notices(never) == 0
    # the rounds announcing the start ahead of time are closed, unsent
    assert set(
        WarmupRound.objects.filter(session=session, status=WarmupRound.Status.CANCELLED).values_list("kind", flat=True)
    ) == {"teaser", "story", "reminder"}

    # the periodic task, at the time the plan had said (T-5min) and later, sends nothing more
    Reservation.objects.create(session=session, user=late)
    warmup.run_once(now=session.scheduled_start - timedelta(minutes=4))
    warmup.run_once(now=session.scheduled_start + timedelta(hours=1))
    assert _live_now_notices(early) == 1
    assert Notification.objects.filter(user=early).count() == 1

    # going live again is refused and tells no one again
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("livestream:host-go-live", args=[session.pk]))
    assert _live_now_notices(early) == 1


def test_going_live_without_a_plan_still_tells_who_reserved(world, django_capture_on_commit_callbacks):
    host, session, (reserved, _other, _third) = world
    Reservation.objects.create(session=session, user=reserved)

    with django_capture_on_commit_callbacks(execute=True):
        services.session_go_live(session=session, by=host)

    assert _live_now_notices(reserved) == 1
    assert Notification.objects.count() == 1
    notice = Notification.objects.get()
    assert notice.link == reverse("livestream:member-live", args=[session.pk])


def test_a_live_now_round_already_sent_is_not_repeated(world, django_capture_on_commit_callbacks):
    host, session, (reserved, _other, _third) = world
    warmup.warmup_plan_apply_standard(session=session)
    Reservation.objects.create(session=session, user=reserved)
    warmup.run_once(now=session.scheduled_start - timedelta(minutes=4))
    assert _live_now_notices(reserved) == 1

    with django_capture_on_commit_callbacks(execute=True):
        services.session_go_live(session=session, by=host)

    assert _live_now_notices(reserved) == 1


def test_ending_closes_the_rounds_that_never_went_out(world, django_capture_on_commit_callbacks):
    host, session, _members = world
    with django_capture_on_commit_callbacks(execute=True):
        services.session_go_live(session=session, by=host)
    late_round = WarmupRound.objects.create(
        session=session, kind="story", send_at=session.scheduled_start, title="迟到的故事"
    )

    services.session_end(session=session, by=host)

    late_round.refresh_from_db()
    assert late_round.status == WarmupRound.Status.CANCELLED
    assert not WarmupRound.objects.filter(session=session, status=WarmupRound.Status.PENDING).exists()
