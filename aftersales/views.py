"""After-sales pages. Thin: parse, call one ``aftersales.services`` function, redirect or show the refusal.

Members and leaders are on the phone (/m/…), the operator on a laptop (/ops/aftersales/…). Leaders and
operators share the handling card (``aftersales/_handle.html``) inside their own shells.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from community.access import for_staff, is_flagged, staff_brand_ids, staff_brands
from community.models import PickupPoint
from groupbuy import clock
from groupbuy.access import member_required, operator_required
from groupbuy.errors import DomainError
from groupbuy.money import fen_to_yuan, format_fen, yuan_to_fen
from jielong import ledger, payments
from jielong.models import Campaign, LedgerEntry, Order

from . import access, services
from .models import Request


def _fen(raw: str | None) -> int:
    """ "12.5" → 1250; anything else (letters, three decimals, negative) → a refusal in the user's language."""
    try:
        yuan = Decimal((raw or "").strip() or "0")
    except InvalidOperation:
        raise services.AftersalesRefused(_("Enter the amount in yuan, e.g. 12.50."), code="amount") from None
    if not yuan.is_finite() or yuan < 0 or yuan.as_tuple().exponent < -2:
        raise services.AftersalesRefused(_("Enter the amount in yuan, e.g. 12.50."), code="amount")
    return yuan_to_fen(yuan)


def _lines(order: Order) -> list:
    lines = list(order.lines.select_related("item__sku__product").order_by("pk"))
    for line in lines:
        line.subtotal_fen = line.unit_price_fen * line.quantity
    return lines


# --- the member -----------------------------------------------------------------------------------------------------


@member_required
def member_request_new(request: HttpRequest, order_id: int) -> HttpResponse:
    order = Order.objects.select_related("campaign", "community").filter(pk=order_id, user=request.user).first()
    if order is None:
        raise Http404
    error, status, posted = "", 200, {}
    if request.method == "POST":
        posted = request.POST
        try:
            quantities = {}
            for line in order.lines.all():
                raw = request.POST.get(f"qty-{line.pk}", "").strip() or "0"
                if not raw.isdigit():
                    raise services.AftersalesRefused(_("Enter how many as a whole number."), code="quantity")
                quantities[line.pk] = int(raw)
            ask = request.POST.get("ask", "")
            made = services.request_open(
                order_id=order.pk,
                user=request.user,
                lines=quantities,
                reason=request.POST.get("reason", ""),
                ask=ask,
                asked_fen=_fen(request.POST.get("amount")) if ask == Request.Ask.REFUND else 0,
                description=request.POST.get("description", ""),
                photos=request.FILES.getlist("photos"),
            )
        except DomainError as refused:
            error, status = refused.message, 400
        else:
            return redirect("aftersales:member-request", made.pk)
    else:
        try:
            services.request_open_check_person(user=request.user, brand_id=order.campaign.brand_id)
        except DomainError as refused:
            error = refused.message  # said before the form is filled in; posting it is refused the same way
    lines = _lines(order)
    for line in lines:
        line.posted = posted.get(f"qty-{line.pk}", "")
    return render(
        request,
        "member/aftersales/new.html",
        {
            "order": order,
            "lines": lines,
            "reasons": Request.Reason.choices,
            "asks": Request.Ask.choices,
            "posted": posted,
            "error": error,
            "refundable_fen": ledger.refundable_fen(order=order),
            "max_photos": services.MAX_PHOTOS,
        },
        status=status,
    )


def _detail_context(req: Request) -> dict:
    req_lines = list(req.lines.select_related("order_line__item__sku__product"))
    for line in req_lines:
        line.value_fen = line.order_line.unit_price_fen * line.quantity
    return {
        "req": req,
        "req_lines": req_lines,
        "photos": list(req.photos.all()),
        "thread": list(req.messages.select_related("author")),
        "now": clock.now(),
        "is_overdue": req.is_overdue(at=clock.now()),
        "resolution_text": services.resolution_text(req) if req.is_closed else "",
    }


