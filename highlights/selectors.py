"""Reads of clips: a session's clips for the operator, the published clips a campaign page shows."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Clip

CAMPAIGN_CLIPS_SHOWN = 3


def session_clips(*, session_id: int) -> QuerySet[Clip]:
    return Clip.objects.filter(session_id=session_id).select_related("campaign", "warmup_round__session")


def campaign_clips(*, campaign_id: int) -> list[Clip]:
    """Published, cut clips attached to the campaign, in the order they happened in the live."""
    return list(
        Clip.objects.filter(
            campaign_id=campaign_id, status=Clip.Status.PUBLISHED, render_state=Clip.RenderState.READY
        ).order_by("start_s", "pk")[:CAMPAIGN_CLIPS_SHOWN]
    )


def published_clip(*, clip_id: int) -> Clip | None:
    return (
        Clip.objects.filter(pk=clip_id, status=Clip.Status.PUBLISHED, render_state=Clip.RenderState.READY)
        .select_related("session", "campaign", "warmup_round__session")
        .first()
    )
