"""Writes for jielong campaigns and orders.

Locking rule for every write that changes a campaign's counters: lock the campaign row first
(``select_for_update``), then SKU rows in primary-key order. All joins of one campaign therefore
queue on the campaign row, which is what makes ``seq`` gapless and the first-N perk exact.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from catalogue.models import SKU
from community.models import Membership, PickupPoint, User
from groupbuy import clock, events
from groupbuy.errors import DomainError
from groupbuy.money import fen_to_yuan

from . import broadcast, joining
from . import events as jielong_events
from .models import Campaign, CampaignItem, Order, OrderLine

logger = logging.getLogger(__name__)

JOINABLE = (Campaign.Status.OPEN, Campaign.Status.FORMED)


class CampaignStateError(DomainError):
    pass


class JoinRefused(DomainError):
    pass


class InsufficientStock(DomainError):
    pass


class AlreadyJoined(DomainError):
    pass


@dataclass(frozen=True)
class JoinResult:
    order: Order
    created: bool
    # The campaign's version right after this join committed (None when an earlier order is returned).
    campaign_version: int | None = None


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
    """Open every draft campaign prepared for a session (called when the session ends)."""
    opened = []
    for campaign in Campaign.objects.filter(live_session_id=live_session_id, status=Campaign.Status.DRAFT):
        opened.append(campaign_open(campaign=campaign))
    return opened


# --- Joining ------------------------------------------------------------------------------


def _check_join(
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
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise join_error({"code": "bad_quantity"})
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


def order_join(
    *,
    campaign_id: int,
    user: User,
    quantities: Mapping[int, int],
    pickup_point_id: int | None = None,
    note: str = "",
    idempotency_key: str = "",
) -> JoinResult:
    """Join a jielong (接龙): take stock, maybe a first-N perk place, a sequence number; maybe form the group.

    Idempotent by ``idempotency_key``: a retried or double-tapped request returns the first order.
    Raises ``JoinRefused``, ``InsufficientStock`` or ``AlreadyJoined`` and then changes nothing.

    On PostgreSQL the whole join runs in the database (``jielong_join``, see joining.py); elsewhere
    (the embedded SQLite demo) the same rules run here through the ORM. The test suite runs the
    join tests against both.
    """
    check_quantity_types(quantities)
    if joining.in_database():
        request = joining.JoinRequest(
            user_id=user.pk,
            items=tuple(quantities.items()),
            pickup_point_id=pickup_point_id,
            note=note,
            idempotency_key=idempotency_key,
        )
        try:
            with transaction.atomic():
                [outcome] = _do_join(campaign_id=campaign_id, requests=[request])
                if outcome.get("ok"):
                    after_join(campaign_id, user_ids=[user.pk], outcomes=[outcome])
        except IntegrityError:
            raise join_error({"code": "changed"}) from None
        if not outcome["ok"]:
            raise join_error(outcome)
        return JoinResult(
            order=Order.objects.get(pk=outcome["id"]),
            created=outcome["created"],
            campaign_version=outcome["campaign_version"],
        )
    return _order_join_orm(
        campaign_id=campaign_id,
        user=user,
        quantities=quantities,
        pickup_point_id=pickup_point_id,
        note=note,
        idempotency_key=idempotency_key,
    )


def _do_join(*, campaign_id: int, requests: list[joining.JoinRequest]) -> list[dict]:
    """Run ``jielong_join`` on Django's connection (inside the caller's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(*joining.join_sql(campaign_id, requests, clock.now()))
        return joining.parse_outcomes(cursor.fetchone()[0])


def check_quantity_types(quantities: Mapping[int, int]) -> None:
    for quantity in quantities.values():
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise join_error({"code": "bad_quantity"})


def join_error(outcome: Mapping) -> DomainError:
    """The refusal, in the reader's language, for a ``jielong_join`` outcome that is not ok."""
    code, params = outcome["code"], outcome.get("params") or {}
    if code == "already_joined":
        return AlreadyJoined(_("You have already joined this jielong; change your order instead."))
    if code == "sold_out":
        return InsufficientStock(_("Sorry, %(item)s is sold out.") % {"item": params.get("item", "")}, code="sold_out")
    messages = {
        "not_found": _("This jielong does not exist."),
        "closed": _("This jielong is closed."),
        "not_member": _("This jielong is only open to members of its communities."),
        "not_open_yet": _("This jielong has not opened yet."),
        "empty": _("Choose at least one item."),
        "unknown_item": _("That item is not part of this jielong."),
        "bad_quantity": _("Quantities must be whole numbers of at least 1."),
        "bad_pickup_point": _("Choose a pickup point of your community."),
        "full": _("This jielong is full."),
        "changed": _("This jielong just changed; please look at it again and retry."),
    }
    if code == "over_limit":
        message = _("You can take at most %(limit)s of %(item)s.") % params
    elif code == "below_min_spend":
        message = _("The minimum order is %(amount)s yuan.") % {"amount": fen_to_yuan(params["amount_fen"])}
    else:
        message = messages.get(code, messages["changed"])
    return JoinRefused(message, code=code)


