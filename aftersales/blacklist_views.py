"""The operator's blacklist pages (售后黑名单), in the after-sales area: who is flagged (reason, by whom,
when, the evidence), whom to review (``selectors.flag_suggestions``), one person's after-sales record with
the flag form, unflagging with a reason, and the log of every flag and unflag. Thin: parse, call one
service, redirect or show the refusal."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from community import services as community_services
from community.access import for_staff, staff_brands
from community.models import Brand, Flag, FlagLogEntry, Membership, User
from groupbuy.access import operator_required
from groupbuy.errors import DomainError

from . import blacklist, selectors
from .models import Request

LOG_PAGE_SIZE = 50


def _brands(request: HttpRequest) -> list[Brand]:
    """The brands this operator may see (a brand's operator: their own; a brand in the URL beyond them is
    not offered, and the page falls back to their own)."""
    return list(staff_brands(request.user))


def _brand(request: HttpRequest, brands: list[Brand]) -> Brand | None:
    wanted = request.POST.get("brand") or request.GET.get("brand") or ""
    chosen = next((b for b in brands if str(b.pk) == wanted), None)
    return chosen or (brands[0] if brands else None)


@operator_required
def ops_blacklist(request: HttpRequest) -> HttpResponse:
    """Everyone flagged now, newest first, with the reason, who flagged them, when and the evidence."""
    flags = list(
        for_staff(Flag.objects.all(), user=request.user)
        .filter(lifted_at__isnull=True)
        .select_related("user", "brand", "flagged_by")
        .order_by("-flagged_at", "-pk")
    )
    labels = dict(Request.Reason.choices)
    for flag in flags:
        flag.reason_rows = [(labels.get(code, code), n) for code, n in (flag.evidence.get("reasons") or {}).items()]
    return render(request, "ops/aftersales/blacklist.html", {"flags": flags, "many_brands": len(_brands(request)) > 1})


@operator_required
def ops_blacklist_suggestions(request: HttpRequest) -> HttpResponse:
    brands = _brands(request)
    brand = _brand(request, brands)
    suggestions = selectors.flag_suggestions(brand_id=brand.pk) if brand else []
    return render(
        request,
        "ops/aftersales/blacklist_suggestions.html",
        {
            "brands": brands,
            "brand": brand,
            "suggestions": suggestions,
            "thresholds": {
                "min_requests": selectors.REVIEW_MIN_REQUESTS,
                "rate": round(selectors.HIGH_REFUND_RATE * 100),
                "amount_fen": selectors.HIGH_REFUND_FEN,
                "many": selectors.MANY_REQUESTS,
                "repeated": selectors.REPEATED_REASON_TIMES,
            },
        },
    )


@operator_required
def ops_blacklist_person(request: HttpRequest, user_id: int) -> HttpResponse:
    """One person's after-sales record in a brand, their flags there, and the flag (or unflag) form."""
    # someone known only to another brand's communities answers 404 to a brand's operator
    person = get_object_or_404(
        for_staff(User.objects.all(), user=request.user, via="memberships__community__brand").distinct(), pk=user_id
    )
    brands = _brands(request)
    brand = _brand(request, brands)
    if brand is None:
        return redirect("aftersales:ops-blacklist")
    error, status = "", 200
    if request.method == "POST":
        try:
            blacklist.person_flag_from_history(
                by=request.user, brand=brand, user=person, reason=request.POST.get("reason", "")
            )
        except DomainError as refused:
            error, status = refused.message, 400
        else:
            messages.success(request, _("%(name)s is flagged.") % {"name": person.display_name})
            return redirect(f"{reverse('aftersales:ops-blacklist-person', args=[person.pk])}?brand={brand.pk}")
    history = selectors.person_history(brand_id=brand.pk, user_id=person.pk)
    return render(
        request,
        "ops/aftersales/blacklist_person.html",
        {
            "person": person,
            "brands": brands,
            "brand": brand,
            "history": history,
            "reason_labels": dict(Request.Reason.choices),
            "requests": list(
                Request.objects.filter(brand=brand, user=person)
                .select_related("order__campaign", "community")
                .order_by("-opened_at", "-pk")[:50]
            ),
            "communities": list(
                Membership.objects.filter(user=person, community__brand=brand)
                .select_related("community")
                .order_by("pk")
            ),
            "flags": list(
                Flag.objects.filter(brand=brand, user=person)
                .select_related("flagged_by", "lifted_by")
                .order_by("-flagged_at", "-pk")
            ),
            "error": error,
            "posted_reason": request.POST.get("reason", "") if error else "",
        },
        status=status,
    )


@operator_required
@require_POST
def ops_blacklist_unflag(request: HttpRequest, flag_id: int) -> HttpResponse:
    flag = get_object_or_404(for_staff(Flag.objects.select_related("user"), user=request.user), pk=flag_id)
    try:
        community_services.person_unflag(by=request.user, flag=flag, reason=request.POST.get("reason", ""))
    except DomainError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("%(name)s is no longer flagged.") % {"name": flag.user.display_name})
    if request.POST.get("next") == "person":
        return redirect(f"{reverse('aftersales:ops-blacklist-person', args=[flag.user_id])}?brand={flag.brand_id}")
    return redirect("aftersales:ops-blacklist")


@operator_required
def ops_blacklist_log(request: HttpRequest) -> HttpResponse:
    """Every flag and unflag, newest first."""
    entries = (
        for_staff(FlagLogEntry.objects.all(), user=request.user)
        .select_related("user", "actor", "brand")
        .order_by("-at", "-pk")
    )
    page = Paginator(entries, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "ops/aftersales/blacklist_log.html",
        {"page": page, "entries": page.object_list, "many_brands": len(_brands(request)) > 1},
    )
