"""Reads for jielong campaigns."""

from .models import Campaign


def campaign_snapshot(*, campaign_id: int) -> dict | None:
    """The whole progress state a page needs ("已接龙 X 人，还差 Y 人成团"), versioned."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return None
    return {
        "campaign_id": campaign.pk,
        "status": campaign.status,
        "joined": campaign.joined_count,
        "threshold": campaign.group_threshold,
        "still_needed": campaign.still_needed,
        "perk_limit": campaign.perk_limit,
        "perk_left": campaign.perk_left,
        "version": campaign.version,
    }