def after_join(campaign_id: int, *, user_ids: list[int], outcomes: list[Mapping]) -> None:
    """What follows committed joins (called inside their transaction, or after it in autocommit):
    domain events, one coalesced snapshot broadcast, and settling tier prices when one was reached."""
    settle = False
    published = []
    for user_id, outcome in zip(user_ids, outcomes, strict=True):
        if not (outcome.get("ok") and outcome.get("created")):
            continue
        published.append(
            jielong_events.OrderJoined(
                campaign_id=campaign_id,
                user_id=user_id,
                community_id=outcome["community"],
                order_id=outcome["id"],
                total_fen=outcome["total_fen"],
                is_perk=outcome["is_perk"],
            )
        )
        if outcome.get("formed"):
            published.append(jielong_events.GroupFormed(campaign_id=campaign_id, joined=outcome["joined"]))
        settle = settle or bool(outcome.get("settle"))
    events.publish_many(published)
    transaction.on_commit(partial(broadcast.snapshot_changed, campaign_id))
    if settle:
        transaction.on_commit(partial(_settle_prices_later, campaign_id))


def _order_join_orm(
    *,
    campaign_id: int,
    user: User,
    quantities: Mapping[int, int],
    pickup_point_id: int | None = None,
    note: str = "",
    idempotency_key: str = "",
) -> JoinResult:
    """The portable join (SQLite): the same rules as ``jielong_join``, in the ORM."""
    idempotency_key = (idempotency_key or "")[:64]
    if idempotency_key:
        existing = Order.objects.filter(campaign_id=campaign_id, idempotency_key=idempotency_key, user=user).first()
        if existing is not None:
            return JoinResult(order=existing, created=False)
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise join_error({"code": "not_found"})
    membership, items, tier_thresholds, pickup_point = _check_join(
        campaign=campaign, user=user, quantities=quantities, pickup_point_id=pickup_point_id
    )
    try:
        order, version = _do_join_orm(
            campaign_id=campaign_id,
            user=user,
            membership=membership,
            items=items,
            tier_thresholds=tier_thresholds,
            quantities=quantities,
            pickup_point=pickup_point,
            note=note.strip()[:200],
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


def _do_join_orm(
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
    """The locked part of a join; returns the order and the campaign's version after it. Caller has validated input; this holds the campaign row lock."""
    now = clock.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if not campaign.is_joinable(at=now, is_koc=membership.role == Membership.Role.KOC):
            raise join_error({"code": "closed"})
        # A second live order by the same member (or a retry of this one) is stopped by the order
        # constraints at INSERT; order_join maps that IntegrityError. No extra query under the lock.
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
        for item_id in sorted(quantities, key=lambda pk: items[pk].sku_id):
            item = items[item_id]
            taken = SKU.objects.filter(pk=item.sku_id, stock__gte=quantities[item_id]).update(
                stock=F("stock") - quantities[item_id]
            )
            if not taken:
                raise join_error({"code": "sold_out", "params": {"item": item}})
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
                order_id=order.pk,
                total_fen=order.total_fen,
                is_perk=is_perk,
            )
        )
        if forms_now:
            events.publish(jielong_events.GroupFormed(campaign_id=campaign_id, joined=campaign.joined_count))
        transaction.on_commit(partial(broadcast.snapshot_changed, campaign_id))
        if joined_after in tier_thresholds:
            transaction.on_commit(partial(_settle_prices_later, campaign_id))
    return order, campaign.version


def _settle_prices_later(campaign_id: int) -> None:
    from .tasks import settle_prices

    settle_prices.delay(campaign_id)


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
        lines = list(order.lines.select_related("item").order_by("item__sku_id"))
        for line in lines:
            SKU.objects.filter(pk=line.item.sku_id).update(stock=F("stock") + line.quantity)
        order.status = Order.Status.CANCELLED
        order.save(update_fields=["status"])
        campaign.joined_count -= 1
        campaign.perk_taken -= int(order.is_perk)
        campaign.version += 1
        campaign.save(update_fields=["joined_count", "perk_taken", "version"])
        events.publish(jielong_events.OrderCancelled(campaign_id=campaign.pk, user_id=user.pk, order_id=order.pk))
        transaction.on_commit(partial(broadcast.snapshot_changed, campaign.pk))
    return order


