"""A jielong sold through help-sellers: members who opened sellers' links, joined, paid; a leader at the point."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import time_machine

from community.models import User
from fission import attribution, commissions, sellers
from fission.models import HelpSeller, RuleKind
from groupbuy import clock
from jielong import services
from jielong.models import Campaign, CampaignItem, LedgerEntry, Order
from tests import factories as f

Kind = LedgerEntry.Kind


@dataclass
class Sold:
    campaign: Campaign
    items: list[CampaignItem]
    operator: User
    leader: User
    members: list[User]
    sellers: list[HelpSeller] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)


def selling(*, members: int = 3, help_sellers: int = 2, seller_bp: int = 1000, leader_bp: int = 500) -> Sold:
    """An open two-item jielong (1590 fen each) with ``help_sellers`` invited sellers (KOCs of another
    community), a campaign rule of ``seller_bp`` and a leader rate of ``leader_bp``, and a leader at the point."""
    given = f.open_campaign(members=members, threshold=1, perk_limit=0)
    second = CampaignItem.objects.create(campaign=given.campaign, sku=f.sku(), price_fen=1590, position=1)
    operator = f.operator()
    leader = f.member(nickname="王团长")
    f.membership(user=leader, community=given.community, role="leader")
    given.point.leader = leader
    given.point.save(update_fields=["leader"])
    other = f.community(brand=given.campaign.brand)
    invited = []
    for n in range(help_sellers):
        user = f.member(nickname=f"帮卖{n + 1}")
        f.membership(user=user, community=other, role="koc")
        invited.append(sellers.help_seller_invite(campaign=given.campaign, by=operator, user=user))
    sellers.rule_set(
        campaign=given.campaign,
        kind=RuleKind.PERCENT,
        rate_bp=seller_bp,
        fixed_fen=0,
        leader_rate_bp=leader_bp,
        by=operator,
    )
    return Sold(
        campaign=given.campaign,
        items=[given.item, second],
        operator=operator,
        leader=leader,
        members=given.members,
        sellers=invited,
    )


def join(sold: Sold, user: User, quantities: tuple[int, int] = (2, 1), *, paid: bool = True) -> Order:
    order = services.order_join(
        campaign_id=sold.campaign.pk,
        user=user,
        quantities={sold.items[0].pk: quantities[0], sold.items[1].pk: quantities[1]},
    ).order
    if paid:
        order = services.order_mark_paid(order_id=order.pk, by=sold.operator)
    attribution.attribute_orders(order_ids=[order.pk])
    sold.orders.append(order)
    return order


def pick_up(order: Order, *, at: datetime | None = None) -> list[LedgerEntry]:
    """What a 核销 does to the jielong order, then its hook (the real verification is in test_pickup_hook)."""
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PICKED_UP)
    return commissions.accrue(order_ids=[order.pk], now=at or clock.now())


def touch(sold: Sold, user: User, seller: HelpSeller, at: datetime):
    with time_machine.travel(at, tick=False):
        return attribution.touch_record(campaign=sold.campaign, user=user, token=seller.token)


def net(payee: User) -> int:
    total = 0
    for kind, amount in LedgerEntry.objects.filter(payee=payee).values_list("kind", "amount_fen"):
        total += amount if kind == Kind.COMMISSION else -amount
    return total
