"""A campaign's life: open (now or at a time), close at the deadline (成团 or 不成团), settle tier prices.

Locking rule for every write that changes a campaign's counters: lock the campaign row first
(``select_for_update``), then SKU rows in primary-key order (``catalogue.stock`` does that part).
"""

from __future__ import annotations

import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from catalogue import stock
from groupbuy import audit, clock, events
from groupbuy.errors import DomainError
from groupbuy.money import fen_to_yuan
from livestream.models import Notification

from .. import broadcast, ledger
from .. import events as jielong_events
from ..join.rules import JOINABLE
from ..models import Campaign, Order, OrderLine

logger = logging.getLogger(__name__)


class CampaignStateError(DomainError):
    pass


def campaign_open(*, campaign: Campaign, opens_at=None) -> Campaign:
    """Open a draft campaign (the jielong link goes out to its communities), now or at ``opens_at``.

    Until ``opens_at`` only KOCs inside their early window can join.
    """
    now = clock.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status != Campaign.Status.DRAFT:
            raise CampaignStateError(_("Only a draft campaign can be opened."))
        if campaign.closes_at <= max(now, opens_at or now):
            raise CampaignStateError(_("The closing time has already passed."))
        campaign.status = Campaign.Status.OPEN
        campaign.opens_at = max(now, opens_at or now)
        campaign.version += 1
        campaign.save(update_fields=["status", "opens_at", "version"])
        events.publish(jielong_events.CampaignOpened(campaign_id=campaign.pk, live_session_id=campaign.live_session_id))
        transaction.on_commit(partial(broadcast.snapshot_changed, campaign.pk))
    return campaign


def campaigns_open_for_session(*, live_session_id: int) -> list[Campaign]:
    """Open every draft campaign prepared for a session (called when the session ends). One that cannot
    open (its closing time passed, a fault) is logged and skipped: it must not keep the others shut."""
    opened = []
    drafts = Campaign.objects.filter(live_session_id=live_session_id, status=Campaign.Status.DRAFT).order_by("pk")
    for campaign in drafts:
        try:
            opened.append(campaign_open(campaign=campaign))
        except Exception:
            logger.exception("campaign %s of live session %s did not open", campaign.pk, live_session_id)
    return opened


