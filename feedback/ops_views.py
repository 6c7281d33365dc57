"""The operator's pages: every review (hide one with a reason) and NPS by campaign, session, series, community
and month, with the reasons by score band."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from community.access import for_staff, staff_brands
from groupbuy.access import operator_required
from groupbuy.errors import DomainError
from jielong.models import Campaign

from . import nps, reviews
from .models import NpsSurvey, Review


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _date(value) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@operator_required
def review_list(request: HttpRequest) -> HttpResponse:
    shown = request.GET.get("show", "all")
    campaign_id = _int(request.GET.get("campaign"))
    items = (
        for_staff(Review.objects.all(), user=request.user)
        .select_related("user", "campaign", "community", "hidden_by")
        .prefetch_related("photos")
    )
    if shown == "hidden":
        items = items.filter(hidden_at__isnull=False)
    elif shown == "visible":
        items = items.filter(hidden_at__isnull=True)
    campaign = (
        for_staff(Campaign.objects.all(), user=request.user).filter(pk=campaign_id).first() if campaign_id else None
    )
    if campaign:
        items = items.filter(campaign=campaign)
    page = Paginator(items.order_by("-created_at", "-pk"), 30).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in {"show": shown, "campaign": campaign_id or ""}.items() if v})
    return render(
        request,
        "ops/feedback/reviews.html",
        {"page": page, "shown": shown, "campaign": campaign, "query": query},
    )


@operator_required
@require_POST
def review_hide(request: HttpRequest, pk: int) -> HttpResponse:
    if not for_staff(Review.objects.all(), user=request.user).filter(pk=pk).exists():
        raise Http404  # another brand's review: as if it did not exist, and nothing changes
    try:
        reviews.review_hide(review_id=pk, by=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The review is hidden everywhere."))
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/ops/") else "feedback:ops-reviews")


@operator_required
def nps_report(request: HttpRequest) -> HttpResponse:
    brands = list(staff_brands(request.user))
    brand = next((b for b in brands if b.pk == _int(request.GET.get("brand"))), brands[0] if brands else None)
    group = request.GET.get("by", "campaign")
    if group not in nps.GROUPS:
        group = "campaign"
    since, until = _date(request.GET.get("from")), _date(request.GET.get("to"))
    campaign = for_staff(Campaign.objects.all(), user=request.user).filter(pk=_int(request.GET.get("campaign"))).first()
    context = {
        "brands": brands,
        "brand": brand,
        "group": group,
        "groups": [(key, title) for key, (title, _k, _l) in nps.GROUPS.items()],
        "group_title": nps.GROUPS[group][0],
        "since": since,
        "until": until,
        "campaign": campaign,
    }
    if brand is not None:
        surveys = nps.answered(brand=brand, since=since, until=until)
        total = nps.nps_total(surveys)
        focused = surveys.filter(campaign=campaign) if campaign else surveys
        context.update(
            total=total,
            asked=NpsSurvey.objects.filter(brand=brand).count(),
            rows=nps.nps_by(surveys, group=group),
            focus=nps.nps_total(focused) if campaign else None,
            reasons=nps.reasons_by_band(focused),
        )
    return render(request, "ops/feedback/nps.html", context)
