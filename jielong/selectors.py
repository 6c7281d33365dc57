"""Reads for jielong campaigns."""

from collections.abc import Iterable

from django.db.models import Count, QuerySet, Sum

from community.models import User

from .models import Campaign, Order


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


def open_campaign_count() -> int:
    """Campaigns members can join right now (open, or formed and still open)."""
    return Campaign.objects.filter(status__in=[Campaign.Status.OPEN, Campaign.Status.FORMED]).count()


def session_sales(*, live_session_id: int) -> dict[str, int]:
    """Joins and GMV (fen) of the campaigns a session launched; cancelled orders do not count."""
    totals = (
        Order.objects.filter(campaign__live_session_id=live_session_id)
        .exclude(status=Order.Status.CANCELLED)
        .aggregate(joins=Count("pk"), gmv_fen=Sum("total_fen"))
    )
    return {"joins": totals["joins"] or 0, "gmv_fen": totals["gmv_fen"] or 0}


def ops_campaign_list() -> QuerySet[Campaign]:
    """Every campaign for the operator, newest first."""
    return Campaign.objects.select_related("live_session").order_by("-created_at")


def member_open_campaigns(*, community_ids: Iterable[int], limit: int = 10) -> list[Campaign]:
    """Joinable campaigns aimed at the member's communities, closing soonest first."""
    return list(
        Campaign.objects.filter(
            status__in=[Campaign.Status.OPEN, Campaign.Status.FORMED], communities__in=list(community_ids)
        )
        .distinct()
        .order_by("closes_at")[:limit]
    )


def member_orders(*, user: User, limit: int = 20) -> list[Order]:
    """The member's jielong orders, newest first."""
    return list(
        Order.objects.filter(user=user)
        .select_related("campaign", "pickup_point")
        .prefetch_related("lines__item__sku__product")
        .order_by("-created_at")[:limit]
    )
