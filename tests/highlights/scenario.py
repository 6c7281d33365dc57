"""Shared set-ups for the highlights tests: a short synthetic recording (real ffmpeg) of an ended session."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings

from community.models import User
from groupbuy import clock
from jielong.models import Campaign, Order
from livestream.models import LiveSession
from media.models import Recording
from tests import factories


def make_video(path: Path, *, seconds: float, size: str = "320x180", rate: int = 25) -> Path:
    """``testsrc2`` (a frame counter on screen) with a 440 Hz tone, H.264/AAC, 1 s GOP, faststart."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", str(rate), "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", str(path),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    return path


@dataclass
class Live:
    session: LiveSession
    recording: Recording
    campaign: Campaign
    operator: User
    start: datetime

    def at(self, seconds: float) -> datetime:
        """Wall-clock time ``seconds`` into the recording."""
        return self.start + timedelta(seconds=seconds)


def ended_live(*, video: Path, seconds: float, status: str = Recording.Status.READY) -> Live:
    """An ended session with its campaign and a ready recording whose MP4 is a copy of ``video``."""
    start = clock.now() - timedelta(hours=2)
    session = factories.live_session(
        starts_in=-timedelta(hours=2), status=LiveSession.Status.ENDED, started_at=start,
        ended_at=start + timedelta(seconds=seconds),
    )  # fmt: skip
    campaign = factories.campaign(live_session=session, status=Campaign.Status.OPEN, title="有机上海青接龙")
    target = Path(settings.MEDIA_ROOT) / "recordings" / f"session-{session.pk}.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(video, target)
    recording = Recording.objects.create(
        session=session,
        mp4=f"recordings/session-{session.pk}.mp4",
        duration_seconds=seconds,
        started_at=start,
        ended_at=start + timedelta(seconds=seconds),
        status=status,
        ready_at=start + timedelta(seconds=seconds + 5),
    )
    return Live(session=session, recording=recording, campaign=campaign, operator=factories.operator(), start=start)


def order_at(live: Live, seconds: float, *, user: User | None = None, campaign: Campaign | None = None) -> Order:
    campaign = campaign or live.campaign
    user = user or factories.member()
    home = campaign.communities.first() or factories.community()
    seq = Order.objects.filter(campaign=campaign).count() + 1
    return Order.objects.create(
        campaign=campaign, user=user, community=home, seq=seq, total_fen=1590, created_at=live.at(seconds)
    )
