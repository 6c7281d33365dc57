"""Reads of reviews: social proof for a campaign page, the leader's copy-ready list, the operator's list."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from django.db.models import Avg, Count, Q, QuerySet

from community.models import Membership, User
from groupbuy import clock
from jielong.models import Campaign, CampaignItem

from .models import Review

LEADER_DAYS = 14


def visible_reviews() -> QuerySet[Review]:
    return Review.objects.filter(hidden_at__isnull=True)


def _social_proof_order(reviews: QuerySet[Review]) -> QuerySet[Review]:
    """Reviews with photos first, then the newest (what convinces a neighbour)."""
    return reviews.annotate(has_photos=Q(photo_count__gt=0)).order_by("-has_photos", "-created_at", "-pk")


@dataclasses.dataclass(frozen=True)
class CampaignReviews:
    reviews: list[Review]
    count: int
    average: float | None


def reviews_for_campaign(*, campaign: Campaign, limit: int = 6) -> CampaignReviews:
    """Visible reviews of this campaign and of earlier ones that sold any of the same products."""
    products = CampaignItem.objects.filter(campaign_id=campaign.pk).values("sku__product_id")
    same_products = Review.objects.filter(
        brand_id=campaign.brand_id, order__lines__item__sku__product_id__in=products
    ).values("pk")
    reviews = visible_reviews().filter(Q(campaign_id=campaign.pk) | Q(pk__in=same_products))
    totals = reviews.aggregate(n=Count("pk"), average=Avg("rating"))
    shown = list(_social_proof_order(reviews).select_related("user", "campaign").prefetch_related("photos")[:limit])
    return CampaignReviews(shown, totals["n"], totals["average"])


def led_community_ids(*, user: User) -> list[int]:
    return list(
        Membership.objects.filter(user=user, role=Membership.Role.LEADER, status=Membership.Status.ACTIVE).values_list(
            "community_id", flat=True
        )
    )


def reviews_for_leader(*, user: User, days: int = LEADER_DAYS, limit: int = 30) -> list[Review]:
    """The recent visible reviews of the communities ``user`` leads, photos first, to post in the WeChat group."""
    since = clock.now() - timedelta(days=days)
    reviews = visible_reviews().filter(community_id__in=led_community_ids(user=user), created_at__gte=since)
    return list(
        _social_proof_order(reviews).select_related("user", "campaign", "community").prefetch_related("photos")[:limit]
    )


def group_copy(review: Review) -> str:
    """The line a leader pastes into the WeChat group (photos are saved from the page beside it)."""
    stars = "★" * review.rating + "☆" * (5 - review.rating)
    text = f"【{review.campaign.title}】{stars}\n{review.user.display_name}：{review.text}" if review.text else ""
    return text or f"【{review.campaign.title}】{stars} {review.user.display_name}"
