"""A member's order after the join: cancel it, change it, mark it paid.

Same locking rule as every counter-changing write: the campaign row first, then the order, then SKU
rows in primary-key order (through ``catalogue.stock``).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext as _

from catalogue import stock
from community.access import may_manage_community
from community.models import PickupPoint, User
from groupbuy import clock, events
from groupbuy.commit import after_commit
from groupbuy.money import fen_to_yuan

from .. import events as jielong_events
from .. import ledger
from ..join import after_join, rules
from ..join.rules import JOINABLE, JoinRefused
from ..models import Campaign, CampaignItem, Order, OrderLine


def _broadcast_after_commit(campaign: Campaign) -> None:
    """The snapshot broadcast a change owes, through the campaign outbox the join uses: owed with
    the change (inside its transaction), delivered after commit, and left to ``outbox_sweep`` when
    Redis is down, so a committed change never answers 500 for want of a broadcast."""
    after_join.record_owed(campaign.pk, settle=False, version=campaign.version)
    after_commit(after_join.deliver, campaign.pk, settle=False, version=campaign.version)


def order_cancel(*, order_id: int, user: User) -> Order:
    """Cancel a member's own order before the jielong closes.

    Rule: the stock goes back to the SKUs and a first-N perk place goes back to the pool, where the
    next new joiner receives it; the order keeps its number (numbers are never reused). A group that
    has formed stays formed.
    """
    with transaction.atomic():
        order = Order.objects.select_related("campaign").get(pk=order_id)
        if order.user_id != user.pk:
            raise JoinRefused(_("That is not your order."), code="not_owner")
        campaign = Campaign.objects.select_for_update().get(pk=order.campaign_id)
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != Order.Status.JOINED:
            raise JoinRefused(_("This order can no longer be cancelled."), code="not_cancellable")
        if campaign.status not in JOINABLE or campaign.closes_at <= clock.now():
            raise JoinRefused(_("This jielong is closed; contact your leader."), code="closed")
        returned: dict[int, int] = {}
        for line in order.lines.select_related("item"):
            returned[line.item.sku_id] = returned.get(line.item.sku_id, 0) + line.quantity
        stock.stock_give_back(quantities=returned)
        order.status = Order.Status.CANCELLED
        order.save(update_fields=["status"])
        campaign.joined_count -= 1
        campaign.perk_taken -= int(order.is_perk)
        campaign.version += 1
        campaign.save(update_fields=["joined_count", "perk_taken", "version"])
        events.publish(jielong_events.OrderCancelled(campaign_id=campaign.pk, user_id=user.pk, order_id=order.pk))
        _broadcast_after_commit(campaign)
    return order


def order_mark_paid(*, order_id: int, by: User) -> Order:
    """Record that an order's money arrived (leader collected it, or staff saw the transfer).

    Idempotent: marking a paid order paid again changes nothing.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if not may_manage_community(user=by, community=order.community_id):
            raise JoinRefused(_("Only operators and this community's leader can confirm payments."), code="forbidden")
        if order.status == Order.Status.CANCELLED:
            raise JoinRefused(_("A cancelled order cannot be marked paid."), code="cancelled")
        if order.payment_status == Order.PaymentStatus.PAID:
            return order
        order.payment_status = Order.PaymentStatus.PAID
        order.paid_at = clock.now()
        order.save(update_fields=["payment_status", "paid_at"])
        ledger.payment_record(order=order, by=by)
        events.publish(
            jielong_events.OrderPaid(
                campaign_id=order.campaign_id,
                user_id=order.user_id,
                order_id=order.pk,
                by=by.pk,
                community_id=order.community_id,
                total_fen=order.total_fen,
            )
        )
    return order