@member_required
def member_request(request: HttpRequest, pk: int) -> HttpResponse:
    req = get_object_or_404(Request.objects.select_related("order__campaign"), pk=pk, user=request.user)
    context = _detail_context(req)
    try:
        context["provider"] = payments.get_provider(req.order.campaign.payment_method)
    except LookupError:
        context["provider"] = None
    return render(request, "member/aftersales/request.html", context)


# --- leader and operator ----------------------------------------------------------------------------------------------


def _queue(requests, now):
    """Overdue first (red), then the oldest due; closed ones last."""
    rows = list(requests.select_related("order__campaign", "user", "community")[:200])
    for row in rows:
        row.overdue = row.is_overdue(at=now)
        row.due = row.first_answer_due if row.first_answered_at is None else row.resolution_due
    rows.sort(key=lambda r: (r.is_closed, not r.overdue, r.due))
    return rows


@member_required
def leader_queue(request: HttpRequest) -> HttpResponse:
    led = access.led_community_ids(user=request.user)
    if not led:
        raise PermissionDenied
    show_closed = request.GET.get("show") == "closed"
    statuses = (
        [Request.Status.RESOLVED, Request.Status.REJECTED]
        if show_closed
        else [Request.Status.OPEN, Request.Status.ANSWERED]
    )
    rows = _queue(Request.objects.filter(community_id__in=led, status__in=statuses), clock.now())
    return render(request, "member/aftersales/queue.html", {"rows": rows, "show_closed": show_closed})


def _handler_context(request: HttpRequest, req: Request, back: str) -> dict:
    context = _detail_context(req)
    context.update(
        {
            "back": back,
            "refundable_fen": services.request_refundable_fen(request=req),
            "resolutions": Request.Resolution.choices,
            "ledger": list(
                LedgerEntry.objects.filter(order=req.order).exclude(kind=LedgerEntry.Kind.COMMISSION).order_by("pk")
            ),
            "masked_phone": _mask(req.user.phone),
            "asked_yuan": fen_to_yuan(req.asked_fen) if req.asked_fen else "",
        }
    )
    return context


def _mask(phone) -> str:
    from community.phones import mask_phone

    return mask_phone(phone) if phone else ""


@member_required
def leader_request(request: HttpRequest, pk: int) -> HttpResponse:
    req = get_object_or_404(Request.objects.select_related("order__campaign", "user", "community"), pk=pk)
    if req.community_id not in access.led_community_ids(user=request.user):
        raise Http404
    return render(
        request,
        "member/aftersales/handle.html",
        _handler_context(request, req, reverse("aftersales:leader-request", args=[pk])),
    )


@operator_required
def ops_request(request: HttpRequest, pk: int) -> HttpResponse:
    req = get_object_or_404(
        for_staff(Request.objects.select_related("order__campaign", "user", "community"), user=request.user), pk=pk
    )
    context = _handler_context(request, req, reverse("aftersales:ops-request", args=[pk]))
    context["member_flagged"] = is_flagged(user=req.user_id, brand=req.brand_id)
    return render(request, "ops/aftersales/request.html", context)


