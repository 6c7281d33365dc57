"""Two brands side by side, each with one of everything an operator reads or acts on (issue 16 item 5).

``build(brand_name, tag)`` makes a brand's community, pickup point (with a 核销员), member, leader,
supplier, product and SKU, series and an ended live session, an open campaign with one order and its
delivery day, a warehouse and route, a supplier link, an after-sales request, a flag, a review and a
segment. Every name carries ``tag`` (甲 for brand A, 乙 for brand B), so a page shows whose rows it lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from catalogue.models import SKU, Product, Supplier
from cdp.models import Segment
from community.models import Brand, Community, Flag, Membership, PickupPoint, User
from feedback.models import Review
from fulfillment.models import CampaignDelivery, PointVerifier, Route, SupplierLink, Warehouse
from groupbuy import clock
from jielong.models import Campaign, CampaignItem, Order, OrderLine
from livestream.models import LiveSeries, LiveSession, WarmupRound
from tests import factories


@dataclass
class BrandWorld:
    tag: str
    brand: Brand
    community: Community
    point: PickupPoint
    member: User
    leader: User
    host: User
    supplier: Supplier
    product: Product
    sku: SKU
    series: LiveSeries
    session: LiveSession
    upcoming: LiveSession
    round: WarmupRound
    campaign: Campaign
    order: Order
    delivery: CampaignDelivery
    warehouse: Warehouse
    route: Route
    link: SupplierLink
    verifier: PointVerifier
    request: object
    flag: Flag
    review: Review
    segment: Segment


def build(brand_name: str, tag: str, slug: str) -> BrandWorld:
    from aftersales.models import Request

    now = clock.now()
    brand = factories.brand(brand_name)
    community = Community.objects.create(brand=brand, name=f"{tag}社群", slug=f"{slug}-c")
    point = factories.pickup_point(community=community, name=f"{tag}自提点")
    member = factories.member(nickname=f"{tag}邻居")
    leader = factories.member(nickname=f"{tag}团长")
    joined = now - timedelta(days=20)
    factories.membership(user=member, community=community, default_pickup_point=point, joined_at=joined)
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER, joined_at=joined)
    host = factories.host(brand=brand)
    supplier = Supplier.objects.create(brand=brand, name=f"{tag}农场")
    product = Product.objects.create(supplier=supplier, name=f"{tag}上海青")
    sku = SKU.objects.create(product=product, code=f"{slug}-SKU", list_price_fen=1990, stock=50)
    series = LiveSeries.objects.create(brand=brand, title=f"{tag}系列")
    started = now - timedelta(days=2)
    session = LiveSession.objects.create(
        series=series,
        title=f"{tag}直播",
        status=LiveSession.Status.ENDED,
        scheduled_start=started,
        scheduled_end=started + timedelta(hours=1),
        started_at=started,
        ended_at=started + timedelta(hours=1),
    )
    session.communities.set([community])
    session.hosts.set([host])
    upcoming = LiveSession.objects.create(
        series=series,
        title=f"{tag}下一场",
        scheduled_start=now + timedelta(days=1),
        scheduled_end=now + timedelta(days=1, hours=1),
    )
    upcoming.communities.set([community])
    upcoming.hosts.set([host])
    round_ = WarmupRound.objects.create(
        session=upcoming, kind=WarmupRound.Kind.choices[0][0], send_at=now + timedelta(hours=12), title=f"{tag}预热"
    )
    campaign = Campaign.objects.create(
        brand=brand,
        title=f"{tag}接龙",
        status=Campaign.Status.FORMED,
        live_session=session,
        closes_at=now + timedelta(days=1),
    )
    campaign.communities.set([community])
    item = CampaignItem.objects.create(campaign=campaign, sku=sku, price_fen=1590)
    order = Order.objects.create(
        campaign=campaign,
        user=member,
        community=community,
        pickup_point=point,
        seq=1,
        total_fen=1590,
        created_at=now - timedelta(hours=1),
        payment_status=Order.PaymentStatus.UNPAID,
    )
    OrderLine.objects.create(order=order, item=item, quantity=1, unit_price_fen=1590)
    delivery = CampaignDelivery.objects.create(campaign=campaign, delivery_date=clock.localdate() + timedelta(days=2))
    warehouse = Warehouse.objects.create(brand=brand, name=f"{tag}仓")
    route = Route.objects.create(brand=brand, warehouse=warehouse, name=f"{tag}路线", departs_at=time(6))
    ops = factories.operator(brand=brand)
    link = SupplierLink.objects.create(
        supplier=supplier,
        token_hash=f"{slug}-token".ljust(64, "0"),
        created_by=ops,
        created_at=now,
        expires_at=now + timedelta(days=7),
    )
    verifier = PointVerifier.objects.create(
        pickup_point=point, user=factories.member(nickname=f"{tag}核销员"), added_by=ops, added_at=now
    )
    request = Request.objects.create(
        brand=brand,
        community=community,
        order=order,
        user=member,
        reason=Request.Reason.QUALITY,
        ask=Request.Ask.REFUND,
        asked_fen=500,
        description=f"{tag}坏了",
        opened_at=now,
        first_answer_due=now + timedelta(hours=2),
        resolution_due=now + timedelta(hours=24),
    )
    flag = Flag.objects.create(brand=brand, user=member, reason=f"{tag}理由", flagged_by=ops, flagged_at=now)
    review = Review.objects.create(
        order=order,
        brand=brand,
        campaign=campaign,
        community=community,
        user=member,
        rating=5,
        text=f"{tag}好评",
        created_at=now,
    )
    segment = Segment.objects.create(
        brand=brand,
        name=f"{tag}人群",
        rule={"match": "all", "conditions": [{"field": "orders_in_days", "window": 30, "op": "eq", "value": 0}]},
        created_by=ops,
    )
    return BrandWorld(
        tag=tag,
        brand=brand,
        community=community,
        point=point,
        member=member,
        leader=leader,
        host=host,
        supplier=supplier,
        product=product,
        sku=sku,
        series=series,
        session=session,
        upcoming=upcoming,
        round=round_,
        campaign=campaign,
        order=order,
        delivery=delivery,
        warehouse=warehouse,
        route=route,
        link=link,
        verifier=verifier,
        request=request,
        flag=flag,
        review=review,
        segment=segment,
    )


@dataclass
class World:
    a: BrandWorld  # 源味集, the factories' brand
    b: BrandWorld  # 邻家鲜
    op_a: User  # 源味集's operator
    op_b: User  # 邻家鲜's operator
    op_all: User  # installation-wide (no brand): sees both


def make_world() -> World:
    a = build("源味集", "甲", "jia")
    b = build("邻家鲜", "乙", "yi")
    return World(
        a=a,
        b=b,
        op_a=factories.operator(brand=a.brand, username="ops_a"),
        op_b=factories.operator(brand=b.brand, username="ops_b"),
        op_all=factories.operator(username="ops_all"),
    )
