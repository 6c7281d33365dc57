"""The fragments feedback adds to other apps' pages (through ``jielong.hooks`` and ``groupbuy.member_home``)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Avg, Count
from django.http import HttpRequest
from django.template.loader import render_to_string

from fulfillment.models import Parcel
from groupbuy import clock
from jielong.models import Order

from . import nps, selectors
from .models import NpsSurvey, Review

# The member home reminds of orders to review picked up this recently.
HOME_REVIEW_DAYS = 30


def member_order_panel(request: HttpRequest, order) -> str:
    """Once picked up: "评价晒单" (or the member's review), and the NPS question if still open."""
    state = Parcel.objects.filter(pk=order.pk).values_list("state", flat=True).first()
    if state != Parcel.State.PICKED_UP:
        return ""
    review = Review.objects.filter(order_id=order.pk).prefetch_related("photos").first()
    survey = NpsSurvey.objects.filter(user_id=order.user_id, campaign_id=order.campaign_id).first()
    return render_to_string(
        "member/feedback/_order_panel.html",
        {"order": order, "review": review, "survey": survey, "scores": range(11)},
        request=request,
    )


def member_campaign_panel(request: HttpRequest, campaign) -> str:
    found = selectors.reviews_for_campaign(campaign=campaign)
    if not found.count:
        return ""
    return render_to_string("member/feedback/_campaign_reviews.html", {"found": found}, request=request)


def ops_campaign_panel(request: HttpRequest, campaign) -> str:
    reviews = Review.objects.filter(campaign_id=campaign.pk).aggregate(n=Count("pk"), average=Avg("rating"))
    total = nps.nps_total(NpsSurvey.objects.filter(campaign_id=campaign.pk, answered_at__isnull=False))
    asked = NpsSurvey.objects.filter(campaign_id=campaign.pk).count()
    if not reviews["n"] and not asked:
        return ""
    return render_to_string(
        "ops/feedback/_campaign_panel.html",
        {"campaign": campaign, "reviews": reviews, "total": total, "asked": asked},
        request=request,
    )


def member_home_section(request: HttpRequest, community_ids: list[int]) -> dict:
    user = request.user
    since = clock.now() - timedelta(days=HOME_REVIEW_DAYS)
    to_review = list(
        Order.objects.filter(
            user=user, parcel__state=Parcel.State.PICKED_UP, parcel__picked_up_at__gte=since, review__isnull=True
        )
        .select_related("campaign")
        .order_by("-parcel__picked_up_at")[:3]
    )
    return {
        "to_review": to_review,
        "survey": nps.open_surveys(user=user).order_by("-created_at").first(),
        "is_leader": bool(selectors.led_community_ids(user=user)),
    }