def _back(request: HttpRequest, fallback: str) -> str:
    back = request.POST.get("back", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return back
    return fallback


@require_POST
def request_reply(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        raise PermissionDenied
    try:
        services.request_reply(request_id=pk, by=request.user, body=request.POST.get("body", ""))
    except DomainError as refused:
        if refused.code == "not_found":
            raise Http404 from None
        messages.error(request, refused.message)
    return redirect(_back(request, reverse("aftersales:member-request", args=[pk])))


@require_POST
def request_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        raise PermissionDenied
    resolution = request.POST.get("resolution", "")
    try:
        amount = _fen(request.POST.get(f"amount-{resolution}")) if resolution in ("refund", "credit") else 0
        req = services.request_resolve(
            request_id=pk, by=request.user, resolution=resolution, amount_fen=amount, note=request.POST.get("note", "")
        )
    except DomainError as refused:
        if refused.code == "not_found":
            raise Http404 from None
        messages.error(request, refused.message)
    else:
        messages.success(request, services.resolution_text(req))
    return redirect(_back(request, reverse("aftersales:member-request", args=[pk])))


@operator_required
def ops_queue(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "open")
    requests = for_staff(Request.objects.all(), user=request.user)
    if show == "closed":
        requests = requests.filter(status__in=[Request.Status.RESOLVED, Request.Status.REJECTED])
    else:
        requests = requests.filter(status__in=[Request.Status.OPEN, Request.Status.ANSWERED])
        if show == "escalated":
            requests = requests.filter(escalated_at__isnull=False)
    now = clock.now()
    rows = _queue(requests, now)
    return render(request, "ops/aftersales/queue.html", {"rows": rows, "show": show, "now": now})


@operator_required
def ops_settings(request: HttpRequest) -> HttpResponse:
    brands = list(staff_brands(request.user))
    if request.method == "POST":
        try:
            brand = get_object_or_404(staff_brands(request.user), pk=int(request.POST.get("brand", "0") or 0))
            services.sla_settings_update(
                brand_id=brand.pk,
                first_answer_hours=int(request.POST.get("first_answer_hours", "0") or 0),
                resolution_hours=int(request.POST.get("resolution_hours", "0") or 0),
                by=request.user,
            )
        except ValueError:
            messages.error(request, _("Enter whole hours."))
        except DomainError as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("aftersales:ops-settings")
    rows = [(brand, services.sla_settings(brand_id=brand.pk)) for brand in brands]
    return render(request, "ops/aftersales/settings.html", {"rows": rows})


def _scope(data) -> dict:
    scope: dict = {}
    try:
        if data.get("campaign"):
            scope["campaign_id"] = int(data["campaign"])
        elif data.get("date"):
            scope["delivery_date"] = date.fromisoformat(data["date"])
            if data.get("point"):
                scope["pickup_point_id"] = int(data["point"])
    except ValueError:
        raise services.AftersalesRefused(_("Choose a campaign or a delivery day."), code="scope") from None
    return scope


@operator_required
def ops_bulk_refund(request: HttpRequest) -> HttpResponse:
    """GET: the preview (each order and amount, the total) with one confirmation; POST: refund exactly that."""
    data = request.POST if request.method == "POST" else request.GET
    error, preview, status = "", None, 200
    try:
        scope = _scope(data)
        if request.method == "POST":
            bulk = services.bulk_refund_confirm(
                by=request.user,
                key=data.get("key", ""),
                expected_total_fen=int(data.get("total", "-1")),
                reason=data.get("reason", ""),
                **scope,
            )
            messages.success(
                request,
                _("Refunded %(n)s orders, %(total)s in all.") % {"n": bulk.orders, "total": format_fen(bulk.total_fen)},
            )
            query = {k: data[k] for k in ("campaign", "date", "point") if data.get(k)}
            return redirect(f"{reverse('aftersales:ops-bulk-refund')}?{urlencode(query)}")
        if scope:
            preview = services.bulk_refund_preview(**scope, brand_ids=staff_brand_ids(request.user))
    except DomainError as refused:
        error, status = refused.message, 400
        if request.method == "POST":
            try:
                preview = services.bulk_refund_preview(**_scope(data), brand_ids=staff_brand_ids(request.user))
            except DomainError:
                preview = None
    except ValueError:
        error, status = _("Open the preview again."), 400
    campaigns = (
        for_staff(Campaign.objects.all(), user=request.user)
        .filter(status__in=[Campaign.Status.FORMED, Campaign.Status.COMPLETED])
        .order_by("-closes_at")[:50]
    )
    points = (
        for_staff(PickupPoint.objects.all(), user=request.user, via="community__brand")
        .select_related("community")
        .order_by("community__name", "name")[:200]
    )
    return render(
        request,
        "ops/aftersales/bulk_refund.html",
        {
            "preview": preview,
            "error": error,
            "key": uuid.uuid4().hex,
            "campaigns": campaigns,
            "points": points,
            "data": data,
        },
        status=status,
    )
