"""The demo's highlights step (demo/highlights.py): nothing without a recording; with the past live's
recording, its clips are cut and 老李讲上海青 is published on the past jielong's page and sent with the next
session's story round; a second run changes nothing."""

from datetime import timedelta

import pytest

from demo.highlights import SHOWCASE_TITLE, seed_highlights
from groupbuy import clock
from highlights.models import Clip
from livestream.models import WarmupRound
from media.models import Chapter
from tests import factories
from tests.highlights.scenario import ended_live

pytestmark = pytest.mark.django_db


def test_the_past_live_gets_its_clips_and_the_showcase_is_published(media_root, short_video):
    live = ended_live(video=short_video, seconds=12)
    upcoming = factories.live_session(starts_in=timedelta(days=2), title="老李的第二场")
    story = WarmupRound.objects.create(
        session=upcoming, kind=WarmupRound.Kind.STORY, send_at=clock.now() + timedelta(days=1), title="剧透"
    )
    Chapter.objects.create(session=live.session, title="有机上海青", started_at=live.at(2), ended_at=live.at(9))

    summary = seed_highlights(past=live.session, upcoming=upcoming, campaign=live.campaign, operator=live.operator)
    again = seed_highlights(past=live.session, upcoming=upcoming, campaign=live.campaign, operator=live.operator)

    showcase = Clip.objects.get(title=SHOWCASE_TITLE)
    assert (showcase.kind, showcase.start_s, showcase.end_s) == ("product", 2.0, 9.0)
    assert (showcase.status, showcase.campaign_id, showcase.warmup_round_id) == (
        Clip.Status.PUBLISHED,
        live.campaign.pk,
        story.pk,
    )
    assert showcase.published_at == live.recording.ready_at + timedelta(minutes=10)
    story.refresh_from_db()
    assert story.teaser_video_url == f"/m/clips/{showcase.pk}/"
    assert summary == again == "1 clip(s) of the past live (1 cut), “老李讲上海青” on the jielong page"


def test_without_a_recording_nothing_happens(media_root, short_video):
    live = ended_live(video=short_video, seconds=12)
    live.recording.delete()
    upcoming = factories.live_session(starts_in=timedelta(days=2))
    assert seed_highlights(past=live.session, upcoming=upcoming, campaign=live.campaign, operator=live.operator) == ""
    assert not Clip.objects.exists()
