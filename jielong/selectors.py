"""Reads for jielong campaigns."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from catalogue.models import SKU
from community.access import for_staff
from community.models import User

from .models import Campaign, CampaignChange, CampaignItem, Order, OrderLine


def campaign_snapshot(*, campaign_id: int) -> dict | None:
    """The whole progress state a page needs ("已接龙 X 人，还差 Y 人成团"), versioned."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return None
    return {
        "campaign_id": campaign.pk,
        "status": campaign.status,
        "joined": campaign.joined_count,
        "threshold": campaign.group_threshold,
        "still_needed": campaign.still_needed,
        "perk_limit": campaign.perk_limit,
        "perk_left": campaign.perk_left,
        "version": campaign.version,
        "max_orders": campaign.max_orders,
        # The newest entries of the jielong, so pages can extend their joiner list live.
        "latest": campaign_joiners(campaign_id=campaign.pk, limit=LATEST_JOINERS),
        # Numbers of cancelled entries, so open pages drop them (numbers are never reused).
        "cancelled": _cancelled_seqs(campaign),
    }


def _cancelled_seqs(campaign: Campaign) -> list[int]:
    if campaign.status not in (Campaign.Status.OPEN, Campaign.Status.FORMED):
        return []  # a closed campaign's page stops updating its list anyway
    return list(
        Order.objects.filter(campaign=campaign, status=Order.Status.CANCELLED)
        .order_by("-seq")
        .values_list("seq", flat=True)[:CANCELLED_SEQS]
    )


def campaigns_for_staff(user) -> QuerySet[Campaign]:
    """The campaigns of the brands staff ``user`` may see."""
    return for_staff(Campaign.objects.all(), user=user)


def orders_for_staff(user) -> QuerySet[Order]:
    """The orders of the brands staff ``user`` may see (their campaign's brand)."""
    return for_staff(Order.objects.all(), user=user, via="campaign__brand")


def open_campaign_count(*, viewer=None) -> int:
    """Campaigns members can join right now (open, or formed and still open), of ``viewer``'s brands when given."""
    qs = Campaign.objects.all() if viewer is None else campaigns_for_staff(viewer)
    return qs.filter(status__in=[Campaign.Status.OPEN, Campaign.Status.FORMED]).count()


def session_sales(*, live_session_id: int) -> dict[str, int]:
    """Joins and GMV (fen) of the campaigns a session launched; cancelled orders do not count."""
    totals = (
        Order.objects.filter(campaign__live_session_id=live_session_id)
        .exclude(status=Order.Status.CANCELLED)
        .aggregate(joins=Count("pk"), gmv_fen=Sum("total_fen"))
    )
    return {"joins": totals["joins"] or 0, "gmv_fen": totals["gmv_fen"] or 0}


def ops_campaign_list() -> QuerySet[Campaign]:
    """Every campaign for the operator, newest first."""
    return Campaign.objects.select_related("live_session").order_by("-created_at")


def member_open_campaigns(*, community_ids: Iterable[int], limit: int = 10) -> list[Campaign]:
    """Joinable campaigns aimed at the member's communities, closing soonest first."""
    return list(
        Campaign.objects.filter(
            status__in=[Campaign.Status.OPEN, Campaign.Status.FORMED], communities__in=list(community_ids)
        )
        .distinct()
        .order_by("closes_at")[:limit]
    )


def member_orders(*, user: User, limit: int = 20) -> list[Order]:
    """The member's jielong orders, newest first."""
    return list(
        Order.objects.filter(user=user)
        .select_related("campaign", "pickup_point")
        .prefetch_related("lines__item__sku__product")
        .order_by("-created_at")[:limit]
    )


# --- Operator pages (builder, orders, statistics) -----------------------------------------


@dataclass(frozen=True)
class CampaignStats:
    """One campaign's figures for the operator. Cancelled orders count nowhere; money in fen."""

    orders: int
    units: int
    gmv_fen: int
    aov_fen: int
    perk_orders: int
    perk_limit: int
    perk_uptake_percent: int
    minutes_to_form: int | None
    paid_orders: int
    unpaid_orders: int
    paid_fen: int
    unpaid_fen: int
    cancelled_orders: int


def ops_campaigns(*, status: str = "", viewer: User | None = None) -> QuerySet[Campaign]:
    """Campaigns for the operator's list (of staff ``viewer``'s brands), newest first, optionally of one status."""
    campaigns = (
        (Campaign.objects.all() if viewer is None else campaigns_for_staff(viewer))
        .select_related("live_session")
        .order_by("-created_at")
    )
    if status in Campaign.Status.values:
        campaigns = campaigns.filter(status=status)
    return campaigns


