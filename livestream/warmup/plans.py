"""Warm-up plans (预热): the standard rounds before a live session, moved or stopped with the session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import translation
from django.utils.translation import gettext as _

from groupbuy import clock

from ..models import LiveSession, WarmupRound


@dataclass(frozen=True)
class RoundTemplate:
    kind: str
    offset: timedelta
    audience: str
    has_poster: bool = False
    send_sms: bool = False
    leader_copy: bool = False


STANDARD_PLAN = (
    RoundTemplate(WarmupRound.Kind.TEASER, timedelta(days=2), WarmupRound.Audience.COMMUNITIES, True, False, True),
    RoundTemplate(WarmupRound.Kind.STORY, timedelta(days=1), WarmupRound.Audience.KOCS, False, False, True),
    RoundTemplate(WarmupRound.Kind.REMINDER, timedelta(hours=1), WarmupRound.Audience.RESERVED, False, True, False),
    RoundTemplate(WarmupRound.Kind.LIVE_NOW, timedelta(minutes=5), WarmupRound.Audience.RESERVED, False, True, True),
)


def default_text(session: LiveSession, kind: str) -> tuple[str, str]:
    perk = session.perk_summary
    if kind == WarmupRound.Kind.TEASER:
        return _("Coming soon: %(title)s") % {"title": session.title}, perk or _("Something good is on its way.")
    if kind == WarmupRound.Kind.STORY:
        return (
            _("The story behind %(title)s") % {"title": session.title},
            _("Share why you are looking forward to it with your neighbours. %(perk)s") % {"perk": perk},
        )
    if kind == WarmupRound.Kind.REMINDER:
        return _("Starting in one hour: %(title)s") % {"title": session.title}, perk
    return _("We are live: %(title)s") % {"title": session.title}, _("Tap to watch now.")


def warmup_plan_apply_standard(*, session: LiveSession) -> list[WarmupRound]:
    """The standard plan: D-2 teaser poster, D-1 story post, T-1h reminder, T-5min 开播了.

    Does nothing if the session already has a plan, so applying it twice is harmless. Rounds whose time
    has already passed are left out rather than sent at once.
    """
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().get(pk=session.pk)
        if session.warmup_rounds.exclude(kind=WarmupRound.Kind.CANCELLED).exists():
            return list(session.warmup_rounds.all())
        now = clock.now()
        rounds = []
        with translation.override(settings.LANGUAGE_CODE):
            for template in STANDARD_PLAN:
                send_at = session.scheduled_start - template.offset
                if send_at <= now:
                    continue
                title, body = default_text(session, template.kind)
                rounds.append(
                    WarmupRound(
                        session=session,
                        kind=template.kind,
                        offset=template.offset,
                        send_at=send_at,
                        title=title,
                        body=body,
                        has_poster=template.has_poster,
                        audience=template.audience,
                        send_sms=template.send_sms,
                        leader_copy=template.leader_copy,
                    )
                )
        return WarmupRound.objects.bulk_create(rounds)


def rounds_shift_pending(*, session: LiveSession, delta: timedelta) -> int:
    """Move the session's pending rounds by ``delta`` (call inside the rescheduling transaction)."""
    return WarmupRound.objects.filter(session=session, status=WarmupRound.Status.PENDING).update(
        send_at=F("send_at") + delta
    )


def rounds_cancel_pending(*, session: LiveSession) -> int:
    return WarmupRound.objects.filter(session=session, status=WarmupRound.Status.PENDING).update(
        status=WarmupRound.Status.CANCELLED
    )


def live_now_round(*, session: LiveSession, now) -> WarmupRound | None:
    """The session has just gone live (call inside that transaction): the 开播了 notice is due now.

    The plan's pending 开播了 round is brought forward (or back) to ``now``; without one, a round for the
    members who reserved is added. Rounds announcing the start ahead of time are closed, unsent. A 开播了
    round that already went out is not repeated, so members who reserved are told exactly once. Returns
    the round to deliver now, or ``None``.
    """
    rounds = WarmupRound.objects.filter(session=session).exclude(kind=WarmupRound.Kind.CANCELLED)
    rounds.filter(status=WarmupRound.Status.PENDING).exclude(kind=WarmupRound.Kind.LIVE_NOW).update(
        status=WarmupRound.Status.CANCELLED
    )
    live_now = rounds.filter(kind=WarmupRound.Kind.LIVE_NOW)
    if live_now.filter(status=WarmupRound.Status.EXPANDED).exists():
        live_now.filter(status=WarmupRound.Status.PENDING).update(status=WarmupRound.Status.CANCELLED)
        return None
    pending = list(live_now.filter(status=WarmupRound.Status.PENDING).order_by("send_at", "pk"))
    if pending:
        first, rest = pending[0], pending[1:]
        WarmupRound.objects.filter(pk__in=[r.pk for r in rest]).update(status=WarmupRound.Status.CANCELLED)
        first.send_at = now
        first.save(update_fields=["send_at"])
        return first
    with translation.override(settings.LANGUAGE_CODE):
        title, body = default_text(session, WarmupRound.Kind.LIVE_NOW)
    return WarmupRound.objects.create(
        session=session,
        kind=WarmupRound.Kind.LIVE_NOW,
        offset=timedelta(0),
        send_at=now,
        title=title,
        body=body,
        audience=WarmupRound.Audience.RESERVED,
    )
