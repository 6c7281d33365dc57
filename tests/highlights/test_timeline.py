"""The engagement timeline read from hand-made rows: each count lands in its second of the recording."""

from datetime import timedelta

import pytest

from highlights import timeline
from livestream.models import Comment, ViewerSample, WatchRecord
from media.models import Chapter
from tests import factories
from tests.highlights.scenario import ended_live, order_at

pytestmark = pytest.mark.django_db


def comment(live, seconds, *, kind=Comment.Kind.COMMENT, status=Comment.Status.VISIBLE):
    return Comment.objects.create(
        session=live.session,
        user=factories.member(),
        text="好新鲜",
        kind=kind,
        status=status,
        created_at=live.at(seconds),
    )


def test_counts_land_in_their_seconds(media_root, short_video):
    # Given a 12-second recording and rows in and around it
    live = ended_live(video=short_video, seconds=12)
    comment(live, 2.2)
    comment(live, 2.9)
    comment(live, 5.0, kind=Comment.Kind.QUESTION)
    comment(live, 6.0, status=Comment.Status.HIDDEN)  # spam hidden by the assistant: not engagement
    comment(live, -1.0)  # before the recording
    comment(live, 12.0)  # at its end: outside
    order_at(live, 7.5)
    order_at(live, 7.1)
    other = factories.campaign(title="别的接龙")
    order_at(live, 7.2, campaign=other)  # another session's campaign
    user = factories.member()
    WatchRecord.objects.create(
        session=live.session, user=user, first_seen_at=live.at(3.4), last_seen_at=live.at(11), seconds_watched=8
    )

    got = timeline.engagement(session=live.session, start=live.start, duration_s=12)

    assert got.duration_s == 12
    assert got.comments == [0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert got.questions == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert got.orders == [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]
    assert got.entries == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]


def test_the_session_campaign_counts_when_linked_only_by_the_session(media_root, short_video):
    live = ended_live(video=short_video, seconds=12)
    opened = factories.campaign(title="直播中发布的接龙")
    live.session.jielong_campaign_id = opened.pk
    live.session.save(update_fields=["jielong_campaign_id"])
    order_at(live, 4.0, campaign=opened)
    got = timeline.engagement(session=live.session, start=live.start, duration_s=12)
    assert got.orders[4] == 1


def test_online_count_interpolates_between_minute_samples(media_root, short_video):
    live = ended_live(video=short_video, seconds=12)
    minute = live.start.replace(second=0, microsecond=0)
    ViewerSample.objects.create(session=live.session, minute=minute, online=100)
    ViewerSample.objects.create(session=live.session, minute=minute + timedelta(minutes=1), online=160)
    got = timeline.engagement(session=live.session, start=minute, duration_s=90)
    assert got.online[0] == 100
    assert got.online[30] == 130  # half way: one more member a second
    assert got.online[60] == 160
    assert got.online[89] == 160  # after the last sample: flat


def test_chapters_and_the_launch_become_offsets_of_the_recording(media_root, live_video):
    live = ended_live(video=live_video, seconds=120)
    Chapter.objects.create(session=live.session, title="上海青", started_at=live.at(10), ended_at=live.at(40))
    Chapter.objects.create(session=live.session, title="土鸡蛋", started_at=live.at(-30), ended_at=live.at(5))
    Chapter.objects.create(session=live.session, title="番茄", started_at=live.at(100), ended_at=None)
    Chapter.objects.create(session=live.session, title="录制前", started_at=live.at(-60), ended_at=live.at(-50))
    live.session.jielong_opened_at = live.at(90)
    live.session.save(update_fields=["jielong_opened_at"])

    found = timeline.explanations(recording=live.recording, duration_s=120)
    assert [(e.label, e.start_s, e.end_s) for e in found] == [
        ("土鸡蛋", 0.0, 5.0),
        ("上海青", 10.0, 40.0),
        ("番茄", 100.0, 120.0),
    ]
    plan = timeline.recording_plan(live.recording)
    assert [(w.kind, w.start_s, w.end_s, w.label) for w in plan] == [
        ("product", 0.0, 5.0, "土鸡蛋"),
        ("product", 10.0, 40.0, "上海青"),
        ("launch", 75.0, 120.0, ""),
        ("product", 100.0, 120.0, "番茄"),
    ]
