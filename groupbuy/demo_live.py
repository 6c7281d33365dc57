"""The demo's live extras: a warm-up plan for the upcoming session, the past session's peak concurrency.

Called from :func:`groupbuy.demo.seed_demo`; safe to run again (a plan is created once, then only its
pending rounds are realigned to the session's start, which moves with the demo's clock).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from livestream import warmup
from livestream.models import LiveSession, WarmupRound, WatchRecord


def seed_warmup_plan(upcoming: LiveSession, *, now: datetime | None = None) -> None:
    """Give the upcoming session the standard plan; a teaser already due goes out a minute from now."""
    now = now or timezone.now()
    if upcoming.status != LiveSession.Status.SCHEDULED:
        return
    rounds = WarmupRound.objects.filter(session=upcoming)
    if rounds.exists():
        rounds.filter(status=WarmupRound.Status.PENDING, offset__isnull=False).update(
            send_at=upcoming.scheduled_start - F("offset")
        )
        return
    warmup.warmup_plan_apply_standard(session=upcoming)
    if not rounds.filter(kind=WarmupRound.Kind.TEASER).exists():
        title, body = warmup._default_text(upcoming, WarmupRound.Kind.TEASER)
        WarmupRound.objects.create(
            session=upcoming,
            kind=WarmupRound.Kind.TEASER,
            send_at=now + timedelta(minutes=1),
            title=title,
            body=body,
            has_poster=True,
            audience=WarmupRound.Audience.COMMUNITIES,
            leader_copy=True,
        )


def seed_past_peak(past: LiveSession) -> None:
    """Peak concurrency of the past session, from its watch records (the most overlapping intervals)."""
    edges = []
    for first, last in WatchRecord.objects.filter(session=past).values_list("first_seen_at", "last_seen_at"):
        edges += [(first, 1), (last, -1)]
    online = peak = 0
    for _at, step in sorted(edges, key=lambda e: (e[0], -e[1])):
        online += step
        peak = max(peak, online)
    LiveSession.objects.filter(pk=past.pk).update(peak_online=peak)


def seed_live_extras(*, past: LiveSession, upcoming: LiveSession, now: datetime | None = None) -> None:
    seed_past_peak(past)
    seed_warmup_plan(LiveSession.objects.get(pk=upcoming.pk), now=now)
