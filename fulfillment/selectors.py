"""Reading fulfilment: delivery days (the hub and the delivery-day page), routes' coverage of pickup points.

``delivery_day(brand_id, delivery_date)`` builds the ``DeliveryDay`` every section of the delivery-day page
gets as ``day`` (purchase, documents, tracking, pickup): rely on its fields, documented below.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, Sum

from catalogue.models import SKU
from community.models import Brand, PickupPoint
from jielong.models import Campaign, Order, OrderLine

from .models import CampaignDelivery, LoadLine, Parcel, PickLine, Route, RouteStop, Zone
from .split import SPLITTABLE

RECENT_DAYS = 14


@dataclass(frozen=True)
class Totals:
    orders: int = 0
    units: int = 0


@dataclass(frozen=True)
class DeliveryDay:
    """One brand's delivery day (配送日): what the delivery-day page and its sections work from.

    - ``brand`` (Brand), ``delivery_date`` (date), ``iso`` ("YYYY-MM-DD", what URLs carry);
    - ``campaigns``: every campaign delivered that day (``CampaignDelivery.delivery_date``), oldest closing
      first, each with ``delivery`` loaded; only formed/completed ones are split;
    - ``point_ids``, ``route_ids``, ``supplier_ids``: the pickup points with parcels that day, the routes
      with load lines, the suppliers with pick lines — every one the split wrote a row for, sorted by id,
      including rows a later split brought to 0 (the documents show those changes: "3 → 0");
    - ``split_at``: when the day was last split (None: never); ``needs_split``: a campaign of the day was
      never split or its orders changed since (``CampaignDelivery.split_version != Campaign.version``);
    - ``unrouted_point_ids``: points with something to deliver in a zone no active route carries there;
    - ``totals``: live orders and units per campaign id (straight from the orders, split or not).
    """

    brand: Brand
    delivery_date: date
    campaigns: list[Campaign]
    point_ids: tuple[int, ...] = ()
    route_ids: tuple[int, ...] = ()
    supplier_ids: tuple[int, ...] = ()
    split_at: datetime | None = None
    needs_split: bool = False
    unrouted_point_ids: tuple[int, ...] = ()
    totals: dict[int, Totals] = field(default_factory=dict)

    @property
    def iso(self) -> str:
        return self.delivery_date.isoformat()

    @property
    def is_split(self) -> bool:
        return self.split_at is not None

    @property
    def orders(self) -> int:
        return sum(t.orders for t in self.totals.values())

    @property
    def units(self) -> int:
        return sum(t.units for t in self.totals.values())


def campaign_totals(campaign_ids) -> dict[int, Totals]:
    """Live (not cancelled) orders and their units per campaign, in two grouped queries."""
    ids = list(campaign_ids)
    live = ~Q(status=Order.Status.CANCELLED)
    orders = dict(
        Order.objects.filter(live, campaign_id__in=ids)
        .values("campaign_id")
        .annotate(n=Count("pk"))
        .values_list("campaign_id", "n")
    )
    units = dict(
        OrderLine.objects.filter(order__campaign_id__in=ids)
        .exclude(order__status=Order.Status.CANCELLED)
        .values("order__campaign_id")
        .annotate(n=Sum("quantity"))
        .values_list("order__campaign_id", "n")
    )
    return {pk: Totals(orders=orders.get(pk, 0), units=units.get(pk) or 0) for pk in ids}


def _needs_split(delivery: CampaignDelivery) -> bool:
    campaign = delivery.campaign
    return campaign.status in SPLITTABLE and (delivery.split_at is None or delivery.split_version != campaign.version)


def _ids(queryset, column: str) -> tuple[int, ...]:
    return tuple(
        queryset.exclude(**{f"{column}__isnull": True}).order_by(column).values_list(column, flat=True).distinct()
    )


def delivery_day(brand_id: int, delivery_date: date) -> DeliveryDay:
    """The ``DeliveryDay`` of one brand and date (raises ``Brand.DoesNotExist`` for an unknown brand)."""
    brand = Brand.objects.get(pk=brand_id)
    deliveries = list(
        CampaignDelivery.objects.filter(campaign__brand_id=brand_id, delivery_date=delivery_date)
        .select_related("campaign")
        .order_by("campaign__closes_at", "campaign_id")
    )
    campaigns = []
    for delivery in deliveries:
        delivery.campaign.delivery = delivery
        campaigns.append(delivery.campaign)
    day = {"brand_id": brand_id, "delivery_date": delivery_date}
    split_times = [d.split_at for d in deliveries if d.split_at]
    return DeliveryDay(
        brand=brand,
        delivery_date=delivery_date,
        campaigns=campaigns,
        point_ids=_ids(Parcel.objects.filter(**day), "pickup_point_id"),
        route_ids=_ids(LoadLine.objects.filter(**day), "route_id"),
        supplier_ids=_ids(PickLine.objects.filter(**day), "supplier_id"),
        split_at=max(split_times) if split_times else None,
        needs_split=any(_needs_split(d) for d in deliveries),
        unrouted_point_ids=_ids(LoadLine.objects.filter(**day, route__isnull=True, quantity__gt=0), "pickup_point_id"),
        totals=campaign_totals(c.pk for c in campaigns),
    )


def is_split(brand_id: int, delivery_date: date) -> bool:
    """Whether the day has lists already (a split wrote its pick lines)."""
    return PickLine.objects.filter(brand_id=brand_id, delivery_date=delivery_date).exists()


@dataclass
class DayRow:
    """A line of the hub: one brand's delivery day."""

    brand: Brand
    delivery_date: date
    campaigns: list[Campaign] = field(default_factory=list)
    orders: int = 0
    units: int = 0
    split_at: datetime | None = None
    needs_split: bool = False
    unrouted_points: int = 0

    @property
    def iso(self) -> str:
        return self.delivery_date.isoformat()


