"""Print views (A4 or 80 mm) and xlsx downloads of the delivery-day documents. Reading only (a download of a
point's hand-out list or labels, with members' names and phones, is an audit entry).

Operators open every document; a pickup point's leader and 核销员 open their point's hand-out list and
labels (``fulfillment.access``).
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from catalogue.models import Supplier
from community.access import for_staff
from community.models import PickupPoint
from groupbuy import audit

from ..access import console_view, may_verify_at, points_visible_to
from ..models import Route, Warehouse
from . import handouts, inbound, pick, route
from .common import paper
from .qr import qr_svg
from .xlsx import xlsx_response


def _audit_point_export(request: HttpRequest, point: PickupPoint, day: date, document: str) -> None:
    audit.record(
        "fulfillment.document_exported",
        actor=request.user,
        target=point,
        brand_id=point.community.brand_id,
        after={"document": document, "day": day},
    )


def _day(iso: str) -> date:
    try:
        return date.fromisoformat(iso)
    except ValueError:
        raise Http404 from None


def _point_reader(request: HttpRequest, point_id: int) -> tuple[PickupPoint | None, HttpResponse | None]:
    """The point, when the user may read its documents (its leader, its 核销员, an operator)."""
    if not request.user.is_authenticated:
        return None, redirect_to_login(request.get_full_path(), reverse("community:member-login"))
    point = get_object_or_404(points_visible_to(request.user).select_related("community"), pk=point_id)
    if not may_verify_at(user=request.user, point=point):
        raise PermissionDenied
    return point, None


def _suppliers(request: HttpRequest):
    """Suppliers of the brands this operator may see: another brand's documents answer 404."""
    return for_staff(Supplier.objects.all(), user=request.user)


def _routes(request: HttpRequest):
    return for_staff(Route.objects.all(), user=request.user)