def campaign_close(*, campaign_id: int) -> Campaign:
    """Close a campaign at its deadline: a formed group completes; an unformed one fails (不成团),
    its orders are cancelled, stock returns, paid orders are refunded, and each member finds why in their
    inbox — all in one transaction."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status not in JOINABLE:
            return campaign  # already closed: closing twice is a no-op, so the task may retry
        if campaign.status == Campaign.Status.FORMED:
            campaign_settle_prices(campaign_id=campaign.pk)
            campaign.refresh_from_db(fields=["version"])
            campaign.status = Campaign.Status.COMPLETED
            closed_event = jielong_events.CampaignCompleted
        else:
            campaign.status = Campaign.Status.FAILED
            closed_event = jielong_events.CampaignFailed
            orders = list(Order.objects.select_for_update().filter(campaign=campaign, status=Order.Status.JOINED))
            returned: dict[int, int] = {}
            for line in OrderLine.objects.filter(order__in=orders).select_related("item"):
                returned[line.item.sku_id] = returned.get(line.item.sku_id, 0) + line.quantity
            stock.stock_give_back(quantities=returned)
            Order.objects.filter(pk__in=[o.pk for o in orders]).update(status=Order.Status.CANCELLED)
            # Money already collected goes back in full; the refund itself happens outside (transfer or cash),
            # and is written to the ledger with the change.
            refunded = ledger.refund_failed_campaign(order_ids=[o.pk for o in orders], campaign_id=campaign.pk)
            if refunded:
                audit.record(
                    "jielong.failed_campaign_refunded",
                    target=campaign,
                    brand_id=campaign.brand_id,
                    after={"total_fen": refunded},
                )
            Order.objects.filter(pk__in=[o.pk for o in orders], payment_status=Order.PaymentStatus.PAID).update(
                payment_status=Order.PaymentStatus.REFUNDED, refunded_fen=F("total_fen")
            )
            _tell_members_not_formed(campaign, orders)
        campaign.version += 1
        campaign.save(update_fields=["status", "version"])
        events.publish(closed_event(campaign_id=campaign.pk, joined=campaign.joined_count))
        transaction.on_commit(partial(broadcast.snapshot_changed, campaign.pk))
    return campaign


def _tell_members_not_formed(campaign: Campaign, orders: list[Order]) -> None:
    """不成团: each member whose order was cancelled finds why in their inbox, written with the cancellation
    (one message per order; closing again is a no-op, so never two)."""
    with translation.override(settings.LANGUAGE_CODE):
        title = _("“%(title)s” did not form a group") % {"title": campaign.title}
        messages = []
        facts = {"threshold": campaign.group_threshold, "joined": campaign.joined_count}
        for order in orders:
            if order.payment_status == Order.PaymentStatus.PAID:
                body = _(
                    "It needed %(threshold)s people and %(joined)s joined before it closed, so your order was "
                    "cancelled. The %(amount)s yuan you paid is refunded in full."
                ) % {**facts, "amount": fen_to_yuan(order.total_fen)}
            else:
                body = (
                    _(
                        "It needed %(threshold)s people and %(joined)s joined before it closed, so your order was "
                        "cancelled."
                    )
                    % facts
                )
            link = reverse("jielong:member-order", kwargs={"order_id": order.pk})
            messages.append(Notification(user_id=order.user_id, title=title[:100], body=body, link=link))
    Notification.objects.bulk_create(messages)


def campaigns_close_due() -> list[int]:
    """Close every joinable campaign whose deadline has passed. Safe to run concurrently and twice.

    A campaign that fails to close is logged and left for the next sweep; the others still close."""
    due = (
        Campaign.objects.filter(status__in=JOINABLE, closes_at__lte=clock.now())
        .order_by("closes_at", "pk")
        .values_list("pk", flat=True)
    )
    closed = []
    for campaign_id in due:
        try:
            campaign_close(campaign_id=campaign_id)
        except Exception:
            logger.exception("campaign %s did not close; the next sweep tries again", campaign_id)
            continue
        closed.append(campaign_id)
    return closed


def campaign_settle_prices(*, campaign_id: int) -> int:
    """Settle every live order down to the tier prices reached (阶梯价). Prices only ever fall:
    a tier once reached stays reached for orders already placed. Returns how many orders changed."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        orders = list(
            Order.objects.filter(campaign=campaign, status=Order.Status.JOINED).prefetch_related(
                "lines__item__price_tiers"
            )
        )
        changed_lines, changed_orders = [], []
        for order in orders:
            for line in order.lines.all():
                price = min(
                    line.unit_price_fen, line.item.unit_price_fen(joined=campaign.joined_count, is_perk=order.is_perk)
                )
                if price != line.unit_price_fen:
                    line.unit_price_fen = price
                    changed_lines.append(line)
            total = sum(line.quantity * line.unit_price_fen for line in order.lines.all())
            if total != order.total_fen:
                order.total_fen = total
                changed_orders.append(order)
        OrderLine.objects.bulk_update(changed_lines, ["unit_price_fen"])
        Order.objects.bulk_update(changed_orders, ["total_fen"])
        if changed_orders:
            campaign.version += 1
            campaign.save(update_fields=["version"])
            # Each order's new total, as a change of the order says it (the stream's rollups, bi.rollups, fold
            # the amounts from these): the same event as a member's own change (order_update).
            events.publish_many(
                [
                    jielong_events.OrderUpdated(
                        campaign_id=campaign_id, user_id=order.user_id, order_id=order.pk, total_fen=order.total_fen
                    )
                    for order in changed_orders
                ]
            )
            events.publish(jielong_events.PricesSettled(campaign_id=campaign_id, orders=len(changed_orders)))
    return len(changed_orders)
