"""The ORM twin of ``jielong_join`` (``jielong_join_v4.sql``): the same join rules for the embedded
SQLite demo, where there is no PL/pgSQL. The test suite runs every join test against both; change
one, change the other.

Locking: the campaign row first (``select_for_update``), then the SKU rows in primary-key order
(``catalogue.stock.stock_take``). All joins of one campaign queue on the campaign row, which is what
makes ``seq`` gapless and the first-N perk exact.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import IntegrityError, transaction

from catalogue import stock
from community.access import is_flagged
from community.models import Membership, PickupPoint, User
from groupbuy import clock, events
from groupbuy.commit import after_commit

from .. import events as jielong_events
from ..models import Campaign, CampaignItem, Order, OrderLine
from . import after_join
from .rules import JOINABLE, MAX_KEY_LENGTH, MAX_NOTE_LENGTH, JoinResult, join_error


def check_join(
    *, campaign: Campaign, user: User, quantities: Mapping[int, int], pickup_point_id: int | None
) -> tuple[Membership, dict[int, CampaignItem], set[int], PickupPoint | None]:
    """Validate a join without locking anything; the locked part re-checks what can change."""
    if campaign.status not in JOINABLE or campaign.closes_at <= clock.now():
        raise join_error({"code": "closed"})
    membership = (
        Membership.objects.filter(user=user, community__in=campaign.communities.all(), status=Membership.Status.ACTIVE)
        .select_related("default_pickup_point")
        .order_by("pk")
        .first()
    )
    if membership is None:
        raise join_error({"code": "not_member"})
    if is_flagged(user=user, brand=campaign.brand_id):
        raise join_error({"code": "not_available"})
    if not campaign.is_joinable(at=clock.now(), is_koc=membership.role == Membership.Role.KOC):
        raise join_error({"code": "not_open_yet"})
    if not quantities:
        raise join_error({"code": "empty"})
    all_items = CampaignItem.objects.filter(campaign=campaign).prefetch_related("price_tiers")
    items = {item.pk: item for item in all_items if item.pk in quantities}
    for item_id, quantity in quantities.items():
        item = items.get(item_id)
        if item is None:
            raise join_error({"code": "unknown_item"})
        if quantity > item.per_member_limit:
            raise join_error({"code": "over_limit", "params": {"limit": item.per_member_limit, "item": item}})
    pickup_point = membership.default_pickup_point
    if pickup_point_id is not None:
        pickup_point = PickupPoint.objects.filter(
            pk=pickup_point_id, community_id=membership.community_id, is_active=True
        ).first()
        if pickup_point is None:
            raise join_error({"code": "bad_pickup_point"})
    tier_thresholds = {tier.min_joins for item in all_items for tier in item.price_tiers.all()}
    return membership, items, tier_thresholds, pickup_point


def order_join_orm(
    *,
    campaign_id: int,
    user: User,
    quantities: Mapping[int, int],
    pickup_point_id: int | None = None,
    note: str = "",
    idempotency_key: str = "",
) -> JoinResult:
    """The portable join (SQLite): the same rules as ``jielong_join``, in the ORM. Input has passed
    ``rules.check_input``."""
    idempotency_key = (idempotency_key or "")[:MAX_KEY_LENGTH]
    if idempotency_key:
        existing = Order.objects.filter(campaign_id=campaign_id, idempotency_key=idempotency_key, user=user).first()
        if existing is not None:
            return JoinResult(order=existing, created=False)
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise join_error({"code": "not_found"})
    membership, items, tier_thresholds, pickup_point = check_join(
        campaign=campaign, user=user, quantities=quantities, pickup_point_id=pickup_point_id
    )
    try:
        order, version = do_join_orm(
            campaign_id=campaign_id,
            user=user,
            membership=membership,
            items=items,
            tier_thresholds=tier_thresholds,
            quantities=quantities,
            pickup_point=pickup_point,
            note=note.strip()[:MAX_NOTE_LENGTH],
            idempotency_key=idempotency_key,
        )
    except IntegrityError:
        # Lost a race with our own retry (same key) or an earlier join by the same member.
        if idempotency_key:
            existing = Order.objects.filter(campaign_id=campaign_id, idempotency_key=idempotency_key, user=user).first()
            if existing is not None:
                return JoinResult(order=existing, created=False)
        if Order.objects.filter(campaign_id=campaign_id, user=user).exclude(status=Order.Status.CANCELLED).exists():
            raise join_error({"code": "already_joined"}) from None
        # Any other constraint (e.g. an item removed by an edit in the same instant): nothing was written.
        raise join_error({"code": "changed"}) from None
    return JoinResult(order=order, created=True, campaign_version=version)


def do_join_orm(
    *,
    campaign_id: int,
    user: User,
    membership: Membership,
    items: dict[int, CampaignItem],
    tier_thresholds: set[int],
    quantities: Mapping[int, int],
    pickup_point: PickupPoint | None,
    note: str,
    idempotency_key: str,
) -> tuple[Order, int]:
    """The locked part of a join; returns the order and the campaign's version after it. Caller has
    validated input; this takes the campaign row lock, then the SKU rows' (through ``catalogue.stock``)."""
    now = clock.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if not campaign.is_joinable(at=now, is_koc=membership.role == Membership.Role.KOC):
            raise join_error({"code": "closed"})
        # A second live order by the same member (or a retry of this one) is stopped by the order
        # constraints at INSERT; order_join_orm maps that IntegrityError. No extra query under the lock.
        if campaign.max_orders is not None and campaign.joined_count >= campaign.max_orders:
            raise join_error({"code": "full"})
        is_perk = campaign.perk_taken < campaign.perk_limit
        joined_after = campaign.joined_count + 1
        lines = [
            OrderLine(
                item=items[pk],
                quantity=qty,
                unit_price_fen=items[pk].unit_price_fen(joined=joined_after, is_perk=is_perk),
            )
            for pk, qty in quantities.items()
        ]
        total_fen = sum(line.quantity * line.unit_price_fen for line in lines)
        if total_fen < campaign.min_spend_fen:
            raise join_error({"code": "below_min_spend", "params": {"amount_fen": campaign.min_spend_fen}})
        try:
            stock.stock_take(quantities={items[pk].sku_id: qty for pk, qty in quantities.items()})
        except stock.InsufficientStock as short:
            item = next(items[pk] for pk in quantities if items[pk].sku_id == short.sku_id)
            raise join_error({"code": "sold_out", "params": {"item": item}}) from None
        order = Order.objects.create(
            campaign_id=campaign_id,
            user=user,
            community_id=membership.community_id,
            pickup_point=pickup_point,
            seq=campaign.next_seq,
            is_perk=is_perk,
            total_fen=total_fen,
            note=note,
            idempotency_key=idempotency_key,
            created_at=now,
        )
        for line in lines:
            line.order = order
        OrderLine.objects.bulk_create(lines)

        campaign.next_seq += 1
        campaign.joined_count += 1
        campaign.perk_taken += int(is_perk)
        campaign.version += 1
        forms_now = campaign.status == Campaign.Status.OPEN and campaign.joined_count >= campaign.group_threshold
        if forms_now:
            campaign.status = Campaign.Status.FORMED
            campaign.formed_at = now
        campaign.save(update_fields=["next_seq", "joined_count", "perk_taken", "version", "status", "formed_at"])

        events.publish(
            jielong_events.OrderJoined(
                campaign_id=campaign_id,
                user_id=user.pk,
                community_id=membership.community_id,
                live_session_id=campaign.live_session_id,
                order_id=order.pk,
                total_fen=order.total_fen,
                is_perk=is_perk,
            )
        )
        if forms_now:
            events.publish(
                jielong_events.GroupFormed(
                    campaign_id=campaign_id, joined=campaign.joined_count, live_session_id=campaign.live_session_id
                )
            )
        settle = joined_after in tier_thresholds
        after_join.record_owed(campaign_id, settle=settle, version=campaign.version)
        after_commit(after_join.deliver, campaign_id, settle=settle, version=campaign.version)
    return order, campaign.version