def _print(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    query = request.GET.copy()
    query.pop("paper", None)
    context |= {"paper": paper(request.GET.get("paper")), "query": query.urlencode()}
    return render(request, template, context)


# --- supplier pick list --------------------------------------------------------------------------------


@require_safe
@console_view
def pick_list(request: HttpRequest, iso: str, supplier_id: int) -> HttpResponse:
    day, supplier = _day(iso), get_object_or_404(_suppliers(request), pk=supplier_id)
    rows = list(pick.pick_list_rows(supplier.pk, day))
    return _print(
        request,
        "print/pick_list.html",
        {
            "day": day,
            "supplier": supplier,
            "rows": rows,
            "units": sum(r.quantity for r in rows),
            "packs": sum(r.packs for r in rows),
            "xlsx_url": reverse("fulfillment:doc-pick-list-xlsx", args=[iso, supplier.pk]),
        },
    )


@require_safe
@console_view
def pick_list_xlsx(request: HttpRequest, iso: str, supplier_id: int) -> HttpResponse:
    day, supplier = _day(iso), get_object_or_404(_suppliers(request), pk=supplier_id)
    return xlsx_response(pick.pick_list_xlsx(supplier.pk, day), pick.pick_list_filename(supplier, day))


# --- warehouse inbound -----------------------------------------------------------------------------------


@require_safe
@console_view
def inbound_list(request: HttpRequest, iso: str, warehouse_id: int) -> HttpResponse:
    day, warehouse = (
        _day(iso),
        get_object_or_404(for_staff(Warehouse.objects.all(), user=request.user), pk=warehouse_id),
    )
    suppliers: list[dict] = []
    for row in inbound.inbound_rows(warehouse.pk, day):  # aggregated: a few hundred rows at most
        if not suppliers or suppliers[-1]["id"] != row.supplier_id:
            suppliers.append({"id": row.supplier_id, "name": row.supplier, "zones": []})
        zones = suppliers[-1]["zones"]
        if not zones or zones[-1]["zone"] != row.zone:
            zones.append({"zone": row.zone, "label": row.zone_label, "rows": [], "packs": 0, "units": 0})
        zones[-1]["rows"].append(row)
        zones[-1]["packs"] += row.packs
        zones[-1]["units"] += row.quantity
    return _print(
        request,
        "print/inbound.html",
        {
            "day": day,
            "warehouse": warehouse,
            "suppliers": suppliers,
            "unrouted": inbound.unrouted_summary(warehouse.brand_id, day),
            "xlsx_url": reverse("fulfillment:doc-inbound-xlsx", args=[iso, warehouse.pk]),
        },
    )


@require_safe
@console_view
def inbound_xlsx(request: HttpRequest, iso: str, warehouse_id: int) -> HttpResponse:
    day, warehouse = (
        _day(iso),
        get_object_or_404(for_staff(Warehouse.objects.all(), user=request.user), pk=warehouse_id),
    )
    return xlsx_response(inbound.inbound_xlsx(warehouse.pk, day), inbound.inbound_filename(warehouse, day))


# --- route loading list and crate labels -------------------------------------------------------------------


@require_safe
@console_view
def route_list(request: HttpRequest, iso: str, route_id: int) -> HttpResponse:
    day, the_route = _day(iso), get_object_or_404(_routes(request).select_related("warehouse"), pk=route_id)
    stops = list(route.route_stops(the_route.pk, day))
    return _print(
        request,
        "print/route.html",
        {
            "day": day,
            "route": the_route,
            "stops": stops,
            "crates": sum(s.crates for s in stops),
            "units": sum(s.units for s in stops),
            "xlsx_url": reverse("fulfillment:doc-route-xlsx", args=[iso, the_route.pk]),
        },
    )


@require_safe
@console_view
def route_xlsx(request: HttpRequest, iso: str, route_id: int) -> HttpResponse:
    day, the_route = _day(iso), get_object_or_404(_routes(request), pk=route_id)
    return xlsx_response(route.route_xlsx(the_route.pk, day), route.route_filename(the_route, day))


@require_safe
@console_view
def crate_labels(request: HttpRequest, iso: str, route_id: int) -> HttpResponse:
    day, the_route = _day(iso), get_object_or_404(_routes(request), pk=route_id)
    labels = [(label, qr_svg(label.payload)) for label in route.crate_labels(the_route, day)]
    return _print(
        request,
        "print/crate_labels.html",
        {
            "day": day,
            "route": the_route,
            "labels": labels,
            "xlsx_url": reverse("fulfillment:doc-crate-labels-xlsx", args=[iso, the_route.pk]),
        },
    )


@require_safe
@console_view
def crate_labels_xlsx(request: HttpRequest, iso: str, route_id: int) -> HttpResponse:
    day, the_route = _day(iso), get_object_or_404(_routes(request), pk=route_id)
    return xlsx_response(route.crate_labels_xlsx(the_route.pk, day), route.crate_labels_filename(the_route, day))


# --- pickup point: hand-out list and labels (leaders and 核销员 too) ---------------------------------------


@require_safe
def handout_list(request: HttpRequest, iso: str, point_id: int) -> HttpResponse:
    point, refused = _point_reader(request, point_id)
    if refused:
        return refused
    day, sort = _day(iso), handouts.sort_key(request.GET.get("sort"))
    rows = list(handouts.handout_rows(point.pk, day, sort=sort))
    return _print(
        request,
        "print/handouts.html",
        {
            "day": day,
            "point": point,
            "rows": rows,
            "sort": sort,
            "units": sum(r.units for r in rows),
            "changed": sum(1 for r in rows if r.is_changed),
            "xlsx_url": reverse("fulfillment:doc-handouts-xlsx", args=[iso, point.pk]) + f"?sort={sort}",
        },
    )


@require_safe
def handout_list_xlsx(request: HttpRequest, iso: str, point_id: int) -> HttpResponse:
    point, refused = _point_reader(request, point_id)
    if refused:
        return refused
    day, sort = _day(iso), handouts.sort_key(request.GET.get("sort"))
    response = xlsx_response(handouts.handouts_xlsx(point.pk, day, sort=sort), handouts.handouts_filename(point, day))
    _audit_point_export(request, point, day, "handouts")
    return response


@require_safe
def handout_labels(request: HttpRequest, iso: str, point_id: int) -> HttpResponse:
    point, refused = _point_reader(request, point_id)
    if refused:
        return refused
    day = _day(iso)
    labels = [(row, qr_svg(row.code)) for row in handouts.handout_rows(point.pk, day) if row.units]
    return _print(
        request,
        "print/handout_labels.html",
        {
            "day": day,
            "point": point,
            "labels": labels,
            "xlsx_url": reverse("fulfillment:doc-handout-labels-xlsx", args=[iso, point.pk]),
        },
    )


@require_safe
def handout_labels_xlsx(request: HttpRequest, iso: str, point_id: int) -> HttpResponse:
    point, refused = _point_reader(request, point_id)
    if refused:
        return refused
    day = _day(iso)
    response = xlsx_response(handouts.handout_labels_xlsx(point.pk, day), handouts.handout_labels_filename(point, day))
    _audit_point_export(request, point, day, "handout labels")
    return response
