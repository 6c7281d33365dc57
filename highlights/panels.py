"""The fragments highlights adds to other apps' pages (through ``jielong.hooks`` and ``livestream.hooks``)."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest
from django.template.loader import render_to_string

from . import selectors
from .models import Clip


def member_campaign_panel(request: HttpRequest, campaign) -> str:
    """看回放·<title>: the published clips attached to the campaign, playable in place."""
    clips = selectors.campaign_clips(campaign_id=campaign.pk)
    if not clips:
        return ""
    return render_to_string("member/highlights/_campaign_clips.html", {"clips": clips}, request=request)


def ops_session_panel(request: HttpRequest, session) -> str:
    """The session page's clips section: how many, how many published, a link to review them."""
    counts = Clip.objects.filter(session_id=session.pk).aggregate(
        total=Count("pk"),
        published=Count("pk", filter=Q(status=Clip.Status.PUBLISHED)),
        cutting=Count("pk", filter=Q(render_state=Clip.RenderState.PENDING)),
    )
    if not counts["total"] and session.status != session.Status.ENDED:
        return ""
    return render_to_string(
        "ops/highlights/_session_panel.html", {"session": session, "counts": counts}, request=request
    )
