"""Generation from a ready recording: clips land at the computed windows with durations within half a second,
thumbnails exist, and running it again (a redelivered task, the sweep) changes nothing."""

from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from groupbuy import events
from highlights import cutter, generation, subscribers, tasks
from highlights import events as highlights_events
from highlights.models import Clip, ClipPlan
from media import events as media_events
from media.models import Chapter, Recording
from tests.highlights.scenario import ended_live, order_at

pytestmark = pytest.mark.django_db


def busy_live(video):
    """Two minutes: 上海青 explained from 5 s to 35 s, an order rush at 60 s, the jielong opened at 100 s."""
    live = ended_live(video=video, seconds=120)
    Chapter.objects.create(session=live.session, title="上海青", started_at=live.at(5), ended_at=live.at(35))
    for second in (58, 59, 59, 60, 60, 60, 61, 61, 62):
        order_at(live, second + 0.5)
    live.session.jielong_opened_at = live.at(100)
    live.session.save(update_fields=["jielong_opened_at"])
    return live


def test_clips_land_at_the_computed_windows(media_root, live_video, django_capture_on_commit_callbacks):
    live = busy_live(live_video)
    heard = []
    events.subscribe(highlights_events.ClipsGenerated, heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            cut = generation.recording_clips_generate(recording_id=live.recording.pk, workers=2)
    finally:
        events.unsubscribe(highlights_events.ClipsGenerated, heard.append)

    clips = list(Clip.objects.filter(recording=live.recording).order_by("start_s"))
    assert [(c.kind, c.start_s, c.end_s, c.peak_s, c.title) for c in clips] == [
        ("product", 5.0, 35.0, clips[0].peak_s, "讲解·上海青"),
        ("peak", 40.0, 70.0, 60.0, "精彩时刻 01:00"),
        ("launch", 85.0, 120.0, 100.0, "发布接龙"),
    ]
    assert cut == 3
    assert heard == [
        highlights_events.ClipsGenerated(live_session_id=live.session.pk, recording_id=live.recording.pk, clips=3)
    ]
    for clip in clips:
        assert clip.render_state == Clip.RenderState.READY
        assert clip.status == Clip.Status.DRAFT
        video = Path(clip.video.path)
        assert abs(cutter.probe_duration(video) - clip.duration_s) <= 0.5
        with Image.open(clip.thumbnail.path) as picture:
            assert picture.format == "JPEG"


def test_generating_again_plans_and_cuts_nothing(media_root, live_video):
    live = busy_live(live_video)
    generation.recording_clips_generate(recording_id=live.recording.pk)
    files = sorted(p.name for p in Path(media_root, "highlights").rglob("*"))
    # More engagement arrives later (a late row): the plan is made once and stays
    order_at(live, 20.5)

    assert generation.recording_clips_generate(recording_id=live.recording.pk) == 0
    assert generation.sweep() == 0

    assert Clip.objects.filter(recording=live.recording).count() == 3
    assert ClipPlan.objects.get(recording=live.recording).clip_count == 3
    assert sorted(p.name for p in Path(media_root, "highlights").rglob("*")) == files


def test_a_recording_not_ready_gets_no_clips(media_root, short_video):
    live = ended_live(video=short_video, seconds=12, status=Recording.Status.PROCESSING)
    assert generation.recording_clips_plan(recording_id=live.recording.pk) == []
    assert not ClipPlan.objects.exists()


def test_the_sweep_plans_a_ready_recording_the_event_missed_and_recuts_lost_clips(media_root, live_video):
    live = busy_live(live_video)
    generation.recording_clips_plan(recording_id=live.recording.pk)  # planned, then the worker died
    fresh = Clip.objects.filter(recording=live.recording)
    assert set(fresh.values_list("render_state", flat=True)) == {Clip.RenderState.PENDING}
    assert generation.sweep() == 0  # just planned: its own task still has time
    fresh.update(render_requested_at=live.start)

    assert generation.sweep() == 1

    assert set(fresh.values_list("render_state", flat=True)) == {Clip.RenderState.READY}


def test_a_recording_without_its_file_fails_its_clips_with_a_reason(media_root, short_video):
    live = ended_live(video=short_video, seconds=12)
    Clip.objects.create(
        session=live.session, recording=live.recording, kind="peak", title="x", start_s=1, end_s=5, peak_s=2
    )
    Recording.objects.filter(pk=live.recording.pk).update(mp4="")
    generation.clips_cut(clips=list(Clip.objects.all()))
    clip = Clip.objects.get()
    assert (clip.render_state, clip.render_error) == (Clip.RenderState.FAILED, "录像没有视频文件。")


def test_recording_ready_queues_the_generation(monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.generate_clips, "delay", queued.append)
    subscribers.on_recording_ready(media_events.RecordingReady(live_session_id=1, recording_id=42))
    assert queued == [42]


def test_the_planned_windows_fit_the_recording_when_it_started_late(media_root, live_video):
    # The encoder connected 50 s into the chapter: the clip starts at the recording's first second.
    live = ended_live(video=live_video, seconds=120)
    Chapter.objects.create(
        session=live.session, title="土鸡蛋", started_at=live.start - timedelta(seconds=50), ended_at=live.at(20)
    )
    [clip] = generation.recording_clips_plan(recording_id=live.recording.pk)
    assert (clip.kind, clip.start_s, clip.end_s) == ("product", 0.0, 20.0)