def order_update(
    *, order_id: int, user: User, quantities: Mapping[int, int], pickup_point_id: int | None, note: str
) -> Order:
    """Change a member's own order until the jielong closes: items and quantities, pickup point, note.

    Stock moves by the difference only (more taken, or the surplus returned). The order keeps its
    number and its first-N perk; a line keeps the lower of its old price and today's price, new
    lines cost today's price. Per-member limits and the minimum spend hold as for a join. A paid
    order is not changed here (the money no longer matches); the leader handles that.
    Raises ``JoinRefused`` or ``InsufficientStock`` and then changes nothing.
    """
    if not quantities:
        raise rules.join_error({"code": "empty"})
    rules.check_input(quantities=quantities, pickup_point_id=pickup_point_id, note=note)
    with transaction.atomic():
        order = Order.objects.filter(pk=order_id).first()
        if order is None or order.user_id != user.pk:
            raise JoinRefused(_("That is not your order."), code="not_owner")
        campaign = Campaign.objects.select_for_update().get(pk=order.campaign_id)
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != Order.Status.JOINED:
            raise JoinRefused(_("This order can no longer be changed."), code="not_changeable")
        if campaign.status not in JOINABLE or campaign.closes_at <= clock.now():
            raise JoinRefused(_("This jielong is closed; contact your leader."), code="closed")
        if order.payment_status != Order.PaymentStatus.UNPAID:
            raise JoinRefused(_("This order is paid already; ask your leader to change it."), code="paid")
        items = {
            item.pk: item
            for item in CampaignItem.objects.filter(campaign=campaign, pk__in=list(quantities)).prefetch_related(
                "price_tiers"
            )
        }
        for item_id, quantity in quantities.items():
            item = items.get(item_id)
            if item is None:
                raise rules.join_error({"code": "unknown_item"})
            if quantity > item.per_member_limit:
                raise rules.join_error({"code": "over_limit", "params": {"limit": item.per_member_limit, "item": item}})
        pickup_point = order.pickup_point
        if pickup_point_id is not None and pickup_point_id != order.pickup_point_id:
            pickup_point = PickupPoint.objects.filter(
                pk=pickup_point_id, community_id=order.community_id, is_active=True
            ).first()
            if pickup_point is None:
                raise rules.join_error({"code": "bad_pickup_point"})

        old_lines = {line.item_id: line for line in order.lines.select_related("item")}
        old_quantities = {item_id: line.quantity for item_id, line in old_lines.items()}
        new_lines, changed_lines = [], []
        for item_id, quantity in quantities.items():
            price = items[item_id].unit_price_fen(joined=campaign.joined_count, is_perk=order.is_perk)
            line = old_lines.get(item_id)
            if line is None:
                new_lines.append(OrderLine(order=order, item=items[item_id], quantity=quantity, unit_price_fen=price))
            elif line.quantity != quantity or price < line.unit_price_fen:
                line.quantity = quantity
                line.unit_price_fen = min(line.unit_price_fen, price)
                changed_lines.append(line)
        removed = [line for item_id, line in old_lines.items() if item_id not in quantities]
        kept = [line for item_id, line in old_lines.items() if item_id in quantities]
        total_fen = sum(line.quantity * line.unit_price_fen for line in kept + new_lines)
        if total_fen < campaign.min_spend_fen:
            raise JoinRefused(
                _("The minimum order is %(amount)s yuan.") % {"amount": fen_to_yuan(campaign.min_spend_fen)},
                code="below_min_spend",
            )

        # Stock moves by the difference, all SKU rows together in primary-key order (after the campaign row).
        delta: dict[int, int] = {}
        for item_id, quantity in quantities.items():
            delta[items[item_id].sku_id] = quantity - old_quantities.get(item_id, 0)
        for line in removed:
            delta[line.item.sku_id] = -line.quantity
        stock.stock_exchange(
            take={sku_id: units for sku_id, units in delta.items() if units > 0},
            give_back={sku_id: -units for sku_id, units in delta.items() if units < 0},
        )

        OrderLine.objects.filter(pk__in=[line.pk for line in removed]).delete()
        OrderLine.objects.bulk_update(changed_lines, ["quantity", "unit_price_fen"])
        OrderLine.objects.bulk_create(new_lines)
        order.total_fen = total_fen
        order.pickup_point = pickup_point
        order.note = note.strip()[: rules.MAX_NOTE_LENGTH]
        order.save(update_fields=["total_fen", "pickup_point", "note"])
        campaign.version += 1
        campaign.save(update_fields=["version"])
        events.publish(
            jielong_events.OrderUpdated(
                campaign_id=campaign.pk,
                user_id=user.pk,
                order_id=order.pk,
                total_fen=total_fen,
            )
        )
        _broadcast_after_commit(campaign)
    return order
