"""Small hand-written factories, used by every test (one way to make test data)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.utils import timezone

from catalogue.models import SKU, Product, Supplier
from community.models import Brand, Community, Membership, PickupPoint, User
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
    start = timezone.now() + starts_in
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
    extra.setdefault("closes_at", timezone.now() + timedelta(days=1))
    c = Campaign.objects.create(brand=brand(), title=extra.pop("title", "有机上海青接龙"), **extra)
    if communities:
        c.communities.set(communities)
    for i in range(items):
        CampaignItem.objects.create(campaign=c, sku=sku(), price_fen=1590, perk_price_fen=1272, position=i)
    return c
