"""Recordings (回放): each encoder connection's FLV becomes a seekable MP4, and old ones expire.

The remux is a stream copy (``-c copy -movflags +faststart``: ~2 s for an hour) run by the worker
(``tasks.remux_recording``), safe to run twice: it writes a private temporary file and renames it into
place, and a recording that is already ready is left alone. ``sweep`` is the periodic safety net: it
re-queues remuxes whose task was lost, adopts FLV files whose ``on_record_done`` never arrived, and deletes
recordings older than MEDIA_RECORDING_RETENTION_DAYS.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction

from groupbuy import clock, events
from livestream import broadcast

from . import events as media_events
from . import server
from .models import Recording, Stream

logger = logging.getLogger(__name__)

REMUX_TIMEOUT = 3600
LOST_AFTER = timedelta(minutes=10)
MIN_SECONDS = 0.5  # a connection that recorded less than this has nothing to replay


class RemuxError(Exception):
    pass


def probe_duration(path: Path) -> float:
    """The container's duration in seconds (ffprobe)."""
    result = subprocess.run(
        [settings.MEDIA_FFPROBE, "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RemuxError(result.stderr.strip()[-280:] or "ffprobe failed")
    try:
        return float(json.loads(result.stdout)["format"]["duration"])
    except (KeyError, ValueError, TypeError):
        raise RemuxError("the recording has no duration") from None


def remux(source: Path, target: Path) -> float:
    """FLV → MP4 by stream copy, moov atom first (seekable while it downloads); returns the duration."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial_file = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.mp4")
    command = [
        settings.MEDIA_FFMPEG, "-nostdin", "-y", "-v", "error", "-i", str(source),
        "-c", "copy", "-movflags", "+faststart", str(partial_file),
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=REMUX_TIMEOUT)
        if result.returncode != 0:
            raise RemuxError(result.stderr.strip()[-280:] or "ffmpeg failed")
        duration = probe_duration(partial_file)
        os.replace(partial_file, target)
    finally:
        partial_file.unlink(missing_ok=True)
    return duration


def _fail(recording_id: int, error: str) -> None:
    Recording.objects.filter(pk=recording_id).exclude(status=Recording.Status.READY).update(
        status=Recording.Status.FAILED, error=error[:300]
    )


def recording_remux(*, recording_id: int) -> Recording | None:
    """Make the MP4 of one recording (idempotent)."""
    recording = Recording.objects.filter(pk=recording_id).first()
    if recording is None or recording.status in (Recording.Status.READY, Recording.Status.EXPIRED):
        return recording
    source = Path(recording.source_path) if recording.source_path else None
    if source is None or not source.exists():
        _fail(recording_id, "the recorded file is missing")
        return Recording.objects.get(pk=recording_id)
    name = f"recordings/{recording.session_id}/{recording.pk}.mp4"
    try:
        duration = remux(source, Path(settings.MEDIA_ROOT) / name)
    except (RemuxError, subprocess.TimeoutExpired, OSError) as exc:
        logger.warning("recording %s: remux failed: %s", recording_id, exc)
        _fail(recording_id, str(exc) or type(exc).__name__)
        return Recording.objects.get(pk=recording_id)
    if duration < MIN_SECONDS:
        (Path(settings.MEDIA_ROOT) / name).unlink(missing_ok=True)
        _fail(recording_id, "nothing was recorded")
        source.unlink(missing_ok=True)
        return Recording.objects.get(pk=recording_id)
    size = (Path(settings.MEDIA_ROOT) / name).stat().st_size
    with transaction.atomic():
        recording = Recording.objects.select_for_update().get(pk=recording_id)
        if recording.status == Recording.Status.READY:
            return recording
        recording.mp4.name = name
        recording.duration_seconds = round(duration, 3)
        recording.size_bytes = size
        recording.status = Recording.Status.READY
        recording.error = ""
        recording.ready_at = clock.now()
        recording.ended_at = recording.ended_at or recording.started_at + timedelta(seconds=duration)
        recording.save(
            update_fields=["mp4", "duration_seconds", "size_bytes", "status", "error", "ready_at", "ended_at"]
        )
        events.publish(media_events.RecordingReady(live_session_id=recording.session_id, recording_id=recording.pk))
        transaction.on_commit(partial(broadcast.room_changed, recording.session_id))
    source.unlink(missing_ok=True)  # the MP4 holds the same frames
    return recording


_FLV_NAME = re.compile(r"^(?P<name>[A-Za-z0-9_]+)-(?P<epoch>\d{9,11})\.flv$")


def _adopt_orphans(now: datetime) -> list[int]:
    """FLV files whose ``on_record_done`` never reached the app: attach each to its recording."""
    adopted = []
    folder = server.record_dir()
    if not folder.is_dir():
        return adopted
    known = set(Recording.objects.exclude(source_path="").values_list("source_path", flat=True))
    for path in folder.glob("*.flv"):
        match = _FLV_NAME.match(path.name)
        if str(path) in known or match is None:
            continue
        if now.timestamp() - path.stat().st_mtime < LOST_AFTER.total_seconds():
            continue  # still being written, or its callback may still come
        stream = Stream.objects.filter(name=match["name"]).first()
        if stream is None:
            continue
        began = datetime.fromtimestamp(int(match["epoch"]), tz=UTC)
        recording = (
            Recording.objects.filter(
                session_id=stream.session_id,
                source_path="",
                started_at__gte=began - timedelta(seconds=60),
                started_at__lte=began + timedelta(seconds=60),
            )
            .order_by("started_at")
            .first()
        )
        if recording is None:
            recording = Recording.objects.create(session_id=stream.session_id, started_at=began)
        Recording.objects.filter(pk=recording.pk).update(source_path=str(path), status=Recording.Status.PROCESSING)
        adopted.append(recording.pk)
    return adopted


def recordings_expire(*, now: datetime) -> int:
    """Delete the files of recordings older than the retention; the rows stay (status expired)."""
    cutoff = now - timedelta(days=settings.MEDIA_RECORDING_RETENTION_DAYS)
    expired = 0
    for recording in Recording.objects.filter(started_at__lt=cutoff).exclude(status=Recording.Status.EXPIRED):
        if recording.mp4:
            recording.mp4.storage.delete(recording.mp4.name)
        if recording.source_path:
            Path(recording.source_path).unlink(missing_ok=True)
        Recording.objects.filter(pk=recording.pk).update(status=Recording.Status.EXPIRED, mp4="", source_path="")
        expired += 1
    return expired


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic safety net: lost remuxes, orphaned FLV files, retention."""
    from . import tasks

    now = now or clock.now()
    stale = list(
        Recording.objects.filter(status=Recording.Status.PROCESSING, ended_at__lt=now - LOST_AFTER).values_list(
            "pk", flat=True
        )
    )
    adopted = _adopt_orphans(now)
    for recording_id in dict.fromkeys(stale + adopted):
        tasks.remux_recording.delay(recording_id)
    return {"requeued": len(stale), "adopted": len(adopted), "expired": recordings_expire(now=now)}
