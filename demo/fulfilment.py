"""The demo's fulfilment (履约): what the 源味集 operator set up to deliver the past 《农场主来了》 jielong.

A city warehouse west of Hangzhou, the catalogue's delivery facts (greens chilled in the cold chain, eggs
ambient), a cold-chain van and an ambient van calling at every pickup point of the three communities, a
核销员 at 阳光花园3栋架空层, and the past jielong delivered the day after its live — split once, so the
delivery-day page shows real pick, loading and hand-out lists.

Called from :func:`demo.story.seed_demo`; safe to run again: rows are found by natural keys, and a
re-run on a later day (the story moves with today) moves the delivery day and drops the old day's lists.
The tracking and pickup states of the 210 orders are planted elsewhere, after this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import connection
from django.db.models import Q

from catalogue.models import SKU, Product, Supplier
from community.models import Brand, PickupPoint, User
from fulfillment.models import (
    CampaignDelivery,
    Handout,
    LoadLine,
    PickLine,
    PointVerifier,
    Route,
    RouteStop,
    Warehouse,
)
from fulfillment.split import SplitResult, split_day
from jielong.models import Campaign

Zone = Product.StorageType

WAREHOUSE = {"name": "源味集杭州城西仓", "city": "杭州", "address": "杭州市余杭区五常大道181号冷链物流园3号库"}

# sku code → (zone, pack unit, units per pack, grams per unit)
SKU_FACTS = {
    "LL-SHQ-500": (Zone.CHILLED, "箱", 20, 500),
    "LL-TOM-500": (Zone.CHILLED, "箱", 20, 500),
    "LL-CUC-500": (Zone.CHILLED, "箱", 20, 500),
    "LL-LET-400": (Zone.CHILLED, "筐", 24, 400),
    "LL-EGG-30": (Zone.AMBIENT, "箱", 6, 1900),
    "LL-EGG-15": (Zone.AMBIENT, "箱", 12, 950),
}

# The vans call west to east: 阳光花园 (西湖区), 翠湖苑 (拱墅区), then across the river to 滨江一号.
STOPS = (
    "阳光花园北门菜鸟驿站",
    "阳光花园南门·陈姐便利店",
    "阳光花园3栋架空层",
    "翠湖苑会所前台",
    "翠湖苑东门鲜果铺",
    "滨江一号物业服务中心",
    "滨江一号B1电梯厅自提柜",
)
COLD_ROUTE = {
    "name": "冷链一线",
    "driver_name": "陈师傅",
    "driver_phone": "+8613905710001",
    "vehicle_plate": "浙A·L3721",
    "zones": [Zone.CHILLED, Zone.FROZEN],
    "departs_at": time(5, 30),
}
AMBIENT_ROUTE = {
    "name": "常温一线",
    "driver_name": "周师傅",
    "driver_phone": "+8613905710002",
    "vehicle_plate": "浙A·C0817",
    "zones": [Zone.AMBIENT],
    "departs_at": time(6, 30),
}
VERIFIER_POINT = "阳光花园3栋架空层"


@dataclass(frozen=True)
class DemoFulfilment:
    warehouse: Warehouse
    routes: list[Route]
    delivery_date: date
    split: SplitResult


def seed_fulfilment(
    *,
    brand: Brand,
    supplier: Supplier,
    past: Campaign,
    operator: User,
    verifier: User,
    delivery_date: date,
    split_at: datetime,
) -> DemoFulfilment:
    """Plant the set-up and split the past jielong's delivery day (see the module docstring)."""
    Supplier.objects.filter(pk=supplier.pk).update(lead_time_days=1, cutoff_time=time(22, 0))
    for code, (zone, pack, per_pack, grams) in SKU_FACTS.items():
        SKU.objects.filter(code=code).update(zone=zone, pack_unit=pack, units_per_pack=per_pack, weight_g=grams)

    warehouse, _ = Warehouse.objects.update_or_create(
        brand=brand, name=WAREHOUSE["name"], defaults={**WAREHOUSE, "is_active": True}
    )
    points = {
        p.name: p
        for p in PickupPoint.objects.filter(community__brand=brand, name__in=STOPS).select_related("community")
    }
    routes = []
    for spec in (COLD_ROUTE, AMBIENT_ROUTE):
        route, _ = Route.objects.update_or_create(
            brand=brand, name=spec["name"], defaults={**spec, "warehouse": warehouse, "is_active": True}
        )
        wanted = [points[name].pk for name in STOPS]
        if list(route.stops.order_by("position").values_list("pickup_point_id", flat=True)) != wanted:
            route.stops.all().delete()
            RouteStop.objects.bulk_create(
                RouteStop(route=route, pickup_point_id=pk, position=n) for n, pk in enumerate(wanted, start=1)
            )
        routes.append(route)

    PointVerifier.objects.get_or_create(
        pickup_point=points[VERIFIER_POINT], user=verifier, defaults={"added_by": operator, "added_at": split_at}
    )

    delivery, _ = CampaignDelivery.objects.get_or_create(campaign=past, defaults={"delivery_date": delivery_date})
    if delivery.delivery_date != delivery_date:
        CampaignDelivery.objects.filter(pk=delivery.pk).update(delivery_date=delivery_date)
    # The split publishes a DaySplit event stamped now, one more analytics row per run; the demo plants
    # history, so that callback is dropped (the seed's own events stand for the past).
    pending = len(connection.run_on_commit)
    result = split_day(brand_id=brand.pk, delivery_date=delivery_date, now=split_at)
    del connection.run_on_commit[pending:]
    _drop_stale_days(brand, keep=delivery_date)
    return DemoFulfilment(warehouse=warehouse, routes=routes, delivery_date=delivery_date, split=result)


def _drop_stale_days(brand: Brand, *, keep: date) -> None:
    """A re-run on a later day moved the story: the lists of days no demo campaign is delivered on go."""
    days = set(CampaignDelivery.objects.filter(campaign__brand=brand).values_list("delivery_date", flat=True))
    stale = Q(brand=brand) & ~Q(delivery_date__in=days | {keep})
    PickLine.objects.filter(stale).delete()
    LoadLine.objects.filter(stale).delete()
    Handout.objects.filter(stale).delete()
