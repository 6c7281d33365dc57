"""Highlights benchmark: the clips of an hour-long live, frame-exact and with thumbnails, after its end.

    .venv/bin/python bench/clips.py [--minutes 60] [--size 1280x720] [--workers 2]

It makes a PostgreSQL database of its own (``gb_bench_clips`` on the server of DATABASE_URL), migrates it,
and writes an hour of a live's engagement the way the platform records it: a comment every few seconds,
questions, members entering, minute online samples, five product explanations (chapters), ten moments
where the room came alive (bursts of orders, questions, arrivals or comments) and the jielong launch near
the end. The recording is a synthetic H.264/AAC MP4 (``testsrc2`` + a tone, 25 fps, 2.5 Mbit/s, 1 s GOP;
one minute encoded and looped to the length by stream copy, cached in ``$BENCH_TMP``).

Then, timed from the moment the recording is ready, what the worker runs
(``highlights.generation.recording_clips_generate``): read the engagement, find the peaks, plan the clips,
and cut every clip (re-encoded at 360p, frame-exact) with its JPEG thumbnail, ``--workers`` ffmpeg processes
at a time. Every clip is then checked with ffprobe: its duration within half a second of its window.

The last line is one JSON object: ``clips_ready_s_per_hour`` (seconds from ready to every clip cut, scaled to
one hour of recording), ``plan_s``, ``cut_s``, ``clips``, ``clip_seconds``, ``per_clip_s``,
``max_duration_error_s``, and — the machine being shared — ``ffmpeg_cpu_s`` (CPU time of the ffmpeg
processes), ``idle_estimate_s`` (that CPU time spread over the workers, plus planning: the wall time on
cores nobody else uses) and ``load_average`` when it started.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._harness import BENCH_DIR, bench_database_url, recreate_database

DB_NAME = "gb_bench_clips"


def recording_file(minutes: int, size: str) -> Path:
    """One minute of testsrc2 + tone, looped by stream copy to ``minutes`` (cached)."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    target = BENCH_DIR / f"live-{size}-{minutes}m.mp4"
    if target.exists():
        return target
    chunk = BENCH_DIR / f"chunk-{size}.mp4"
    if not chunk.exists():
        subprocess.run(
            [
                "ffmpeg", "-nostdin", "-v", "error", "-y",
                "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                "-t", "60", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "2500k", "-g", "25",
                "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", str(chunk),
            ],
            check=True,
        )  # fmt: skip
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", str(minutes - 1), "-i", str(chunk),
            "-c", "copy", "-movflags", "+faststart", str(target),
        ],
        check=True,
    )  # fmt: skip
    return target


