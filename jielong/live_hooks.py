"""What the live room needs from jielong, registered into livestream.hooks (livestream never imports jielong)."""

from django.urls import reverse

from groupbuy import clock
from livestream.hooks import CalendarCampaign, CampaignLink, PinCandidate, Sales

from . import selectors
from .models import Campaign, CampaignItem


def session_pin_candidates(live_session_id: int) -> list[PinCandidate]:
    """The items of the campaigns prepared for a session, each SKU once, at the community price."""
    items = (
        CampaignItem.objects.filter(campaign__live_session_id=live_session_id)
        .exclude(campaign__status=Campaign.Status.CANCELLED)
        .select_related("sku__product")
        .order_by("campaign_id", "position", "pk")
    )
    candidates, seen = [], set()
    for item in items:
        if item.sku_id in seen:
            continue
        seen.add(item.sku_id)
        product = item.sku.product
        candidates.append(
            PinCandidate(
                sku_id=item.sku_id,
                name=str(item.sku),
                price_fen=item.price_fen,
                image_url=product.image.url if product.image else "",
            )
        )
    return candidates


def session_sales(live_session_id: int) -> Sales:
    """Joins and GMV of the session's campaigns (cancelled orders left out)."""
    totals = selectors.session_sales(live_session_id=live_session_id)
    return Sales(joins=totals["joins"], gmv_fen=totals["gmv_fen"])


def campaign_url(campaign_id: int) -> str:
    """The members' page of a campaign: the live room's jielong button."""
    return reverse("jielong:member-campaign", args=[campaign_id])


def campaign_is_open(campaign_id: int) -> bool:
    """Whether members can still join: the room hides its jielong button once the campaign has closed."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    return campaign is not None and campaign.is_joinable(at=clock.now())


def session_campaigns(live_session_id: int) -> list[CampaignLink]:
    """The campaigns prepared for or launched by a session, for the operators' live console."""
    now = clock.now()
    return [
        CampaignLink(
            title=c.title,
            status=c.get_status_display(),
            url=reverse("jielong:ops-campaign", args=[c.pk]),
            is_open=c.is_joinable(at=now),
        )
        for c in Campaign.objects.filter(live_session_id=live_session_id).order_by("pk")
    ]


def campaign_builder_url(live_session_id: int) -> str:
    """The jielong builder with this session already chosen."""
    return f"{reverse('jielong:ops-campaign-new')}?live_session={live_session_id}"


def calendar_campaigns(since, until, brand_ids=None) -> list[CalendarCampaign]:
    """Campaigns (drafts included) closing in ``since`` ≤ t < ``until``, for the operators' live calendar
    (only those of ``brand_ids`` when given: a brand's operator)."""
    campaigns = Campaign.objects.filter(closes_at__gte=since, closes_at__lt=until)
    if brand_ids is not None:
        campaigns = campaigns.filter(brand_id__in=brand_ids)
    return [
        CalendarCampaign(
            title=c.title,
            closes_at=c.closes_at,
            status=c.get_status_display(),
            url=reverse("jielong:ops-campaign", args=[c.pk]),
        )
        for c in campaigns.order_by("closes_at", "pk")
    ]