def campaign_close(*, campaign_id: int) -> Campaign:
    """Close a campaign at its deadline: a formed group completes; an unformed one fails (不成团),
    its orders are cancelled, stock returns, and members are told (after commit)."""
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
            for sku_id in sorted(returned):
                SKU.objects.filter(pk=sku_id).update(stock=F("stock") + returned[sku_id])
            Order.objects.filter(pk__in=[o.pk for o in orders]).update(status=Order.Status.CANCELLED)
            # Money already collected goes back in full; the refund itself happens outside (transfer or cash).
            Order.objects.filter(pk__in=[o.pk for o in orders], payment_status=Order.PaymentStatus.PAID).update(
                payment_status=Order.PaymentStatus.REFUNDED, refunded_fen=F("total_fen")
            )
        campaign.version += 1
        campaign.save(update_fields=["status", "version"])
        events.publish(closed_event(campaign_id=campaign.pk, joined=campaign.joined_count))
        transaction.on_commit(partial(broadcast.snapshot_changed, campaign.pk))
    return campaign


def campaigns_close_due() -> list[int]:
    """Close every joinable campaign whose deadline has passed. Safe to run concurrently and twice."""
    due = Campaign.objects.filter(status__in=JOINABLE, closes_at__lte=clock.now()).values_list("pk", flat=True)
    closed = []
    for campaign_id in due:
        campaign_close(campaign_id=campaign_id)
        closed.append(campaign_id)
    return closed


def order_mark_paid(*, order_id: int, by: User) -> Order:
    """Record that an order's money arrived (leader collected it, or staff saw the transfer).

    Idempotent: marking a paid order paid again changes nothing.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        is_leader = Membership.objects.filter(
            user=by, community_id=order.community_id, role=Membership.Role.LEADER, status=Membership.Status.ACTIVE
        ).exists()
        if not (by.is_operator or is_leader):
            raise JoinRefused(_("Only operators and this community's leader can confirm payments."), code="forbidden")
        if order.status == Order.Status.CANCELLED:
            raise JoinRefused(_("A cancelled order cannot be marked paid."), code="cancelled")
        if order.payment_status == Order.PaymentStatus.PAID:
            return order
        order.payment_status = Order.PaymentStatus.PAID
        order.paid_at = clock.now()
        order.save(update_fields=["payment_status", "paid_at"])
        events.publish(
            jielong_events.OrderPaid(campaign_id=order.campaign_id, user_id=order.user_id, order_id=order.pk, by=by.pk)
        )
    return order


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
            events.publish(jielong_events.PricesSettled(campaign_id=campaign_id, orders=len(changed_orders)))
    return len(changed_orders)


# --- Changing an order --------------------------------------------------------------------


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
        raise JoinRefused(_("Choose at least one item."), code="empty")
    for quantity in quantities.values():
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise JoinRefused(_("Quantities must be whole numbers of at least 1."), code="bad_quantity")
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
                raise JoinRefused(_("That item is not part of this jielong."), code="unknown_item")
            if quantity > item.per_member_limit:
                raise JoinRefused(
                    _("You can take at most %(limit)s of %(item)s.") % {"limit": item.per_member_limit, "item": item},
                    code="over_limit",
                )
        pickup_point = order.pickup_point
        if pickup_point_id is not None and pickup_point_id != order.pickup_point_id:
            pickup_point = PickupPoint.objects.filter(
                pk=pickup_point_id, community_id=order.community_id, is_active=True
            ).first()
            if pickup_point is None:
                raise JoinRefused(_("Choose a pickup point of your community."), code="bad_pickup_point")

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

        # Stock moves by the difference, SKU rows in primary-key order (after the campaign row).
        delta: dict[int, tuple[int, CampaignItem]] = {}
        for item_id, quantity in quantities.items():
            delta[items[item_id].sku_id] = (quantity - old_quantities.get(item_id, 0), items[item_id])
        for line in removed:
            delta[line.item.sku_id] = (-line.quantity, line.item)
        for sku_id in sorted(delta):
            difference, item = delta[sku_id]
            if difference > 0:
                taken = SKU.objects.filter(pk=sku_id, stock__gte=difference).update(stock=F("stock") - difference)
                if not taken:
                    raise InsufficientStock(_("Sorry, %(item)s is sold out.") % {"item": item}, code="sold_out")
            elif difference < 0:
                SKU.objects.filter(pk=sku_id).update(stock=F("stock") - difference)

        OrderLine.objects.filter(pk__in=[line.pk for line in removed]).delete()
        OrderLine.objects.bulk_update(changed_lines, ["quantity", "unit_price_fen"])
        OrderLine.objects.bulk_create(new_lines)
        order.total_fen = total_fen
        order.pickup_point = pickup_point
        order.note = note.strip()[:200]
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
        transaction.on_commit(partial(broadcast.snapshot_changed, campaign.pk))
    return order
