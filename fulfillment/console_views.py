"""The operator's fulfilment console (履约): the delivery-day hub and page, warehouses, routes and their stops,
pickup points' 核销员. Thin views: parse, call one ``fulfillment.console`` service, redirect."""

from __future__ import annotations

import re
from datetime import date

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from community.access import for_staff, staff_brand_ids, staff_brands
from community.models import Membership, PickupPoint
from community.phones import mask_phone
from groupbuy import clock
from jielong.models import Campaign

from . import console, selectors
from .access import console_view
from .forms import MoveForm, RouteForm, VerifierForm, WarehouseForm
from .models import CampaignDelivery, PointVerifier, Route, Warehouse, Zone
from .split import SPLITTABLE, SplitResult, default_delivery_date

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SPLIT_KEY = "fulfillment.split:{brand}:{day}"


def _day_or_404(day: str) -> date:
    try:
        if not _ISO_DAY.match(day):
            raise ValueError(day)
        return date.fromisoformat(day)
    except ValueError:
        raise Http404 from None


def _warehouses(request: HttpRequest):
    """The warehouses of the brands this operator may see (lists and object URLs: another brand's is a 404)."""
    return for_staff(Warehouse.objects.all(), user=request.user)


def _routes(request: HttpRequest):
    return for_staff(Route.objects.all(), user=request.user)


def _day_url(brand_id: int, delivery_date: date) -> str:
    return reverse("fulfillment:day", args=[brand_id, delivery_date.isoformat()])


def _add_error(form, exc: console.ConsoleInvalid) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


# --- what a split did, shown once on the day page after the redirect --------------------------------------------


def _remember_split(request: HttpRequest, result: SplitResult, *, first: bool) -> None:
    """Keep what the split did for the day page to show once (``first``: the day had no lists before)."""
    request.session[_SPLIT_KEY.format(brand=result.brand_id, day=result.delivery_date.isoformat())] = {
        "first": first,
        "orders": result.orders,
        "units": result.units,
        "handouts_created": result.handouts_created,
        "pick_lines_changed": result.pick_lines_changed,
        "load_lines_changed": result.load_lines_changed,
        "handout_lines_changed": result.handout_lines_changed,
        "parcels_cancelled": result.parcels_cancelled,
        "changed": result.changed,
        "unrouted_point_ids": list(result.unrouted_point_ids),
    }


def _recall_split(request: HttpRequest, brand_id: int, delivery_date: date) -> dict | None:
    shown = request.session.pop(_SPLIT_KEY.format(brand=brand_id, day=delivery_date.isoformat()), None)
    if shown:
        points = PickupPoint.objects.in_bulk(shown["unrouted_point_ids"])
        shown["unrouted_points"] = [points[pk] for pk in shown["unrouted_point_ids"] if pk in points]
    return shown


# --- delivery days ----------------------------------------------------------------------------------------------


@console_view
def days(request: HttpRequest) -> HttpResponse:
    """The hub: upcoming and recent delivery days of every brand, and formed campaigns without a day yet."""
    brands = staff_brands(request.user)
    upcoming, recent = selectors.day_rows(today=clock.localdate(), brand_ids=staff_brand_ids(request.user))
    gaps = {pk: n for pk, n in selectors.gaps_by_brand(brands=brands).items() if n}
    return render(
        request,
        "ops/fulfillment/days.html",
        {
            "upcoming": upcoming,
            "recent": recent,
            "waiting": list(for_staff(selectors.formed_without_delivery(), user=request.user)),
            "gaps": [(brand, gaps[brand.pk]) for brand in brands.filter(pk__in=gaps)],
            "today": clock.localdate(),
            "several_brands": brands.count() > 1,
        },
    )


@console_view
def day(request: HttpRequest, brand_id: int, day: str) -> HttpResponse:
    delivery_date = _day_or_404(day)
    get_object_or_404(staff_brands(request.user), pk=brand_id)
    the_day = selectors.delivery_day(brand_id, delivery_date)
    unrouted = PickupPoint.objects.filter(pk__in=the_day.unrouted_point_ids).select_related("community")
    return render(
        request,
        "ops/fulfillment/day.html",
        {
            "day": the_day,
            "rows": [(c, the_day.totals[c.pk], c.status in SPLITTABLE) for c in the_day.campaigns],
            "split": _recall_split(request, brand_id, delivery_date),
            "unrouted_points": list(unrouted.order_by("community__name", "name")),
            "move_form": MoveForm(),
            "today": clock.localdate(),
        },
    )


