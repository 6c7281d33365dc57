"""The demo's highlights (精彩片段, issue 15 item 5): the past live's clips, one of them on the jielong page.

Told through the highlights services, after the media demo made the past session's recording:

- a few minutes after the recording was ready the worker planned and cut its clips (engagement peaks, one
  per product explanation, the jielong launch) — here, at once, with the same code;
- ten minutes later 林峰 renamed the first product clip "老李讲上海青", published it, put it on the past
  jielong's page ("看回放·老李讲上海青") and sent it with the next session's story round (剧透短视频).

Without a ready recording of the past session (the media demo not run, or ffmpeg missing) it does nothing.
Idempotent: the clips are planned once per recording; renaming, publishing and attaching again change
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from community.models import User
from groupbuy import clock
from highlights import generation, services
from highlights.models import Clip
from jielong.models import Campaign
from livestream.models import LiveSession, WarmupRound
from media.models import Recording

SHOWCASE_TITLE = "老李讲上海青"
REVIEWED_AFTER = timedelta(minutes=10)


@contextmanager
def _as_of(when: datetime) -> Iterator[None]:
    real = clock.now
    clock.now = lambda: when
    try:
        yield
    finally:
        clock.now = real


def seed_highlights(*, past: LiveSession, upcoming: LiveSession, campaign: Campaign, operator: User) -> str:
    """Clips of the past session's recording, the showcase one published and attached; returns a summary."""
    recording = (
        Recording.objects.filter(session=past, status=Recording.Status.READY).exclude(mp4="").order_by("pk").first()
    )
    if recording is None:
        return ""
    ready_at = recording.ready_at or recording.ended_at or clock.now()
    with _as_of(ready_at + timedelta(minutes=2)):
        generation.recording_clips_generate(recording_id=recording.pk)
    clips = list(Clip.objects.filter(recording=recording).order_by("start_s", "pk"))
    showcase = next(
        (c for c in clips if c.kind == Clip.Kind.PRODUCT and c.render_state == Clip.RenderState.READY), None
    ) or next((c for c in clips if c.render_state == Clip.RenderState.READY), None)
    if showcase is not None:
        with _as_of(ready_at + REVIEWED_AFTER):
            services.clip_rename(by=operator, clip_id=showcase.pk, title=SHOWCASE_TITLE)
            services.clip_publish(by=operator, clip_id=showcase.pk)
            services.clip_attach_campaign(by=operator, clip_id=showcase.pk, campaign_id=campaign.pk)
            story = (
                WarmupRound.objects.filter(
                    session=upcoming, kind=WarmupRound.Kind.STORY, status=WarmupRound.Status.PENDING
                )
                .order_by("send_at", "pk")
                .first()
            )
            # Only while it may still carry it: not yet sent, its session still to come, no other teaser in it.
            if (
                story is not None
                and story.teaser_video_url in ("", services.clip_link(showcase))
                and services.attachable_rounds(showcase).filter(pk=story.pk).exists()
            ):
                services.clip_attach_warmup(by=operator, clip_id=showcase.pk, round_id=story.pk)
    ready = sum(1 for c in Clip.objects.filter(recording=recording) if c.render_state == Clip.RenderState.READY)
    return f"{len(clips)} clip(s) of the past live ({ready} cut), “{SHOWCASE_TITLE}” on the jielong page"
