"""A generated delivery day for fulfilment tests: several suppliers, zones, routes and pickup points.

Orders are written directly (the join path has its own tests); everything is relative to the pinned clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from catalogue.models import SKU, Product, Supplier
from community.models import PickupPoint, User
from fulfillment.models import CampaignDelivery, Route, RouteStop, Warehouse
from fulfillment.split import ensure_delivery
from groupbuy import clock
from jielong.models import Campaign, CampaignItem, Order, OrderLine
from tests import factories

ZONES = [Product.StorageType.AMBIENT, Product.StorageType.CHILLED, Product.StorageType.FROZEN]


@dataclass
class Day:
    brand_id: int
    delivery_date: date
    campaigns: list[Campaign]
    points: list[PickupPoint]
    routes: list[Route]
    skus: list[SKU]
    members: list[User]
    orders: list[Order] = field(default_factory=list)


def make_sku(supplier: Supplier, zone: str, n: int, *, units_per_pack: int = 10) -> SKU:
    product = Product.objects.create(supplier=supplier, name=f"{supplier.name}产品{n}", storage=zone)
    return SKU.objects.create(
        product=product,
        code=f"D{supplier.pk}-{n}",
        spec={"规格": "1份"},
        unit="份",
        list_price_fen=1000,
        stock=10_000,
        zone=zone,
        pack_unit="箱",
        units_per_pack=units_per_pack,
    )


def order(
    campaign: Campaign, user: User, point: PickupPoint, lines: list[tuple[CampaignItem, int]], *, seq: int
) -> Order:
    made = Order.objects.create(
        campaign=campaign,
        user=user,
        community=point.community,
        pickup_point=point,
        seq=seq,
        total_fen=sum(item.price_fen * q for item, q in lines),
        created_at=clock.now(),
    )
    OrderLine.objects.bulk_create(
        OrderLine(order=made, item=item, quantity=q, unit_price_fen=item.price_fen) for item, q in lines
    )
    return made


def make_day(
    *,
    suppliers: int = 3,
    points: int = 4,
    members: int = 12,
    campaigns: int = 2,
    seed: int = 7,
    route_every_point: bool = True,
) -> Day:
    rng = random.Random(seed)
    brand = factories.brand()
    home = factories.community(brand=brand)
    warehouse = Warehouse.objects.create(brand=brand, name=f"城市仓{home.pk}", city="上海")
    farm_list = [Supplier.objects.create(brand=brand, name=f"农场{home.pk}-{i}") for i in range(suppliers)]
    skus = [make_sku(s, ZONES[(i + j) % 3], i * 10 + j) for i, s in enumerate(farm_list) for j in range(2)]
    point_list = [factories.pickup_point(community=home, name=f"自提点{home.pk}-{i}") for i in range(points)]
    # A cold van (chilled + frozen) along every point, an ambient van along the points that are served.
    cold = Route.objects.create(
        brand=brand,
        warehouse=warehouse,
        name=f"冷链线{home.pk}",
        driver_name="王师傅",
        driver_phone="13900001111",
        zones=["chilled", "frozen"],
        departs_at=time(6, 0),
    )
    dry = Route.objects.create(
        brand=brand, warehouse=warehouse, name=f"常温线{home.pk}", zones=["ambient"], departs_at=time(7, 0)
    )
    served = point_list if route_every_point else point_list[:-1]
    for i, p in enumerate(reversed(point_list)):
        RouteStop.objects.create(route=cold, pickup_point=p, position=i + 1)
    for i, p in enumerate(served):
        RouteStop.objects.create(route=dry, pickup_point=p, position=i + 1)
    people = [factories.member() for _ in range(members)]
    for u in people:
        factories.membership(user=u, community=home, default_pickup_point=rng.choice(point_list))
    closes = clock.now() - timedelta(hours=1)
    day = Day(brand.pk, clock.localdate() + timedelta(days=1), [], point_list, [cold, dry], skus, people)
    for c in range(campaigns):
        camp = Campaign.objects.create(
            brand=brand,
            title=f"接龙{c}",
            status=Campaign.Status.FORMED,
            closes_at=closes,
            formed_at=closes - timedelta(hours=1),
        )
        camp.communities.set([home])
        items = [
            CampaignItem.objects.create(campaign=camp, sku=s, price_fen=990, position=i)
            for i, s in enumerate(rng.sample(skus, k=min(4, len(skus))))
        ]
        for seq, u in enumerate(people, start=1):
            chosen = rng.sample(items, k=rng.randint(1, len(items)))
            day.orders.append(
                order(camp, u, rng.choice(point_list), [(it, rng.randint(1, 3)) for it in chosen], seq=seq)
            )
        CampaignDelivery.objects.create(campaign=camp, delivery_date=day.delivery_date)
        day.campaigns.append(camp)
    return day


__all__ = ["Day", "ensure_delivery", "make_day", "make_sku", "order"]
