"""The demo's media: the past session's replay (回放) and its chapters, so the replay is not empty on first run.

The recording is a 12-second stand-in made at seed time by ffmpeg (lavfi ``testsrc2`` + ``sine``, ~0.5 s),
starting at the live's start; its three chapters (4 s each) are the products the host explained, from the
past jielong's items. Without ffmpeg the recording is skipped (the chapters stay), and the seed goes on.
Safe to run again: a recording whose MP4 is there is left alone; the chapters are rewritten the same.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

from django.conf import settings

from catalogue.models import SKU
from livestream.models import LiveSession
from media import recordings
from media.models import Chapter, Recording

SECONDS = 12
CHAPTERS = 3


def _products(past: LiveSession) -> list[SKU]:
    from jielong.models import Campaign

    campaign = Campaign.objects.filter(live_session=past).order_by("pk").first()
    if campaign is not None:
        skus = [i.sku for i in campaign.items.select_related("sku__product").order_by("position", "pk")]
    else:
        skus = list(SKU.objects.filter(product__supplier__brand=past.series.brand).select_related("product"))
    return skus[:CHAPTERS]


def seed_chapters(past: LiveSession) -> int:
    skus = _products(past)
    Chapter.objects.filter(session=past).delete()
    if not skus or past.started_at is None:
        return 0
    step = SECONDS / len(skus)
    Chapter.objects.bulk_create(
        Chapter(
            session=past,
            sku=sku,
            title=f"{sku.product.name} {sku.spec_label}".strip()[:100],
            started_at=past.started_at + timedelta(seconds=i * step),
            ended_at=past.started_at + timedelta(seconds=(i + 1) * step),
        )
        for i, sku in enumerate(skus)
    )
    return len(skus)


def _generate(target: Path) -> bool:
    ffmpeg = shutil.which(settings.MEDIA_FFMPEG)
    if ffmpeg is None:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [
        ffmpeg, "-nostdin", "-y", "-v", "error",
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-t", str(SECONDS), "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", str(target),
    ]  # fmt: skip
    try:
        return subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def seed_media(*, past: LiveSession) -> str:
    """The past session's chapters and its short recording; says what it did (for the seed's summary)."""
    chapters = seed_chapters(past)
    if past.started_at is None:
        return "no recording (the past session has no start)"
    recording = Recording.objects.filter(session=past).order_by("pk").first()
    is_ready = recording is not None and recording.status == Recording.Status.READY and recording.mp4
    if is_ready and Path(recording.mp4.path).exists():
        return f"recording of {recording.duration_seconds:.0f} s and {chapters} chapters (kept)"
    name = f"recordings/{past.pk}/demo.mp4"
    target = Path(settings.MEDIA_ROOT) / name
    if not _generate(target):
        return f"{chapters} chapters; no recording (ffmpeg is not installed)"
    duration = recordings.probe_duration(target)
    values = {
        "started_at": past.started_at,
        "ended_at": past.started_at + timedelta(seconds=duration),
        "status": Recording.Status.READY,
        "mp4": name,
        "duration_seconds": round(duration, 3),
        "size_bytes": target.stat().st_size,
        "ready_at": past.ended_at or past.started_at,
        "error": "",
        "source_path": "",
    }
    if recording is None:
        recording = Recording.objects.create(session=past, **values)
    else:
        Recording.objects.filter(pk=recording.pk).update(**values)
    return f"recording of {duration:.0f} s and {chapters} chapters"
