"""The pickup counter on the leader's / 核销员's phone (/m/pickup/…) and the member's order-panel poll.

Thin views: each parses the request and calls ``fulfillment.pickup`` (services) or ``pickup_day`` (reads).
htmx requests get fragments (the hand-out card, the day's lists); a plain form post gets the whole page,
so the counter still works where scripts do not.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.views.decorators.http import require_GET, require_POST

from community.models import PickupPoint
from groupbuy import clock
from groupbuy.access import member_required
from groupbuy.csp import allow_webassembly
from jielong import selectors as jielong_selectors

from . import access, pickup, pickup_day, pickup_panel
from .models import Handout

RECEIVE_TEMPLATE = "member/fulfillment/_point_receive.html"


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _day(request: HttpRequest, point: PickupPoint | None = None) -> date:
    try:
        return date.fromisoformat(request.GET.get("date") or request.POST.get("date") or "")
    except ValueError:
        return pickup_day.default_day(point=point) if point is not None else clock.localdate()


def _point_for(request: HttpRequest, point_id: int) -> PickupPoint:
    point = get_object_or_404(PickupPoint.objects.select_related("community"), pk=point_id)
    if not access.may_verify_at(user=request.user, point=point.pk):
        raise PermissionDenied
    return point


def _has_receive_include() -> bool:
    """The tracking area's "received at the point" block, once it exists."""
    try:
        get_template(RECEIVE_TEMPLATE)
    except TemplateDoesNotExist:
        return False
    return True


@member_required
@require_GET
def points(request: HttpRequest) -> HttpResponse:
    """The points this leader / 核销员 may verify at, with today's counts."""
    today = clock.localdate()
    rows = pickup_day.verifier_points(user=request.user, day=today)
    if not rows:
        raise PermissionDenied
    return render(request, "member/fulfillment/points.html", {"rows": rows, "today": today})


def _point_context(request: HttpRequest, point: PickupPoint, day: date, **extra) -> dict:
    today = clock.localdate()
    return {
        "point": point,
        "day": pickup_day.point_day(point=point, delivery_date=day),
        "delivery_date": day,
        "today": today,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "has_receive": _has_receive_include(),
        "undo_minutes": int(pickup.undo_window().total_seconds() // 60),
        **extra,
    }


@member_required
@require_GET
def point(request: HttpRequest, point_id: int) -> HttpResponse:
    """One point's counter: scan or type a code, the hand-out card, and the day's lists."""
    the_point = _point_for(request, point_id)
    day = _day(request, the_point)
    extra = {}
    if request.GET.get("code"):  # the code form without scripts
        extra = _card_context(request, the_point, code=request.GET["code"])
    response = render(request, "member/fulfillment/point.html", _point_context(request, the_point, day, **extra))
    return allow_webassembly(response)  # the QR reader (static/js/pickup_scan.js)


def _card_context(request: HttpRequest, point: PickupPoint, *, code: str) -> dict:
    try:
        return {"card": pickup.pickup_lookup(code=code, pickup_point_id=point.pk, by=request.user)}
    except pickup.PickupRefused as exc:
        return {"card_error": exc.message, "typed_code": code}


def _card_response(request: HttpRequest, point: PickupPoint, context: dict, *, status: int = 200) -> HttpResponse:
    if _is_htmx(request):
        # htmx swaps only 2xx answers: a refusal is a card with its message, so it is sent as 200.
        response = render(
            request,
            "member/fulfillment/_handout_card.html",
            {
                "point": point,
                "today": clock.localdate(),
                "undo_minutes": int(pickup.undo_window().total_seconds() // 60),
                **context,
            },
        )
    else:
        response = render(
            request,
            "member/fulfillment/point.html",
            _point_context(request, point, _day(request, point), **context),
            status=status,
        )
    return response


@member_required
@require_GET
def lookup(request: HttpRequest, point_id: int) -> HttpResponse:
    """A scanned or typed code → the hand-out card (who, what to hand over), without verifying."""
    the_point = _point_for(request, point_id)
    context = _card_context(request, the_point, code=request.GET.get("code", ""))
    return _card_response(request, the_point, context)


@member_required
@require_POST
def verify(request: HttpRequest, point_id: int) -> HttpResponse:
    """确认核销."""
    the_point = _point_for(request, point_id)
    code = request.POST.get("code", "")
    try:
        handout = pickup.verify_pickup(code=code, pickup_point_id=the_point.pk, by=request.user)
    except pickup.PickupRefused as exc:
        # Already verified (by the other phone, a moment ago): show that hand-out's card under the message.
        context = _card_context(request, the_point, code=code) if exc.code == "already_verified" else {}
        context.update(card_error=exc.message, typed_code=code)
        return _card_response(request, the_point, context, status=409 if exc.code == "already_verified" else 400)
    card = pickup.handout_card(handout)
    response = _card_response(request, the_point, {"card": card, "just_verified": True})
    response["HX-Trigger"] = "pickup-changed"
    return response


@member_required
@require_POST
def undo(request: HttpRequest, handout_id: int) -> HttpResponse:
    """撤销核销 within the window, with a reason."""
    handout = get_object_or_404(Handout.objects.select_related("pickup_point"), pk=handout_id)
    the_point = _point_for(request, handout.pickup_point_id)
    try:
        pickup.pickup_undo(handout_id=handout.pk, by=request.user, reason=request.POST.get("reason", ""))
    except pickup.PickupRefused as exc:
        handout.refresh_from_db()
        handout.pickup_point = the_point
        context = {"card": pickup.handout_card(handout), "undo_error": exc.message}
        return _card_response(request, the_point, context, status=400)
    handout.refresh_from_db()
    handout.pickup_point = the_point
    response = _card_response(request, the_point, {"card": pickup.handout_card(handout), "just_undone": True})
    response["HX-Trigger"] = "pickup-changed"
    return response


@member_required
@require_GET
def lists(request: HttpRequest, point_id: int) -> HttpResponse:
    """The day's outstanding / picked-up / uncollected lists (refreshed after each 核销)."""
    the_point = _point_for(request, point_id)
    context = _point_context(request, the_point, _day(request, the_point))
    return render(request, "member/fulfillment/_point_lists.html", context)


# --- the member's order panel -------------------------------------------------------------------------


@member_required
@require_GET
def member_order_pickup(request: HttpRequest, order_id: int) -> HttpResponse:
    """The order panel's poll: 204 while nothing changed (``?v=`` is what the page shows), else the panel."""
    order = jielong_selectors.member_order(order_id=order_id, user=request.user)
    if order is None:
        raise Http404
    facts = pickup_panel.order_pickup(order)
    if facts is None:
        return HttpResponse(status=286)  # htmx: stop polling
    if request.GET.get("v") == facts.version:
        return HttpResponse(status=204)
    return HttpResponse(pickup_panel.render_panel(request, facts, refresh=True))
