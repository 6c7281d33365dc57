"""jielong listens to livestream (a session's end, or 发布接龙, opens the campaign prepared for it) and tells
community (an opened campaign appears in its communities' feeds)."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override

from community.feed import publish_feed_item
from groupbuy import events
from livestream import events as livestream_events
from livestream import services as livestream_services

from . import events as jielong_events
from . import services
from .models import Campaign


def open_campaigns_when_session_ends(event: livestream_events.SessionEnded) -> None:
    services.campaigns_open_for_session(live_session_id=event.live_session_id)


def open_campaigns_when_jielong_requested(event: livestream_events.JielongRequested) -> None:
    """The host pressed 发布接龙 in the control panel."""
    services.campaigns_open_for_session(live_session_id=event.live_session_id)


def show_opened_campaign_in_the_live_room(event: jielong_events.CampaignOpened) -> None:
    """The live room's 去接龙 button (livestream sits below jielong, so jielong tells it)."""
    if event.live_session_id:
        livestream_services.session_jielong_opened(live_session_id=event.live_session_id, campaign_id=event.campaign_id)


def refresh_live_sales_metrics(batch: list[jielong_events.OrderJoined | jielong_events.OrderCancelled]) -> None:
    """The host panel's joins and GMV follow the orders of the campaign its session launched."""
    livestream_services.sessions_sales_changed(campaign_ids={event.campaign_id for event in batch})


def add_opened_campaign_to_feeds(event: jielong_events.CampaignOpened) -> None:
    """One feed entry per target community; idempotent by source key (a redelivered event adds none)."""
    campaign = Campaign.objects.prefetch_related("communities", "images").filter(pk=event.campaign_id).first()
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
    events.subscribe(livestream_events.SessionEnded, open_campaigns_when_session_ends)
    events.subscribe(livestream_events.JielongRequested, open_campaigns_when_jielong_requested)
    events.subscribe(jielong_events.CampaignOpened, show_opened_campaign_in_the_live_room)
    events.subscribe(jielong_events.CampaignOpened, add_opened_campaign_to_feeds)
    events.subscribe_many(jielong_events.OrderJoined, refresh_live_sales_metrics)
    events.subscribe_many(jielong_events.OrderCancelled, refresh_live_sales_metrics)