def write_live(*, seconds: int, video: Path, seed: int = 15):
    """An ended session, its campaign, an hour of engagement rows, and the ready recording."""
    from catalogue.models import SKU, Product, Supplier
    from community.models import Brand, Community, User
    from groupbuy import clock
    from jielong.models import Campaign, Order
    from livestream.models import Comment, LiveSeries, LiveSession, ViewerSample, WatchRecord
    from media.models import Chapter, Recording

    rng = random.Random(seed)
    start = clock.now() - timedelta(seconds=seconds + 120)
    at = lambda s: start + timedelta(seconds=s)  # noqa: E731
    brand = Brand.objects.create(name="源味集")
    home = Community.objects.create(brand=brand, name="阳光花园", slug="sun")
    series = LiveSeries.objects.create(brand=brand, title="农场主来了")
    session = LiveSession.objects.create(
        series=series, title="老李带你逛大棚", status=LiveSession.Status.ENDED, scheduled_start=start,
        scheduled_end=at(seconds), started_at=start, ended_at=at(seconds), jielong_opened_at=at(seconds - 600),
    )  # fmt: skip
    campaign = Campaign.objects.create(
        brand=brand,
        title="有机蔬菜接龙",
        live_session=session,
        status=Campaign.Status.OPEN,
        closes_at=at(seconds + 86400),
    )
    members = User.objects.bulk_create(
        User(username=f"m{i}", phone=f"+86139{i:08d}", role=User.Role.MEMBER) for i in range(400)
    )
    supplier = Supplier.objects.create(brand=brand, name="老李有机农场")
    products = ["上海青", "土鸡蛋", "番茄", "黄瓜", "草莓"]
    for i, name in enumerate(products):
        sku = SKU.objects.create(
            product=Product.objects.create(supplier=supplier, name=name), code=f"S{i}", spec={}, list_price_fen=1590
        )
        begin = 120 + i * 660
        Chapter.objects.create(session=session, sku=sku, title=name, started_at=at(begin), ended_at=at(begin + 360))

    comments, orders, entries = [], [], []
    for s in range(seconds):
        if rng.random() < 0.3:
            comments.append((s, Comment.Kind.COMMENT))
        if rng.random() < 0.02:
            comments.append((s, Comment.Kind.QUESTION))
    # Ten moments the room came alive, every ~5 minutes, of four kinds.
    moments = [300 + 330 * i + rng.randint(-30, 30) for i in range(10)]
    for n, moment in enumerate(moments):
        for s in range(moment - 3, moment + 4):
            kind = n % 4
            if kind == 0:
                orders += [s] * 3
            elif kind == 1:
                comments += [(s, Comment.Kind.QUESTION)] * 3
            elif kind == 2:
                entries += [s] * 3
            else:
                comments += [(s, Comment.Kind.COMMENT)] * 6
    launch = seconds - 600
    orders += [launch + rng.randint(0, 300) for _ in range(150)]
    Comment.objects.bulk_create(
        Comment(session=session, user=members[i % len(members)], text="好新鲜", kind=kind, created_at=at(s + 0.5))
        for i, (s, kind) in enumerate(comments)
    )
    Order.objects.bulk_create(
        Order(campaign=campaign, user=members[i % len(members)], community=home, seq=i + 1, total_fen=1590,
              created_at=at(s + 0.3))
        for i, s in enumerate(sorted(orders))
    )  # fmt: skip
    arrivals = entries + [rng.randint(0, 600) for _ in range(200)]
    WatchRecord.objects.bulk_create(
        WatchRecord(session=session, user=members[i], first_seen_at=at(s + 0.2), last_seen_at=at(seconds), seconds_watched=60)
        for i, s in enumerate(arrivals[: len(members)])
    )  # fmt: skip
    ViewerSample.objects.bulk_create(
        ViewerSample(session=session, minute=at(m * 60), online=min(400, 50 + m * 8)) for m in range(seconds // 60)
    )
    from django.conf import settings

    name = f"recordings/bench-{session.pk}.mp4"
    (Path(settings.MEDIA_ROOT) / "recordings").mkdir(parents=True, exist_ok=True)
    link = Path(settings.MEDIA_ROOT) / name
    link.unlink(missing_ok=True)
    link.symlink_to(video)
    recording = Recording.objects.create(
        session=session, mp4=name, duration_seconds=float(seconds), started_at=start, ended_at=at(seconds),
        status=Recording.Status.READY, ready_at=clock.now(),
    )  # fmt: skip
    return recording, moments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    video = recording_file(args.minutes, args.size)
    database_url = bench_database_url(DB_NAME)
    recreate_database(database_url)
    media_root = BENCH_DIR / "clips-media"
    subprocess.run(["rm", "-rf", str(media_root)], check=True)
    os.environ.update(
        DATABASE_URL=database_url, MEDIA_ROOT=str(media_root), DJANGO_SETTINGS_MODULE="groupbuy.settings.test"
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)

    from highlights import cutter, generation
    from highlights.models import Clip

    recording, moments = write_live(seconds=args.minutes * 60, video=video)

    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    generation.recording_clips_plan(recording_id=recording.pk)
    planned = time.monotonic()
    generation.recording_clips_generate(recording_id=recording.pk, workers=args.workers)
    done = time.monotonic()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    ffmpeg_cpu = (children.ru_utime - children_before.ru_utime) + (children.ru_stime - children_before.ru_stime)

    clips = list(Clip.objects.filter(recording=recording).order_by("start_s"))
    errors = []
    for clip in clips:
        assert clip.render_state == Clip.RenderState.READY, (clip.pk, clip.render_error)
        assert Path(clip.thumbnail.path).stat().st_size > 0
        errors.append(abs(cutter.probe_duration(clip.video.path) - clip.duration_s))
    peaks = sorted(round(c.peak_s) for c in clips if c.kind == "peak")
    total = done - started
    for clip in clips:
        print(f"{clip.kind:8} {clip.start_s:7.1f}–{clip.end_s:7.1f}  {clip.duration_s:4.1f} s  {clip.title}")
    print(f"moments written at {sorted(moments)}; peak clips at {peaks}")
    print(
        json.dumps(
            {
                "recording_minutes": args.minutes,
                "source_size": args.size,
                "workers": args.workers,
                "clips": len(clips),
                "clip_seconds": round(sum(c.duration_s for c in clips), 1),
                "plan_s": round(planned - started, 2),
                "cut_s": round(done - planned, 2),
                "per_clip_s": round((done - planned) / max(1, len(clips)), 2),
                "max_duration_error_s": round(max(errors, default=0.0), 3),
                # ffmpeg's CPU time, and what it makes on cores nobody else uses (the machine is shared)
                "ffmpeg_cpu_s": round(ffmpeg_cpu, 1),
                "idle_estimate_s": round(ffmpeg_cpu / args.workers + (planned - started), 1),
                "load_average": round(load_before, 1),
                "clips_ready_s_per_hour": round(total * 60 / args.minutes, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
