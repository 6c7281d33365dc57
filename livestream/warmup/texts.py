"""What a warm-up round says on each channel, and the link to a session (with the sharer's referral code)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from community import services as community_services
from community.models import Membership, User

from ..models import Delivery, LiveSession, WarmupRound


def session_link(session: LiveSession, *, sharer: User | None = None) -> str:
    """The link members open for a session; ``ref`` carries the sharer's referral code (their personal
    invitation code in the first of the session's communities they belong to)."""
    path = reverse("livestream:member-live", args=[session.pk])
    if sharer is not None:
        membership = (
            Membership.objects.filter(
                user=sharer, community__in=session.communities.all(), status=Membership.Status.ACTIVE
            )
            .select_related("community")
            .order_by("pk")
            .first()
        )
        code = community_services.referral_code(user=sharer, community=membership.community) if membership else ""
        if code:
            path += f"?ref={code}"
    return getattr(settings, "SITE_URL", "") + path


def when(session: LiveSession) -> str:
    """The session's scheduled start as members read it."""
    return date_format(timezone.localtime(session.scheduled_start), "DATETIME_FORMAT")


_when = when


def message(round_: WarmupRound, channel: str, user_id: int) -> str:
    session = round_.session
    with translation.override(settings.LANGUAGE_CODE):
        if channel == Delivery.Channel.LEADER_COPY:
            parts = [
                f"【{session.series.title}】{round_.title}",
                round_.body,
                _("Time: %(when)s") % {"when": _when(session)},
            ]
            if session.perk_summary:
                parts.append(_("Perk: %(perk)s") % {"perk": session.perk_summary})
            if round_.teaser_video_url:
                parts.append(_("Teaser: %(url)s") % {"url": round_.teaser_video_url})
            parts.append(
                _("Reserve here: %(link)s") % {"link": session_link(session, sharer=User.objects.get(pk=user_id))}
            )
            return "\n".join(p for p in parts if p)
        if channel == Delivery.Channel.SMS:
            return f"【{session.series.title}】{round_.title} {_when(session)} {round_.body}".strip()
        return "\n".join(p for p in [round_.body, _("Time: %(when)s") % {"when": _when(session)}] if p)