def day_rows(*, today: date, recent_days: int = RECENT_DAYS, brand_ids=None) -> tuple[list[DayRow], list[DayRow]]:
    """(upcoming from ``today`` on, soonest first; the last ``recent_days`` days, latest first), every brand
    (or only ``brand_ids``: a brand's operator)."""
    since = today - timedelta(days=recent_days)
    deliveries = CampaignDelivery.objects.all()
    loads = LoadLine.objects.all()
    if brand_ids is not None:
        deliveries = deliveries.filter(campaign__brand_id__in=brand_ids)
        loads = loads.filter(brand_id__in=brand_ids)
    deliveries = list(
        deliveries.filter(delivery_date__gte=since)
        .select_related("campaign__brand")
        .order_by("delivery_date", "campaign__brand_id", "campaign__closes_at", "campaign_id")
    )
    totals = campaign_totals(d.campaign_id for d in deliveries)
    rows: dict[tuple[int, date], DayRow] = {}
    for delivery in deliveries:
        campaign = delivery.campaign
        row = rows.setdefault(
            (campaign.brand_id, delivery.delivery_date),
            DayRow(brand=campaign.brand, delivery_date=delivery.delivery_date),
        )
        row.campaigns.append(campaign)
        row.orders += totals[campaign.pk].orders
        row.units += totals[campaign.pk].units
        if delivery.split_at and (row.split_at is None or delivery.split_at > row.split_at):
            row.split_at = delivery.split_at
        row.needs_split = row.needs_split or _needs_split(delivery)
    unrouted = (
        loads.filter(delivery_date__gte=since, route__isnull=True, quantity__gt=0)
        .values("brand_id", "delivery_date")
        .annotate(points=Count("pickup_point_id", distinct=True))
    )
    for line in unrouted:
        row = rows.get((line["brand_id"], line["delivery_date"]))
        if row is not None:
            row.unrouted_points = line["points"]
    upcoming = [row for (_b, day), row in rows.items() if day >= today]
    recent = sorted(
        (row for (_b, day), row in rows.items() if day < today), key=lambda r: r.delivery_date, reverse=True
    )
    return upcoming, recent


def formed_without_delivery():
    """Formed campaigns that have no delivery day yet (the split's sweep gives them one; the hub offers it now)."""
    return (
        Campaign.objects.filter(status__in=SPLITTABLE, delivery__isnull=True)
        .select_related("brand")
        .order_by("closes_at", "pk")
    )


# --- routes and the points they serve -------------------------------------------------------------------------


def zones_in_use(brand_id: int) -> list[str]:
    """The zones the brand's products on sale need (in the zones' own order)."""
    used = set(
        SKU.objects.filter(product__supplier__brand_id=brand_id, is_active=True, product__is_active=True)
        .values_list("zone", flat=True)
        .distinct()
    )
    return [zone for zone in Zone.values if zone in used]


def served_zones(brand_id: int) -> dict[int, set[str]]:
    """Pickup point id → the zones some active route of the brand carries there (as the split decides)."""
    served: dict[int, set[str]] = defaultdict(set)
    stops = RouteStop.objects.filter(route__brand_id=brand_id, route__is_active=True)
    for point_id, zones in stops.values_list("pickup_point_id", "route__zones"):
        served[point_id].update(zones or [])
    return served


@dataclass(frozen=True)
class PointCoverage:
    point: PickupPoint
    routes: list[Route]
    missing_zones: list[str]  # zone values no active route carries to the point

    @property
    def missing_labels(self) -> list[str]:
        return [str(Zone(zone).label) for zone in self.missing_zones]


def brand_points(brand_id: int):
    return (
        PickupPoint.objects.filter(community__brand_id=brand_id, is_active=True, community__is_active=True)
        .select_related("community", "leader")
        .order_by("community__name", "name")
    )


def point_coverage(brand_id: int) -> list[PointCoverage]:
    """Every active pickup point of the brand, with its active routes and the zones in use none carries there
    ("这个自提点的冷冻商品没有路线配送": a route that skips a point, caught before the split)."""
    needed = zones_in_use(brand_id)
    served = served_zones(brand_id)
    routes_at: dict[int, list[Route]] = defaultdict(list)
    stops = RouteStop.objects.filter(route__brand_id=brand_id, route__is_active=True).select_related("route")
    for stop in stops.order_by("route__name"):
        routes_at[stop.pickup_point_id].append(stop.route)
    return [
        PointCoverage(
            point=point,
            routes=routes_at.get(point.pk, []),
            missing_zones=[zone for zone in needed if zone not in served.get(point.pk, set())],
        )
        for point in brand_points(brand_id)
    ]


def gaps_by_brand(*, brands=None) -> dict[int, int]:
    """Brand id → how many of its active pickup points miss a zone in use (for the hub's warning), of every brand
    or of ``brands`` (a queryset: the brands a brand's operator may see)."""
    brands = Brand.objects.order_by("pk") if brands is None else brands
    return {brand.pk: sum(1 for c in point_coverage(brand.pk) if c.missing_zones) for brand in brands}