def ops_campaign_detail(*, campaign_id: int, viewer: User | None = None) -> Campaign | None:
    """A campaign with everything its operator page shows, in a fixed number of queries (None when it does not
    exist or is of a brand staff ``viewer`` may not see)."""
    return (
        (Campaign.objects.all() if viewer is None else campaigns_for_staff(viewer))
        .select_related("live_session")
        .prefetch_related(
            "communities",
            "images",
            Prefetch(
                "items",
                queryset=CampaignItem.objects.select_related("sku__product").prefetch_related("price_tiers"),
            ),
        )
        .filter(pk=campaign_id)
        .first()
    )


def campaign_changes(*, campaign_id: int, limit: int = 200) -> list[CampaignChange]:
    """The change log (操作记录), newest first."""
    return list(CampaignChange.objects.filter(campaign_id=campaign_id).select_related("changed_by")[:limit])


def campaign_stats(*, campaign: Campaign) -> CampaignStats:
    """Orders, units, GMV, AOV, perk uptake, minutes from opening to 成团, paid vs unpaid: two aggregate queries."""
    live = ~Q(status=Order.Status.CANCELLED)
    paid = live & Q(payment_status=Order.PaymentStatus.PAID)
    unpaid = live & Q(payment_status=Order.PaymentStatus.UNPAID)
    totals = Order.objects.filter(campaign=campaign).aggregate(
        orders=Count("pk", filter=live),
        gmv=Sum("total_fen", filter=live),
        perk=Count("pk", filter=live & Q(is_perk=True)),
        paid=Count("pk", filter=paid),
        unpaid=Count("pk", filter=unpaid),
        paid_fen=Sum("total_fen", filter=paid),
        unpaid_fen=Sum("total_fen", filter=unpaid),
        cancelled=Count("pk", filter=Q(status=Order.Status.CANCELLED)),
    )
    units = (
        OrderLine.objects.filter(order__campaign=campaign)
        .exclude(order__status=Order.Status.CANCELLED)
        .aggregate(units=Sum("quantity"))["units"]
        or 0
    )
    orders, gmv = totals["orders"], totals["gmv"] or 0
    aov = int((Decimal(gmv) / orders).quantize(Decimal(1), rounding=ROUND_HALF_UP)) if orders else 0
    minutes = None
    if campaign.formed_at and campaign.opens_at:
        minutes = max(int((campaign.formed_at - campaign.opens_at).total_seconds() // 60), 0)
    uptake = totals["perk"] * 100 // campaign.perk_limit if campaign.perk_limit else 0
    return CampaignStats(
        orders=orders,
        units=units,
        gmv_fen=gmv,
        aov_fen=aov,
        perk_orders=totals["perk"],
        perk_limit=campaign.perk_limit,
        perk_uptake_percent=uptake,
        minutes_to_form=minutes,
        paid_orders=totals["paid"],
        unpaid_orders=totals["unpaid"],
        paid_fen=totals["paid_fen"] or 0,
        unpaid_fen=totals["unpaid_fen"] or 0,
        cancelled_orders=totals["cancelled"],
    )


def ops_campaign_orders(
    *,
    campaign: Campaign,
    q: str = "",
    status: str = "",
    payment: str = "",
    pickup_point_id: int | None = None,
    perk: str = "",
) -> QuerySet[Order]:
    """A campaign's orders for the operator's list, filtered, in jielong order (序号)."""
    orders = (
        Order.objects.filter(campaign=campaign)
        .select_related("user", "pickup_point")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("item__sku__product")))
        .order_by("seq")
    )
    if status in Order.Status.values:
        orders = orders.filter(status=status)
    if payment in Order.PaymentStatus.values:
        orders = orders.filter(payment_status=payment)
    if pickup_point_id is not None:
        orders = orders.filter(pickup_point_id=pickup_point_id)
    if perk in ("yes", "no"):
        orders = orders.filter(is_perk=perk == "yes")
    q = q.strip().lstrip("#")
    if q:
        match = Q(user__nickname__icontains=q)
        if q.isdigit():
            match |= Q(seq=int(q))
        orders = orders.filter(match)
    return orders


def ops_orders(
    *,
    campaign_id: int | None = None,
    community_id: int | None = None,
    pickup_point_id: int | None = None,
    status: str = "",
    payment: str = "",
    date_from=None,
    date_to=None,
    viewer: User | None = None,
) -> QuerySet[Order]:
    """Orders across every campaign (of staff ``viewer``'s brands) for the operator's one list (and its export),
    newest first; dates are the local days the orders were placed, both ends included."""
    orders = (
        (Order.objects.all() if viewer is None else orders_for_staff(viewer))
        .select_related("campaign", "user", "community", "pickup_point")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("item__sku__product")))
        .order_by("-created_at", "-pk")
    )
    if campaign_id is not None:
        orders = orders.filter(campaign_id=campaign_id)
    if community_id is not None:
        orders = orders.filter(community_id=community_id)
    if pickup_point_id is not None:
        orders = orders.filter(pickup_point_id=pickup_point_id)
    if status in Order.Status.values:
        orders = orders.filter(status=status)
    if payment in Order.PaymentStatus.values:
        orders = orders.filter(payment_status=payment)
    if date_from is not None:
        orders = orders.filter(created_at__date__gte=date_from)
    if date_to is not None:
        orders = orders.filter(created_at__date__lte=date_to)
    return orders


