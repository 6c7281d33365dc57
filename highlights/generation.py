"""Making a recording's clips: plan them once (rows), then cut the files (ffmpeg), both safe to run again.

``recording_clips_generate`` is what the worker runs when a recording becomes ready (``media.recording_ready``)
and what the periodic sweep runs for any ready recording it finds unplanned or with clips still to cut.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from groupbuy import clock, events
from media.models import Recording

from . import cutter, timeline
from . import events as highlights_events
from .models import Clip, ClipPlan
from .peaks import Kind, Window

logger = logging.getLogger(__name__)

CLIP_DIR = "highlights"
# The sweep cuts a clip still waiting this long after it was asked for (its own task died or was lost).
SWEEP_GRACE = timedelta(minutes=10)


def _clock_label(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def default_title(window: Window) -> str:
    """What a fresh clip is called until the operator renames it (in the site's language)."""
    with translation.override(settings.LANGUAGE_CODE):
        if window.kind == Kind.PRODUCT:
            return (_("Explaining %(product)s") % {"product": window.label or "—"})[:60]
        if window.kind == Kind.LAUNCH:
            return _("Jielong launch")
        return _("Highlight at %(time)s") % {"time": _clock_label(window.peak_s)}


def recording_clips_plan(*, recording_id: int) -> list[Clip]:
    """Plan the clips of a ready recording, once: a second call (a redelivered task, the sweep) plans nothing."""
    recording = Recording.objects.select_related("session").filter(pk=recording_id).first()
    if recording is None or recording.status != Recording.Status.READY or not recording.duration_seconds:
        return []
    if ClipPlan.objects.filter(recording_id=recording_id).exists():
        return []
    windows = timeline.recording_plan(recording)
    now = clock.now()
    try:
        with transaction.atomic():
            ClipPlan.objects.create(recording=recording, planned_at=now, clip_count=len(windows))
            clips = Clip.objects.bulk_create(
                Clip(
                    session_id=recording.session_id,
                    recording=recording,
                    kind=window.kind,
                    title=default_title(window),
                    start_s=round(window.start_s, 3),
                    end_s=round(window.end_s, 3),
                    peak_s=round(window.peak_s, 3),
                    score=window.score,
                    created_at=now,
                    render_requested_at=now,
                )
                for window in windows
            )
            events.publish(
                highlights_events.ClipsGenerated(
                    live_session_id=recording.session_id, recording_id=recording.pk, clips=len(clips)
                )
            )
    except IntegrityError:
        return []  # planned by someone else just now
    return clips


def clip_paths(clip: Clip) -> tuple[str, str]:
    """Storage names of a clip's video and thumbnail; they carry the window, so a trim gets new files."""
    stem = f"{CLIP_DIR}/{clip.session_id}/clip-{clip.pk}-{round(clip.start_s * 1000)}-{round(clip.end_s * 1000)}"
    return f"{stem}.mp4", f"{stem}-{round(clip.peak_s * 1000)}.jpg"


def _media_path(name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / name


def clips_cut(*, clips: list[Clip], workers: int | None = None) -> int:
    """Cut the files of ``clips`` (all of one recording, or a few), in parallel; returns how many are ready.

    A clip trimmed while it was being cut keeps its new window: its row is updated only if the window is
    still the one that was cut (the trim's own task cuts the new one).
    """
    by_recording: dict[int, list[Clip]] = {}
    for clip in clips:
        by_recording.setdefault(clip.recording_id, []).append(clip)
    ready = 0
    for recording_id, group in by_recording.items():
        recording = Recording.objects.filter(pk=recording_id).first()
        if recording is None or not recording.mp4 or recording.status != Recording.Status.READY:
            Clip.objects.filter(pk__in=[c.pk for c in group]).update(
                render_state=Clip.RenderState.FAILED, render_error=_("The recording has no video file.")[:300]
            )
            continue
        source = Path(recording.mp4.path)
        cuts, names = [], {}
        for clip in group:
            video, thumb = clip_paths(clip)
            names[clip.pk] = (clip, video, thumb)
            cuts.append(
                cutter.Cut(
                    key=clip.pk,
                    start_s=clip.start_s,
                    end_s=clip.end_s,
                    thumbnail_at_s=min(max(clip.peak_s, clip.start_s), clip.end_s - 0.04),
                    video=_media_path(video),
                    thumbnail=_media_path(thumb),
                )
            )
        for result in cutter.cut_many(source=source, cuts=cuts, workers=workers):
            clip, video, thumb = names[result.key]
            same_window = Clip.objects.filter(pk=clip.pk, start_s=clip.start_s, end_s=clip.end_s, peak_s=clip.peak_s)
            if result.ok:
                old = Clip.objects.filter(pk=clip.pk).values_list("video", "thumbnail").first()
                updated = same_window.update(
                    render_state=Clip.RenderState.READY, render_error="", video=video, thumbnail=thumb
                )
                if updated:
                    ready += 1
                    for name in old or ():
                        if name and name not in (video, thumb):
                            _media_path(name).unlink(missing_ok=True)
            else:
                logger.warning("clip %s could not be cut: %s", clip.pk, result.error)
                same_window.update(render_state=Clip.RenderState.FAILED, render_error=result.error[:300])
    return ready


def recording_clips_generate(*, recording_id: int, workers: int | None = None) -> int:
    """Plan (once) and cut every clip of the recording still waiting for its files; returns how many were cut."""
    recording_clips_plan(recording_id=recording_id)
    pending = list(Clip.objects.filter(recording_id=recording_id, render_state=Clip.RenderState.PENDING))
    return clips_cut(clips=pending, workers=workers) if pending else 0


def sweep() -> int:
    """The sweep behind the ``media.recording_ready`` subscriber: ready recordings never planned, and clips
    still waiting for their files (a worker that died mid-cut). Returns how many recordings it worked on."""
    recording_ids = set(
        Recording.objects.filter(status=Recording.Status.READY, clip_plan__isnull=True).values_list("pk", flat=True)
    )
    recording_ids |= set(
        Clip.objects.filter(
            render_state=Clip.RenderState.PENDING, render_requested_at__lt=clock.now() - SWEEP_GRACE
        ).values_list("recording_id", flat=True)
    )
    for recording_id in sorted(recording_ids):
        recording_clips_generate(recording_id=recording_id)
    return len(recording_ids)
