"""The engagement timeline of a recording: per-second counts from what the platform already records.

- comments and questions (提问): ``livestream.Comment.created_at`` (hidden ones left out: spam is no highlight);
- members entering the room: ``livestream.WatchRecord.first_seen_at`` (a member's first heartbeat);
- online count: ``livestream.ViewerSample`` (the peak of each minute), interpolated between minutes;
- jielong orders (接龙): ``jielong.Order.created_at`` of the session's campaigns (cancelled ones too: the
  moment of joining happened);
- product explanations: ``media.Chapter`` (pin → unpin), the jielong launch: ``LiveSession.jielong_opened_at``.

Second *t* of the series is wall-clock ``recording.started_at + t``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Q

from jielong.models import Order
from livestream.models import Comment, LiveSession, ViewerSample, WatchRecord
from media.models import Chapter, Recording

from .peaks import Engagement, Explanation, Window, plan_clips


def _per_second(times: Iterable[datetime], *, start: datetime, duration_s: int) -> list[float]:
    counts = [0.0] * duration_s
    for at in times:
        t = int((at - start).total_seconds())
        if 0 <= t < duration_s:
            counts[t] += 1
    return counts


def _online(samples: list[tuple[datetime, int]], *, start: datetime, duration_s: int) -> list[float]:
    """Members online each second: linear between minute samples, flat before the first and after the last."""
    if not samples:
        return [0.0] * duration_s
    xs = [(minute - start).total_seconds() for minute, _ in samples]
    ys = [float(online) for _, online in samples]
    out = []
    for t in range(duration_s):
        i = bisect.bisect_right(xs, t)
        if i == 0:
            out.append(ys[0])
        elif i == len(xs):
            out.append(ys[-1])
        else:
            x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
            out.append(y0 + (y1 - y0) * (t - x0) / (x1 - x0))
    return out


def session_campaign_filter(session: LiveSession) -> Q:
    """The session's jielong campaigns: the one it opened and any linked to it."""
    linked = Q(campaign__live_session_id=session.pk)
    if session.jielong_campaign_id:
        linked |= Q(campaign_id=session.jielong_campaign_id)
    return linked


def engagement(*, session: LiveSession, start: datetime, duration_s: int) -> Engagement:
    """Per-second engagement of ``session`` for ``duration_s`` seconds from ``start``."""
    end = start + timedelta(seconds=duration_s)
    in_window = {"created_at__gte": start, "created_at__lt": end}
    comments = Comment.objects.filter(session=session, status=Comment.Status.VISIBLE, **in_window)
    order_times = (
        Order.objects.filter(session_campaign_filter(session), **in_window)
        .values_list("created_at", flat=True)
        .iterator()
    )
    entry_times = (
        WatchRecord.objects.filter(session=session, first_seen_at__gte=start, first_seen_at__lt=end)
        .values_list("first_seen_at", flat=True)
        .iterator()
    )
    # A minute before the window too, so the first seconds interpolate from a real sample.
    samples = list(
        ViewerSample.objects.filter(session=session, minute__gte=start - timedelta(minutes=1), minute__lt=end)
        .order_by("minute")
        .values_list("minute", "online")
    )
    span = {"start": start, "duration_s": duration_s}
    return Engagement(
        duration_s=duration_s,
        comments=_per_second(
            comments.filter(kind=Comment.Kind.COMMENT).values_list("created_at", flat=True).iterator(), **span
        ),
        questions=_per_second(
            comments.filter(kind=Comment.Kind.QUESTION).values_list("created_at", flat=True).iterator(), **span
        ),
        entries=_per_second(entry_times, **span),
        orders=_per_second(order_times, **span),
        online=_online(samples, **span),
    )


def explanations(*, recording: Recording, duration_s: float) -> list[Explanation]:
    """The session's product explanations (chapters) as offsets into the recording."""
    found = []
    for chapter in Chapter.objects.filter(session_id=recording.session_id).order_by("started_at", "pk"):
        start = recording.offset(chapter.started_at)
        end = duration_s if chapter.ended_at is None else recording.offset(chapter.ended_at)
        if end <= 0 or start >= duration_s:
            continue
        found.append(Explanation(start_s=max(0.0, start), end_s=min(duration_s, end), label=chapter.title))
    return found


def recording_plan(recording: Recording) -> list[Window]:
    """The clips to cut from a ready recording: its engagement peaks, product explanations and the launch."""
    duration = float(recording.duration_seconds or 0)
    whole_seconds = int(duration)
    if whole_seconds <= 0:
        return []
    session = recording.session
    launch_s = recording.offset(session.jielong_opened_at) if session.jielong_opened_at else None
    return plan_clips(
        engagement(session=session, start=recording.started_at, duration_s=whole_seconds),
        explanations=explanations(recording=recording, duration_s=whole_seconds),
        launch_s=launch_s,
    )
