"""Tracking pages: the operator's batch steps, the driver's page (a signed link, no account) and the leader's
"received". Thin: parse, check who may, call ``tracking.batch_move``, say what happened."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from community.access import may_see_brand
from groupbuy import clock
from groupbuy.access import operator_required

from . import access
from .models import BatchMove
from .tracking import TrackingError, batch_move
from .tracking_driver import DriverLinkError, driver_link_open, driver_route

Kind = BatchMove.Kind


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Http404 from None


def _next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


def _id(request: HttpRequest, name: str) -> int | None:
    value = request.POST.get(name, "")
    return int(value) if value.isdigit() else None


def _moved(request: HttpRequest, move: BatchMove) -> None:
    messages.success(
        request,
        _("Recorded “%(step)s” at %(when)s: %(count)s orders moved on.")
        % {"step": move.get_kind_display(), "when": clock.localtime(move.at).strftime("%H:%M"), "count": move.parcels},
    )


# --- the operator -------------------------------------------------------------------------------------


@operator_required
@require_POST
def ops_move(request: HttpRequest, brand_id: int, day: str) -> HttpResponse:
    """One batch step from the delivery-day page (a supplier, a warehouse, a van, a stop or a point)."""
    if not access.may_run_fulfilment(request.user):
        raise PermissionDenied
    if not may_see_brand(user=request.user, brand=brand_id):
        raise Http404  # another brand's delivery day: as if it did not exist
    delivery_date = _day(day)
    fallback = reverse("fulfillment:day", args=[brand_id, delivery_date.isoformat()]) + "#tracking"
    try:
        move = batch_move(
            brand_id=brand_id,
            delivery_date=delivery_date,
            kind=request.POST.get("kind", ""),
            supplier=_id(request, "supplier"),
            warehouse=_id(request, "warehouse"),
            route=_id(request, "route"),
            pickup_point=_id(request, "pickup_point"),
            by=request.user,
        )
    except TrackingError as refused:
        messages.error(request, refused.message)
    else:
        _moved(request, move)
    return redirect(_next(request, fallback))


# --- the driver (a signed link, no account) -------------------------------------------------------


def _open(request: HttpRequest, token: str):
    try:
        return driver_link_open(token), None
    except DriverLinkError as refused:
        status = 410 if refused.code == "expired" else 404
        return None, render(request, "driver/invalid.html", {"message": refused.message}, status=status)


@require_GET
def driver_page(request: HttpRequest, token: str) -> HttpResponse:
    opened, refusal = _open(request, token)
    if refusal:
        return refusal
    route, delivery_date = opened
    page = driver_route(route=route, delivery_date=delivery_date)
    response = render(request, "driver/route.html", {"page": page, "token": token})
    response["Cache-Control"] = "no-store"  # the van's state changes; a back button must not show a stale page
    response["Referrer-Policy"] = "same-origin"  # the token is the key: it must not leak to another site
    return response


def _driver_move(request: HttpRequest, token: str, **target) -> HttpResponse:
    opened, refusal = _open(request, token)
    if refusal:
        return refusal
    route, delivery_date = opened
    try:
        move = batch_move(brand_id=route.brand_id, delivery_date=delivery_date, route=route, **target)
    except TrackingError as refused:
        messages.warning(request, refused.message)
    else:
        _moved(request, move)
    anchor = f"#stop-{target['pickup_point']}" if target.get("pickup_point") else ""
    return redirect(reverse("fulfillment:driver", args=[token]) + anchor)


@require_POST
def driver_depart(request: HttpRequest, token: str) -> HttpResponse:
    return _driver_move(request, token, kind=Kind.ROUTE_DEPARTED)


@require_POST
def driver_arrive(request: HttpRequest, token: str, point_id: int) -> HttpResponse:
    return _driver_move(request, token, kind=Kind.STOP_ARRIVED, pickup_point=point_id)


# --- the leader or 核销员 at the point --------------------------------------------------------------


@require_POST
def point_received(request: HttpRequest, point_id: int, day: str) -> HttpResponse:
    """收货: the point's leader (or a 核销员) says the day's goods are in hand."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.POST.get("next") or "/", reverse("community:member-login"))
    point = get_object_or_404(access.points_visible_to(request.user).select_related("community"), pk=point_id)
    if not access.may_verify_at(user=request.user, point=point):
        raise PermissionDenied
    delivery_date = _day(day)
    try:
        move = batch_move(
            brand_id=point.community.brand_id,
            delivery_date=delivery_date,
            kind=Kind.POINT_RECEIVED,
            pickup_point=point,
            by=request.user,
        )
    except TrackingError as refused:
        messages.warning(request, refused.message)
    else:
        _moved(request, move)
    return redirect(_next(request, reverse("community:member-home")))