@require_POST
@console_view
def day_split(request: HttpRequest, brand_id: int, day: str) -> HttpResponse:
    delivery_date = _day_or_404(day)
    get_object_or_404(staff_brands(request.user), pk=brand_id)
    first = not selectors.is_split(brand_id, delivery_date)
    try:
        result = console.day_split(by=request.user, brand_id=brand_id, delivery_date=delivery_date)
    except console.ConsoleInvalid as exc:
        messages.error(request, exc.message)
    else:
        _remember_split(request, result, first=first)
    return redirect(_day_url(brand_id, delivery_date) + "#split")


@require_POST
@console_view
def campaign_split(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """ "Split now" for a formed campaign (it gets its delivery date if it has none)."""
    campaign = get_object_or_404(for_staff(Campaign.objects.all(), user=request.user), pk=campaign_id)
    delivery = CampaignDelivery.objects.filter(campaign=campaign).first()
    first = not selectors.is_split(
        campaign.brand_id, delivery.delivery_date if delivery else default_delivery_date(campaign)
    )
    try:
        result = console.campaign_split(by=request.user, campaign=campaign)
    except console.ConsoleInvalid as exc:
        messages.error(request, exc.message)
        back = request.POST.get("next", "")
        safe = url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        return redirect(back if back and safe else "fulfillment:days")
    _remember_split(request, result, first=first)
    return redirect(_day_url(result.brand_id, result.delivery_date) + "#split")


@require_POST
@console_view
def campaign_move(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(for_staff(Campaign.objects.all(), user=request.user), pk=campaign_id)
    delivery = CampaignDelivery.objects.filter(campaign=campaign).first()
    back = _day_url(campaign.brand_id, delivery.delivery_date) if delivery else reverse("fulfillment:days")
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the new delivery date, e.g. 2026-12-08."))
        return redirect(back)
    first = not selectors.is_split(campaign.brand_id, form.cleaned_data["delivery_date"])
    try:
        moved = console.campaign_delivery_move(
            by=request.user, campaign=campaign, delivery_date=form.cleaned_data["delivery_date"]
        )
    except console.ConsoleInvalid as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(
        request,
        _("“%(title)s” is now delivered on %(new)s (was %(old)s); both days were split again.")
        % {"title": campaign.title, "new": moved.new_date.isoformat(), "old": moved.old_date.isoformat()},
    )
    _remember_split(request, moved.new_day, first=first)
    return redirect(_day_url(campaign.brand_id, moved.new_date) + "#split")


# --- warehouses (城市仓) ----------------------------------------------------------------------------------------


@console_view
def warehouses(request: HttpRequest) -> HttpResponse:
    rows = (
        _warehouses(request)
        .select_related("brand")
        .prefetch_related("routes")
        .order_by("brand_id", "-is_active", "name")
    )
    return render(
        request,
        "ops/fulfillment/warehouses.html",
        {"warehouses": rows, "several_brands": staff_brands(request.user).count() > 1},
    )


def _warehouse_page(request: HttpRequest, *, warehouse: Warehouse | None) -> HttpResponse:
    if request.method == "POST":
        form = WarehouseForm(request.POST, warehouse=warehouse, viewer=request.user)
        if form.is_valid():
            try:
                if warehouse is None:
                    brand = form.chosen_brand()
                    if brand is None:
                        raise console.ConsoleInvalid(_("Create the brand first."))
                    saved = console.warehouse_create(by=request.user, brand=brand, data=form.to_input())
                else:
                    saved = console.warehouse_update(by=request.user, warehouse=warehouse, data=form.to_input())
            except console.ConsoleInvalid as exc:
                _add_error(form, exc)
            else:
                messages.success(request, _("Warehouse “%(name)s” saved.") % {"name": saved.name})
                return redirect("fulfillment:warehouses")
    else:
        form = WarehouseForm(warehouse=warehouse, viewer=request.user)
    routes = warehouse.routes.order_by("name") if warehouse else []
    return render(
        request,
        "ops/fulfillment/warehouse_form.html",
        {"form": form, "warehouse": warehouse, "routes": routes},
        status=400 if form.errors else 200,
    )


@console_view
def warehouse_new(request: HttpRequest) -> HttpResponse:
    return _warehouse_page(request, warehouse=None)


@console_view
def warehouse_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _warehouse_page(request, warehouse=get_object_or_404(_warehouses(request), pk=pk))


@require_POST
@console_view
def warehouse_active(request: HttpRequest, pk: int) -> HttpResponse:
    warehouse = get_object_or_404(_warehouses(request), pk=pk)
    is_active = request.POST.get("active") == "1"
    try:
        console.warehouse_set_active(by=request.user, warehouse=warehouse, is_active=is_active)
    except console.ConsoleInvalid as exc:
        messages.error(request, exc.message)
    else:
        done = (
            _("Warehouse “%(name)s” is in use again.") if is_active else _("Warehouse “%(name)s” is no longer in use.")
        )
        messages.success(request, done % {"name": warehouse.name})
    return redirect("fulfillment:warehouses")


# --- routes (配送路线) ------------------------------------------------------------------------------------------


def _zone_pairs(zones) -> list[tuple[str, str]]:
    return [(z, str(Zone(z).label)) for z in zones if z in Zone.values]


@console_view
def routes(request: HttpRequest) -> HttpResponse:
    brands = []
    for brand in staff_brands(request.user):
        brand_routes = list(
            Route.objects.filter(brand=brand).select_related("warehouse").order_by("-is_active", "name")
        )
        for route in brand_routes:
            route.zone_pairs = _zone_pairs(route.zones)
            route.masked_driver_phone = mask_phone(route.driver_phone)
            route.stop_count = route.stops.count()
        brands.append((brand, brand_routes, selectors.point_coverage(brand.pk)))
    return render(
        request,
        "ops/fulfillment/routes.html",
        {"brands": brands, "has_warehouse": _warehouses(request).filter(is_active=True).exists()},
    )


@console_view
def route_new(request: HttpRequest) -> HttpResponse:
    if not _warehouses(request).filter(is_active=True).exists():
        messages.info(request, _("Add the warehouse first: every route starts at a city warehouse."))
        return redirect("fulfillment:warehouse-new")
    if request.method == "POST":
        form = RouteForm(request.POST, viewer=request.user)
        if form.is_valid():
            try:
                route = console.route_save(by=request.user, data=form.to_input())
            except console.ConsoleInvalid as exc:
                _add_error(form, exc)
            else:
                messages.success(
                    request, _("Route “%(name)s” saved. Now add its stops, in order.") % {"name": route.name}
                )
                return redirect(reverse("fulfillment:route", args=[route.pk]) + "#stops")
    else:
        form = RouteForm(initial={"zones": [Zone.CHILLED, Zone.FROZEN]}, viewer=request.user)
    return render(request, "ops/fulfillment/route_new.html", {"form": form}, status=400 if form.errors else 200)


def _route_context(route: Route, form: RouteForm) -> dict:
    coverage = {c.point.pk: c for c in selectors.point_coverage(route.brand_id)}
    stops = list(route.stops.select_related("pickup_point__community", "pickup_point__leader").order_by("position"))
    on_route = {stop.pickup_point_id for stop in stops}
    return {
        "route": route,
        "form": form,
        "stops": [(stop, coverage.get(stop.pickup_point_id)) for stop in stops],
        "addable": [c for pk, c in coverage.items() if pk not in on_route],
        "zone_pairs": _zone_pairs(route.zones),
    }


@console_view
def route_edit(request: HttpRequest, pk: int) -> HttpResponse:
    route = get_object_or_404(_routes(request).select_related("warehouse", "brand"), pk=pk)
    if request.method == "POST":
        form = RouteForm(request.POST, route=route)
        if form.is_valid():
            try:
                console.route_save(by=request.user, data=form.to_input(), route=route)
            except console.ConsoleInvalid as exc:
                _add_error(form, exc)
            else:
                messages.success(request, _("Route “%(name)s” saved.") % {"name": route.name})
                return redirect("fulfillment:route", pk=route.pk)
        route.refresh_from_db()
    else:
        form = RouteForm(route=route)
    return render(
        request, "ops/fulfillment/route.html", _route_context(route, form), status=400 if form.errors else 200
    )


def _int(value) -> int | None:
    return int(value) if str(value or "").isdigit() else None


@require_POST
@console_view
def route_stops(request: HttpRequest, pk: int) -> HttpResponse:
    """One change to the ordered stops: add a point at the end, remove one, move one up or down."""
    route = get_object_or_404(_routes(request), pk=pk)
    action, point_id = request.POST.get("action"), _int(request.POST.get("point"))
    try:
        if point_id is None:
            raise console.ConsoleInvalid(_("Choose a pickup point."))
        if action == "add":
            console.route_stop_add(by=request.user, route=route, point_id=point_id)
        elif action == "remove":
            console.route_stop_remove(by=request.user, route=route, point_id=point_id)
        elif action in ("up", "down"):
            console.route_stop_move(by=request.user, route=route, point_id=point_id, offset=-1 if action == "up" else 1)
        else:
            raise console.ConsoleInvalid(_("Unknown change to the stops."))
    except console.ConsoleInvalid as exc:
        messages.error(request, exc.message)
    return redirect(reverse("fulfillment:route", args=[route.pk]) + "#stops")


@require_POST
@console_view
def route_active(request: HttpRequest, pk: int) -> HttpResponse:
    route = get_object_or_404(_routes(request).select_related("warehouse"), pk=pk)
    is_active = request.POST.get("active") == "1"
    try:
        console.route_set_active(by=request.user, route=route, is_active=is_active)
    except console.ConsoleInvalid as exc:
        messages.error(request, exc.message)
    else:
        done = _("Route “%(name)s” runs again.") if is_active else _("Route “%(name)s” no longer runs.")
        messages.success(request, done % {"name": route.name})
    return redirect("fulfillment:route", pk=route.pk)


# --- pickup points and their 核销员 ----------------------------------------------------------------------------


@console_view
def points(request: HttpRequest) -> HttpResponse:
    verifiers: dict[int, list] = {}
    visible = for_staff(PointVerifier.objects.all(), user=request.user, via="pickup_point__community__brand")
    for verifier in visible.select_related("user").order_by("added_at"):
        verifiers.setdefault(verifier.pickup_point_id, []).append(verifier.user)
    brands = [
        (brand, [(c, verifiers.get(c.point.pk, [])) for c in selectors.point_coverage(brand.pk)])
        for brand in staff_brands(request.user)
    ]
    return render(request, "ops/fulfillment/points.html", {"brands": brands})


def _point_page(request: HttpRequest, point: PickupPoint, form: VerifierForm, *, status: int = 200) -> HttpResponse:
    community_leaders = (
        Membership.objects.filter(
            community=point.community, role=Membership.Role.LEADER, status=Membership.Status.ACTIVE
        )
        .select_related("user")
        .order_by("joined_at")
    )
    coverage = next((c for c in selectors.point_coverage(point.community.brand_id) if c.point.pk == point.pk), None)
    return render(
        request,
        "ops/fulfillment/point.html",
        {
            "point": point,
            "form": form,
            "verifiers": point.verifiers.select_related("user", "added_by").order_by("added_at"),
            "community_leaders": [m.user for m in community_leaders if m.user_id != point.leader_id],
            "coverage": coverage,
        },
        status=status,
    )


def _point_or_404(request: HttpRequest, pk: int) -> PickupPoint:
    """The pickup point in the URL, if its community is of a brand this operator may see (404 otherwise)."""
    points = for_staff(PickupPoint.objects.all(), user=request.user, via="community__brand")
    return get_object_or_404(points.select_related("community", "leader"), pk=pk)


@console_view
def point(request: HttpRequest, pk: int) -> HttpResponse:
    return _point_page(request, _point_or_404(request, pk), VerifierForm())


@require_POST
@console_view
def verifier_add(request: HttpRequest, pk: int) -> HttpResponse:
    the_point = _point_or_404(request, pk)
    form = VerifierForm(request.POST)
    if form.is_valid():
        try:
            added = console.verifier_add(by=request.user, point=the_point, phone=form.cleaned_data["phone"])
        except console.ConsoleInvalid as exc:
            _add_error(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s can now verify pickups at %(point)s.")
                % {"name": added.user.display_name, "point": the_point.name},
            )
            return redirect("fulfillment:point", pk=the_point.pk)
    return _point_page(request, the_point, form, status=400)


@require_POST
@console_view
def verifier_remove(request: HttpRequest, pk: int, verifier_id: int) -> HttpResponse:
    verifier = get_object_or_404(
        PointVerifier.objects.select_related("user"), pk=verifier_id, pickup_point=_point_or_404(request, pk)
    )
    console.verifier_remove(by=request.user, verifier=verifier)
    messages.success(request, _("%(name)s no longer verifies at this point.") % {"name": verifier.user.display_name})
    return redirect("fulfillment:point", pk=pk)


# --- the operator's jielong campaign page (through jielong.hooks) --------------------------------------------------


def ops_campaign_panel(request: HttpRequest, campaign) -> str:
    """The campaign's delivery day on its ops page: the date and a link, or "split now" when formed without one."""
    delivery = CampaignDelivery.objects.filter(campaign_id=campaign.pk).first()
    if delivery is None and campaign.status not in SPLITTABLE:
        return ""
    return render_to_string(
        "ops/fulfillment/_campaign_panel.html",
        {"campaign": campaign, "delivery": delivery, "is_formed": campaign.status in SPLITTABLE},
        request=request,
    )
