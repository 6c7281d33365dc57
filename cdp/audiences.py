"""Segments as audiences (精准预热和定向邀请): a warm-up round, or a targeted invitation, reaches a segment.

Before, a round reached whole communities, their KOCs or the people who reserved. Now an operator can aim a
pending round of a scheduled session at one of the brand's segments (:func:`round_target_segment`), or send
a targeted invitation to a segment — a round of its own, made through livestream's ``warmup_round_add`` and
aimed at the segment in the same transaction (:func:`segment_invite`). livestream asks the hook registered
here (``livestream.hooks.round_audience``) when it expands a round; the segment's members are taken at that
moment, and the delivery's "exactly once" rules are livestream's, unchanged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from community.models import User
from groupbuy import clock, events
from groupbuy.errors import DomainError
from livestream import console as live_console
from livestream import hooks as live_hooks
from livestream.models import LiveSession, WarmupRound

from . import events as cdp_events
from . import segments
from .models import RoundAudience, Segment

INVITE_DELAY = timedelta(minutes=1)  # livestream's rounds go out in the future; an invitation goes out next


class AudienceRefused(DomainError):
    """A round that cannot be aimed at this segment (sent already, another brand's, not an operator)."""


def round_audience_user_ids(round_id: int) -> list[int] | None:
    """The hook livestream asks: the segment's members now, or None when the round has no segment."""
    target = RoundAudience.objects.select_related("segment", "round__session__series").filter(round_id=round_id).first()
    if target is None:
        return None
    return list(
        segments.members(brand_id=target.segment.brand_id, rule=target.segment.rule).values_list("pk", flat=True)
    )


def round_audience_labels(round_ids: list[int]) -> dict[int, str]:
    """The session page's words for rounds aimed at a segment: "Segment: <name>"."""
    return {
        t.round_id: _("Segment: %(name)s") % {"name": t.segment.name}
        for t in RoundAudience.objects.filter(round_id__in=round_ids).select_related("segment")
    }


def register() -> None:
    live_hooks.register_round_audience(round_audience_user_ids)
    live_hooks.register_round_audience_labels(round_audience_labels)
    from .panels import ops_session_panel

    live_hooks.register_ops_session_panel(ops_session_panel)


def _check(*, by: User, session: LiveSession, segment: Segment) -> None:
    if not by.is_operator:
        raise AudienceRefused(_("Only operators can choose a round's audience."), code="forbidden")
    if segment.brand_id != session.series.brand_id:
        raise AudienceRefused(_("This segment belongs to another brand."), code="brand")


def round_target_segment(*, by: User, round_: WarmupRound, segment: Segment | None) -> RoundAudience | None:
    """Aim a pending round at ``segment`` (or back at its own audience with None)."""
    session = LiveSession.objects.select_related("series").get(pk=round_.session_id)
    if segment is not None:
        _check(by=by, session=session, segment=segment)
    elif not by.is_operator:
        raise AudienceRefused(_("Only operators can choose a round's audience."), code="forbidden")
    with transaction.atomic():
        locked = WarmupRound.objects.select_for_update().get(pk=round_.pk)
        if locked.status != WarmupRound.Status.PENDING:
            raise AudienceRefused(_("This round has gone out already; its audience stays."), code="sent")
        if locked.kind == WarmupRound.Kind.CANCELLED:
            raise AudienceRefused(_("A cancellation notice goes to everyone who reserved."), code="cancelled")
        events.publish(
            cdp_events.RoundTargeted(
                round_id=locked.pk, segment_id=segment.pk if segment else None, is_invitation=False, by=by.pk
            )
        )
        if segment is None:
            RoundAudience.objects.filter(round=locked).delete()
            return None
        target, _created = RoundAudience.objects.update_or_create(
            round=locked, defaults={"segment": segment, "set_by": by, "set_at": clock.now()}
        )
        return target


def segment_invite(
    *, by: User, segment: Segment, session: LiveSession, title: str, body: str = "", now: datetime | None = None
) -> WarmupRound:
    """A targeted invitation (定向邀请) to a scheduled session for the segment's members: an in-app message
    with the session's link, going out within a minute."""
    session = LiveSession.objects.select_related("series").get(pk=session.pk)
    _check(by=by, session=session, segment=segment)
    now = now or clock.now()
    with transaction.atomic():
        round_ = live_console.warmup_round_add(
            by=by,
            session=session,
            data=live_console.RoundInput(
                kind=WarmupRound.Kind.STORY,
                send_at=now + INVITE_DELAY,
                audience=WarmupRound.Audience.COMMUNITIES,
                title=title,
                body=body,
            ),
        )
        RoundAudience.objects.create(round=round_, segment=segment, is_invitation=True, set_by=by, set_at=now)
        events.publish(
            cdp_events.RoundTargeted(round_id=round_.pk, segment_id=segment.pk, is_invitation=True, by=by.pk)
        )
    return round_


def rounds_of(*, session: LiveSession) -> dict[int, RoundAudience]:
    """{round id: its segment audience} for the session's rounds that have one."""
    return {t.round_id: t for t in RoundAudience.objects.filter(round__session=session).select_related("segment")}
