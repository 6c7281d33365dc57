"""jielong listens to livestream (a session's end, or 发布接龙, opens the campaign prepared for it) and tells
community (an opened campaign appears in its communities' feeds)."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override

from community.feed import publish_feed_item
from groupbuy import events

from . import services
from .models import Campaign


def open_campaigns_when_session_ends(event: events.DomainEvent) -> None:
    services.campaigns_open_for_session(live_session_id=event.payload["live_session_id"])


def open_campaigns_when_jielong_requested(event: events.DomainEvent) -> None:
    """The host pressed 发布接龙 in the control panel."""
    services.campaigns_open_for_session(live_session_id=event.payload["live_session_id"])


def add_opened_campaign_to_feeds(event: events.DomainEvent) -> None:
    """One feed entry per target community; idempotent by source key (a redelivered event adds none)."""
    campaign = (
        Campaign.objects.prefetch_related("communities", "images").filter(pk=event.payload["campaign_id"]).first()
    )
    if campaign is None:
        return
    image = next(iter(campaign.images.all()), None)
    # Feed entries are stored text, read by members in the product's language.
    with override(settings.LANGUAGE_CODE):
        body = _("Jielong is open: %(threshold)s to form the group.") % {"threshold": campaign.group_threshold}
        if campaign.perk_limit and campaign.perk_description:
            body += " " + campaign.perk_description
    for community in campaign.communities.all():
        publish_feed_item(
            community=community,
            kind="campaign",
            source_key=f"jielong.campaign:{campaign.pk}",
            title=campaign.title,
            body=body,
            url=reverse("jielong:member-campaign", args=[campaign.pk]),
            image_url=image.image.url if image else None,
        )


def register() -> None:
    events.subscribe("livestream.session_ended", open_campaigns_when_session_ends)
    events.subscribe("livestream.jielong_requested", open_campaigns_when_jielong_requested)
    events.subscribe("jielong.campaign_opened", add_opened_campaign_to_feeds)
