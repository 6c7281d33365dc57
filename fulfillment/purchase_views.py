"""The operator's purchase pages: the live purchase summary (采购汇总) and each supplier's links."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from catalogue.models import Supplier
from community.access import for_staff, staff_brands
from community.models import Brand
from groupbuy import clock
from groupbuy.errors import DomainError

from .access import console_view
from .models import SupplierLink
from .purchase import day_label, purchase_summary
from .supplier_links import (
    DEFAULT_EXPIRY_DAYS,
    EXPIRY_CHOICES,
    qr_svg,
    supplier_link_create,
    supplier_link_revoke,
    supplier_links,
)


def _brand(request: HttpRequest) -> tuple[Brand | None, list[Brand]]:
    brands = list(staff_brands(request.user).order_by("name"))
    chosen = request.GET.get("brand", "")
    if chosen:
        brand = next((b for b in brands if str(b.pk) == chosen), None)
        if brand is None:
            raise Http404
        return brand, brands
    return (brands[0] if brands else None), brands


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _dates(snapshot: dict) -> list[dict]:
    return [
        {"iso": iso, "date": date.fromisoformat(iso), "label": day_label(iso), "resplit": iso in snapshot["resplit"]}
        for iso in snapshot["dates"]
    ]


@console_view
def purchase(request: HttpRequest) -> HttpResponse:
    """采购汇总: per supplier and SKU, the units ordered, the pick lines per delivery day and the supplier's
    confirmations — live. ``?fragment=1`` renders the suppliers only (the page's script fetches it when
    the summary's shape changed: a new SKU, supplier, day or shortage)."""
    brand, brands = _brand(request)
    focus = _date(request.GET.get("date", ""))
    context = {"brand": brand, "brands": brands, "focus": focus}
    if brand is not None:
        snapshot = purchase_summary(brand_id=brand.pk, include_date=focus)
        context |= {"summary": snapshot, "dates": _dates(snapshot), "now": clock.now()}
    if request.GET.get("fragment") and brand is not None:
        return render(request, "ops/fulfillment/purchase_suppliers.html", context)
    return render(request, "ops/fulfillment/purchase.html", context)


@console_view
def supplier_link_list(request: HttpRequest, supplier_id: int) -> HttpResponse:
    """A supplier's links: make one (shown once, with its QR), see their status, revoke any.

    The new link's token is in this one response and nowhere else (not even the session): the page that
    answers the POST shows it, and its script turns the entry into a plain GET, so a reload neither shows
    it again nor makes a second link."""
    supplier = get_object_or_404(for_staff(Supplier.objects.select_related("brand"), user=request.user), pk=supplier_id)
    new_link = None
    status = 200
    if request.method == "POST":
        try:
            days = int(request.POST.get("days", ""))
        except ValueError:
            days = 0
        try:
            made = supplier_link_create(supplier=supplier, by=request.user, days=days)
        except DomainError as refused:
            messages.error(request, refused.message)
            status = 400
        else:
            url = request.build_absolute_uri(reverse("fulfillment:supplier-page", args=[made.token]))
            new_link = {"id": made.link.pk, "url": url, "qr": qr_svg(url), "expires_at": made.link.expires_at}
    return render(
        request,
        "ops/fulfillment/purchase_links.html",
        {
            "supplier": supplier,
            "links": supplier_links(supplier=supplier),
            "new_link": new_link,
            "expiry_choices": EXPIRY_CHOICES,
            "default_days": DEFAULT_EXPIRY_DAYS,
        },
        status=status,
    )


@console_view
@require_POST
def supplier_link_revoke_view(request: HttpRequest, link_id: int) -> HttpResponse:
    link = get_object_or_404(
        for_staff(SupplierLink.objects.all(), user=request.user, via="supplier__brand"), pk=link_id
    )
    already = link.revoked_at is not None
    supplier_link_revoke(link=link, by=request.user)
    if not already:
        messages.success(request, _("Link revoked: it no longer opens the supplier's page."))
    return redirect("fulfillment:supplier-links", supplier_id=link.supplier_id)
