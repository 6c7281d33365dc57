"""Small hand-written factories, used by every test (one way to make test data)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from catalogue.models import SKU, Product, Supplier
from community.models import Brand, Community, Membership, PickupPoint, User
from groupbuy import clock
from jielong.models import Campaign, CampaignItem
from livestream.models import LiveSeries, LiveSession

_seq = itertools.count(1)

DEFAULT_PASSWORD = "pw-for-tests-1"


def brand(name: str = "源味集") -> Brand:
    return Brand.objects.get_or_create(name=name)[0]


def staff(role: str = User.Role.OPERATOR, *, username: str | None = None, **extra) -> User:
    return User.objects.create_user(
        username=username or f"{role}{next(_seq)}", password=DEFAULT_PASSWORD, role=role, **extra
    )


def operator(**extra) -> User:
    return staff(User.Role.OPERATOR, **extra)


def host(**extra) -> User:
    return staff(User.Role.HOST, **extra)


def assistant(**extra) -> User:
    return staff(User.Role.ASSISTANT, **extra)


def member(*, phone: str | None = None, nickname: str = "", **extra) -> User:
    n = next(_seq)
    return User.objects.create_user(
        phone=phone or f"+86139{n:08d}", nickname=nickname or f"邻居{n}", role=User.Role.MEMBER, **extra
    )


def community(*, name: str | None = None, **extra) -> Community:
    n = next(_seq)
    return Community.objects.create(
        brand=extra.pop("brand", None) or brand(), name=name or f"社群{n}", slug=f"c{n}", **extra
    )


def membership(*, user: User, community: Community, role: str = Membership.Role.MEMBER, **extra) -> Membership:
    return Membership.objects.create(user=user, community=community, role=role, **extra)


def pickup_point(*, community: Community, **extra) -> PickupPoint:
    n = next(_seq)
    return PickupPoint.objects.create(
        community=community, name=extra.pop("name", f"自提点{n}"), address="阳光花园3栋", **extra
    )


def sku(*, stock: int = 100, price_fen: int = 1990, name: str | None = None) -> SKU:
    n = next(_seq)
    supplier = Supplier.objects.get_or_create(brand=brand(), name="老李有机农场")[0]
    product = Product.objects.create(supplier=supplier, name=name or f"上海青{n}")
    return SKU.objects.create(
        product=product, code=f"SKU{n}", spec={"规格": "500g"}, list_price_fen=price_fen, stock=stock
    )


def live_session(*, hosts: list[User] | None = None, starts_in: timedelta = timedelta(days=1), **extra) -> LiveSession:
    series = LiveSeries.objects.get_or_create(brand=brand(), title="农场主来了")[0]
    start = clock.now() + starts_in
    session = LiveSession.objects.create(
        series=series,
        title=extra.pop("title", "老李带你逛大棚"),
        scheduled_start=start,
        scheduled_end=start + timedelta(hours=1),
        **extra,
    )
    if hosts:
        session.hosts.set(hosts)
    return session


def campaign(*, communities: list[Community] | None = None, items: int = 1, **extra) -> Campaign:
    extra.setdefault("closes_at", clock.now() + timedelta(days=1))
    c = Campaign.objects.create(brand=brand(), title=extra.pop("title", "有机上海青接龙"), **extra)
    if communities:
        c.communities.set(communities)
    for i in range(items):
        CampaignItem.objects.create(campaign=c, sku=sku(), price_fen=1590, perk_price_fen=1272, position=i)
    return c


@dataclass
class Scenario:
    """An open jielong with one item, in one community whose members can join (see ``open_campaign``)."""

    campaign: Campaign
    item: CampaignItem
    sku: SKU
    community: Community
    point: PickupPoint
    members: list[User]


def open_campaign(
    *,
    members: int = 5,
    stock: int = 100,
    threshold: int = 3,
    perk_limit: int = 2,
    per_member_limit: int = 10,
    point_name: str | None = None,
    **campaign_fields,
) -> Scenario:
    """The scenario most jielong tests start from: an open campaign selling one SKU (``stock`` units,
    at most ``per_member_limit`` per member) to one community with a pickup point and ``members``
    active members (that pickup point is their default). ``campaign_fields`` go to the campaign."""
    home = community()
    point = pickup_point(community=home, **({"name": point_name} if point_name else {}))
    campaign_fields.setdefault("status", Campaign.Status.OPEN)
    made = campaign(communities=[home], group_threshold=threshold, perk_limit=perk_limit, **campaign_fields)
    item = made.items.select_related("sku__product").get()
    item.per_member_limit = per_member_limit
    item.save(update_fields=["per_member_limit"])
    SKU.objects.filter(pk=item.sku_id).update(stock=stock)
    item.sku.refresh_from_db(fields=["stock"])
    users = []
    for _ in range(members):
        user = member()
        membership(user=user, community=home, default_pickup_point=point)
        users.append(user)
    return Scenario(campaign=made, item=item, sku=item.sku, community=home, point=point, members=users)


def add_member(scenario: Scenario, **member_fields) -> User:
    """One more active member of the scenario's community (default pickup point: the scenario's)."""
    user = member(**member_fields)
    membership(user=user, community=scenario.community, default_pickup_point=scenario.point)
    scenario.members.append(user)
    return user
