"""Paid orders to refund: an open two-item jielong, members who joined, an operator who marked them paid."""

from __future__ import annotations

from dataclasses import dataclass

from community.models import User
from jielong import services
from jielong.models import Campaign, CampaignItem, Order
from tests import factories as f


@dataclass
class Paid:
    campaign: Campaign
    items: list[CampaignItem]
    orders: list[Order]
    operator: User
    leader: User


def paid_orders(*, members: int = 1, quantities: tuple[int, int] = (2, 1), paid: bool = True) -> Paid:
    """``members`` orders of two items (1590 fen each, ``quantities`` units), marked paid by an operator."""
    given = f.open_campaign(members=members, threshold=1, perk_limit=0)
    second = CampaignItem.objects.create(campaign=given.campaign, sku=f.sku(), price_fen=1590, position=1)
    items = [given.item, second]
    operator = f.operator()
    leader = f.member(nickname="王团长")
    f.membership(user=leader, community=given.community, role="leader")
    orders = []
    for user in given.members:
        order = services.order_join(
            campaign_id=given.campaign.pk,
            user=user,
            quantities={items[0].pk: quantities[0], items[1].pk: quantities[1]},
        ).order
        if paid:
            order = services.order_mark_paid(order_id=order.pk, by=operator)
        orders.append(order)
    return Paid(campaign=given.campaign, items=items, orders=orders, operator=operator, leader=leader)
