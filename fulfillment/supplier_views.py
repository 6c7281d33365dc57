"""The supplier's phone page, opened from its link (``/s/<token>/``): no account, no sign-in.

Every request resolves the token first (``access.supplier_link_for_token``): an unknown token is a 404, an
expired or revoked link a 410 page in the supplier's language, and neither changes anything. The token is
in the address, so responses are never cached and never sent on as a referrer.
"""

from __future__ import annotations

from datetime import date
from functools import wraps

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from groupbuy import clock
from groupbuy.errors import DomainError

from .access import SupplierLinkGone, SupplierLinkUnknown, supplier_link_for_token
from .models import BatchMove, PickLine
from .supplier_links import link_status, supplier_link_touch
from .supplier_selectors import supplier_view
from .supplier_supply import supply_confirm_day
from .tracking import batch_move


def _private(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)
    # Never to other sites (the token is in the address); not "no-referrer": forms would post Origin: null,
    # which the CSRF check refuses.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def supplier_link_required(view):
    """Resolve the token into ``request.supplier_link`` or answer 404 / 410 (and change nothing)."""

    @wraps(view)
    def wrapped(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
        try:
            link = supplier_link_for_token(token)
        except SupplierLinkUnknown:
            raise Http404 from None
        except SupplierLinkGone as gone:
            status = link_status(gone.link)
            response = render(
                request,
                "supplier/gone.html",
                {"link": gone.link, "status": status, "brand": gone.link.supplier.brand},
                status=410,
            )
            return _private(response)
        request.supplier_link = link
        return _private(view(request, token, *args, **kwargs))

    return wrapped


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise Http404 from None


def _back(token: str, day: date | None = None) -> HttpResponse:
    url = reverse("fulfillment:supplier-page", args=[token])
    return redirect(f"{url}#day-{day.isoformat()}" if day else url)


@supplier_link_required
def supplier_page(request: HttpRequest, token: str) -> HttpResponse:
    link = request.supplier_link
    supplier_link_touch(link=link)
    view = supplier_view(supplier=link.supplier)
    return render(
        request,
        "supplier/page.html",
        {
            "token": token,
            "link": link,
            "view": view,
            "brand": link.supplier.brand,
            "now": clock.now(),
        },
    )


@require_POST
@supplier_link_required
def supplier_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The day's form: one quantity per pick line (``q<pick line id>``), confirmed at once."""
    link = request.supplier_link
    day = _day(request.POST.get("date", ""))
    quantities: dict[int, int] = {}
    try:
        for key, value in request.POST.items():
            if key.startswith("q") and key[1:].isdigit():
                quantities[int(key[1:])] = int(value.strip())
    except ValueError:
        messages.error(request, _("Enter a whole number of units, 0 or more."))
        return _back(token, day)
    try:
        result = supply_confirm_day(supplier=link.supplier, delivery_date=day, quantities=quantities)
    except DomainError as refused:
        messages.error(request, refused.message)
        return _back(token, day)
    supplier_link_touch(link=link)
    short = sum(
        line.quantity - line.confirmed_quantity
        for line in PickLine.objects.filter(pk__in=list(result.confirmed))
        if line.confirmed_quantity is not None and line.quantity > line.confirmed_quantity
    )
    if short:
        messages.warning(
            request,
            _("Confirmed. %(short)s units short: the operator sees it and will look after the orders affected.")
            % {"short": short},
        )
    else:
        messages.success(request, _("Confirmed: everything ordered will be supplied. Thank you!"))
    return _back(token, day)


@supplier_link_required
def supplier_pick_list_xlsx(request: HttpRequest, token: str, iso: str) -> HttpResponse:
    """The day's pick list as xlsx, streamed from a temporary file (the documents area writes it)."""
    from .documents.pick import pick_list_filename, pick_list_xlsx
    from .documents.xlsx import xlsx_response

    link = request.supplier_link
    day = _day(iso)
    if not PickLine.objects.filter(supplier=link.supplier, delivery_date=day).exists():
        raise Http404
    supplier_link_touch(link=link)
    return xlsx_response(pick_list_xlsx(link.supplier_id, day), pick_list_filename(link.supplier, day))


@require_POST
@supplier_link_required
def supplier_shipped(request: HttpRequest, token: str) -> HttpResponse:
    """已发货: the supplier's part of the day left the farm (a batch step of the tracking area)."""
    link = request.supplier_link
    day = _day(request.POST.get("date", ""))
    try:
        batch_move(
            brand_id=link.supplier.brand_id,
            delivery_date=day,
            kind=BatchMove.Kind.SUPPLIER_SHIPPED,
            supplier=link.supplier,
            by=None,
        )
    except DomainError as refused:
        messages.error(request, refused.message)
    else:
        supplier_link_touch(link=link)
        messages.success(request, _("Marked as shipped. The warehouse is expecting it."))
    return _back(token, day)