# --- Member jielong page ------------------------------------------------------------------

CANCELLED_SEQS = 200
LATEST_JOINERS = 5


def joiner_rows(orders: Iterable[Order]) -> list[dict]:
    """Classic jielong lines ("12. 小王 散养鸡蛋 30枚×2"): number, nickname only (never a phone), and
    each item with its spec, so two specs of one product read apart. The lines are read flat in one
    query (the page shows this list on every load during the join storm)."""
    orders = list(orders)
    lines: dict[int, list[str]] = {}
    for order_id, quantity, name, spec in (
        OrderLine.objects.filter(order_id__in=[order.pk for order in orders])
        .order_by("pk")
        .values_list("order_id", "quantity", "item__sku__product__name", "item__sku__spec")
    ):
        lines.setdefault(order_id, []).append(f"{SKU.label(name, spec)}×{quantity}")
    return [
        {"seq": order.seq, "name": order.user.nickname, "items": "，".join(lines.get(order.pk, []))} for order in orders
    ]


def campaign_joiner_orders(*, campaign_id: int):
    """Live (not cancelled) orders of a campaign's jielong, latest first, ready for ``joiner_rows``."""
    return (
        Order.objects.filter(campaign_id=campaign_id)
        .exclude(status=Order.Status.CANCELLED)
        .select_related("user")
        .only("pk", "seq", "user__nickname")
        .order_by("-seq")
    )


def campaign_joiners(
    *, campaign_id: int, limit: int | None = None, items: Iterable[CampaignItem] | None = None
) -> list[dict]:
    """Live (not cancelled) entries of a campaign's jielong, latest first. With a ``limit`` (the member page,
    the live snapshot) in one query: the latest orders' lines with their number and nickname. ``items``: the
    campaign's items already read (with SKU and product) name the lines, and the query leaves the SKU out —
    during the join storm every join rewrites the SKU's row, and reading it through its chain of dead versions
    was most of this query's time."""
    if limit is None:
        return joiner_rows(campaign_joiner_orders(campaign_id=campaign_id))
    latest = (
        Order.objects.filter(campaign_id=campaign_id)
        .exclude(status=Order.Status.CANCELLED)
        .order_by("-seq")
        .values("pk")[:limit]
    )
    labels = {item.pk: SKU.label(item.sku.product.name, item.sku.spec) for item in items} if items is not None else {}
    lines = OrderLine.objects.filter(order_id__in=latest).order_by("-order__seq", "pk")
    if items is not None:
        found = lines.values_list("order_id", "order__seq", "order__user__nickname", "quantity", "item_id")
    else:
        found = lines.values_list(
            "order_id", "order__seq", "order__user__nickname", "quantity", "item__sku__product__name", "item__sku__spec"
        )
    rows: dict[int, dict] = {}
    for order_id, seq, nickname, quantity, *item in found:
        label = labels.get(item[0]) if items is not None else SKU.label(*item)
        if label is None:  # an item added since ``items`` was read
            added = CampaignItem.objects.select_related("sku__product").get(pk=item[0])
            label = labels[added.pk] = SKU.label(added.sku.product.name, added.sku.spec)
        row = rows.setdefault(order_id, {"seq": seq, "name": nickname, "items": []})
        row["items"].append(f"{label}×{quantity}")
    return [{"seq": row["seq"], "name": row["name"], "items": "，".join(row["items"])} for row in rows.values()]


def member_campaign_order(*, campaign_id: int, user: User, items: Iterable[CampaignItem] | None = None) -> Order | None:
    """The member's live order in a campaign (at most one, by constraint), with its lines. ``items``: the
    campaign's items already read (with SKU and product), which the lines then reuse instead of reading them."""
    orders = Order.objects.filter(campaign_id=campaign_id, user=user).exclude(status=Order.Status.CANCELLED)
    if items is None:
        return orders.select_related("pickup_point").prefetch_related("lines__item__sku__product").first()
    order = orders.select_related("pickup_point").prefetch_related("lines").first()
    if order is not None:
        by_pk = {item.pk: item for item in items}
        for line in order.lines.all():
            if line.item_id in by_pk:
                line.item = by_pk[line.item_id]
    return order


def member_order(*, order_id: int, user: User) -> Order | None:
    """One of the member's own orders (cancelled ones too) with what its page shows; None for
    anyone else's, so a guessed number reveals nothing."""
    return (
        Order.objects.filter(pk=order_id, user=user)
        .select_related("campaign", "pickup_point", "community")
        .prefetch_related("lines__item__sku__product")
        .first()
    )
