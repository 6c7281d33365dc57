"""Writes for jielong campaigns and orders."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from groupbuy import events
from groupbuy.errors import DomainError

from .models import Campaign


class CampaignStateError(DomainError):
    pass


def campaign_open(*, campaign: Campaign) -> Campaign:
    """Open a draft campaign for joining (the jielong link goes out to its communities)."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status != Campaign.Status.DRAFT:
            raise CampaignStateError(_("Only a draft campaign can be opened."))
        if campaign.closes_at <= timezone.now():
            raise CampaignStateError(_("The closing time has already passed."))
        campaign.status = Campaign.Status.OPEN
        campaign.opens_at = timezone.now()
        campaign.version += 1
        campaign.save(update_fields=["status", "opens_at", "version"])
        events.publish("jielong.campaign_opened", campaign_id=campaign.pk, live_session_id=campaign.live_session_id)
    return campaign


def campaigns_open_for_session(*, live_session_id: int) -> list[Campaign]:
    """Open every draft campaign prepared for a session (called when the session ends)."""
    opened = []
    for campaign in Campaign.objects.filter(live_session_id=live_session_id, status=Campaign.Status.DRAFT):
        opened.append(campaign_open(campaign=campaign))
    return opened
