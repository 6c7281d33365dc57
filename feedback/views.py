"""Member and leader pages of the feedback app (phone first): write a review, answer the NPS question, and the
leader's copy-ready reviews for the WeChat group."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from groupbuy.access import member_required
from groupbuy.errors import DomainError

from . import nps, reviews, selectors
from .models import NpsSurvey

COPY_ALL = 5


def _order_url(order_id: int) -> str:
    return reverse("jielong:member-order", args=[order_id])


@member_required
@require_http_methods(["GET", "POST"])
def review_form(request: HttpRequest, order_id: int) -> HttpResponse:
    """评价晒单: stars, words and up to six photos, for a picked-up order of the member's own."""
    context = {"max_photos": reviews.MAX_PHOTOS, "text_max": reviews.TEXT_MAX, "stars": range(5, 0, -1)}
    if request.method == "POST":
        try:
            reviews.review_post(
                order_id=order_id,
                user=request.user,
                rating=request.POST.get("rating"),
                text=request.POST.get("text", ""),
                photos=request.FILES.getlist("photos"),
            )
        except DomainError as exc:
            context.update(error=exc.message, posted=request.POST)
            status = 400
        else:
            messages.success(request, _("Thank you for your review!"))
            return redirect(_order_url(order_id) + "#review")
    else:
        status = 200
    try:
        order = reviews.reviewable_order(order_id=order_id, user=request.user)
    except reviews.ReviewRefused as exc:
        if exc.code == "not_found":
            raise Http404(exc.message) from None
        if status == 200:
            messages.info(request, exc.message)
            return redirect(_order_url(order_id))
        order = None
        context.setdefault("error", exc.message)
    context["order"] = order
    context["order_id"] = order_id
    return render(request, "member/feedback/review_form.html", context, status=status)


@member_required
@require_http_methods(["GET", "POST"])
def nps_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The NPS question: eleven buttons, one tap answers; then, optionally, a reason (written once)."""
    error, status = "", 200
    if request.method == "POST":
        try:
            if "score" in request.POST:
                nps.nps_answer(
                    survey_id=pk,
                    user=request.user,
                    score=request.POST.get("score"),
                    reason=request.POST.get("reason", ""),
                )
            else:
                nps.nps_add_reason(survey_id=pk, user=request.user, reason=request.POST.get("reason", ""))
                messages.success(request, _("Thank you, we read every reason."))
        except DomainError as exc:
            error, status = exc.message, 400
        else:
            return redirect("feedback:member-nps", pk=pk)
    survey = NpsSurvey.objects.select_related("campaign", "brand").filter(pk=pk, user=request.user).first()
    if survey is None:
        raise Http404(_("This survey does not exist."))
    context = {
        "survey": survey,
        "question": nps.brand_question(survey.brand.name),
        "scores": range(11),
        "error": error,
        "reason": request.POST.get("reason", "") if error else "",
    }
    return render(request, "member/feedback/nps.html", context, status=status)


@member_required
def leader_reviews(request: HttpRequest) -> HttpResponse:
    """晒单素材: the recent reviews of the leader's communities, each with a line to copy and its photos to save."""
    if not selectors.led_community_ids(user=request.user):
        raise PermissionDenied
    rows = [(review, selectors.group_copy(review)) for review in selectors.reviews_for_leader(user=request.user)]
    # One message with the best few, for a leader who posts once rather than review by review.
    combined = "\n\n".join([_("What neighbours say:")] + [text for _review, text in rows[:COPY_ALL]])
    return render(
        request,
        "member/feedback/leader.html",
        {"rows": rows, "days": selectors.LEADER_DAYS, "combined": combined, "copy_all": min(len(rows), COPY_ALL)},
    )
