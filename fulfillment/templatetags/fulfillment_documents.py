"""``{% day_documents day as docs %}``: the names behind the delivery-day page's ids, for its documents section."""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from catalogue.models import Supplier
from community.models import PickupPoint

from ..models import Route, Warehouse

register = template.Library()


@dataclass(frozen=True)
class DayDocuments:
    suppliers: list[Supplier]
    warehouses: list[Warehouse]
    routes: list[Route]
    points: list[PickupPoint]


@register.simple_tag
def day_documents(day) -> DayDocuments:
    routes = list(Route.objects.filter(pk__in=day.route_ids).select_related("warehouse").order_by("name"))
    warehouse_ids = {route.warehouse_id for route in routes}
    if day.unrouted_point_ids:  # every inbound document lists what no route carries: show one even without routes
        warehouse_ids |= set(Warehouse.objects.filter(brand=day.brand, is_active=True).values_list("pk", flat=True))
    return DayDocuments(
        suppliers=list(Supplier.objects.filter(pk__in=day.supplier_ids).order_by("name")),
        warehouses=list(Warehouse.objects.filter(pk__in=warehouse_ids).order_by("name")),
        routes=routes,
        points=list(PickupPoint.objects.filter(pk__in=day.point_ids).select_related("community").order_by("name")),
    )
