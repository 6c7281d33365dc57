"""What after-sales adds to other apps' pages: 申请售后 on the member's order page, the leader's entry on the
member home, and the requests and bulk refund on the operator's campaign page."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string

from groupbuy import clock
from jielong.models import Campaign, Order

from . import access
from .models import Request

CLAIMABLE = (Campaign.Status.FORMED, Campaign.Status.COMPLETED)


def member_order_panel(request: HttpRequest, order) -> str:
    """The provider ``jielong.hooks.member_order_panels`` calls: this order's requests and 申请售后."""
    if order.user_id != request.user.pk:
        return ""
    requests = list(Request.objects.filter(order=order).order_by("-opened_at"))
    may_open = order.status != Order.Status.CANCELLED and order.campaign.status in CLAIMABLE
    if not requests and not may_open:
        return ""
    has_open = any(not r.is_closed and r.source == Request.Source.MEMBER for r in requests)
    return render_to_string(
        "member/aftersales/_order_panel.html",
        {"order": order, "requests": requests, "may_open": may_open and not has_open},
        request=request,
    )


def leader_home_entry(request: HttpRequest, community_ids: list[int]) -> dict:
    """The leader's queue entry on the member home: open requests in the communities they lead."""
    led = access.led_community_ids(user=request.user)
    if not led:
        return {}
    open_requests = list(
        Request.objects.filter(community_id__in=led, status__in=[Request.Status.OPEN, Request.Status.ANSWERED]).only(
            "pk", "status", "first_answer_due", "resolution_due", "first_answered_at"
        )
    )
    now = clock.now()
    return {
        "is_leader": True,
        "open": len(open_requests),
        "overdue": sum(r.is_overdue(at=now) for r in open_requests),
    }


def ops_campaign_panel(request: HttpRequest, campaign) -> str:
    counts = {"open": 0, "closed": 0}
    for status in Request.objects.filter(order__campaign=campaign).values_list("status", flat=True):
        counts["closed" if status in (Request.Status.RESOLVED, Request.Status.REJECTED) else "open"] += 1
    return render_to_string(
        "ops/aftersales/_campaign_panel.html", {"campaign": campaign, "counts": counts}, request=request
    )
