"""Which help-seller brought an order (归因): the last touch of a help-seller's link within the window.

A touch is written when someone opens a campaign page through a link: ``?hs=<token>`` (a help-seller's share
link or poster), or ``?ref=<code>`` (a member's personal referral code — it counts only when its owner is a
help-seller of that campaign). Opening one's own link is not a touch.

Orders are attributed after the join commits (the join is the hot path and stays untouched): the
``OrderJoined`` subscriber attributes each new order to the last touch at or before it was created, no older
than the brand's window; ``attribution_sweep`` (a periodic task) does what a lost subscriber call missed.
Both are idempotent: an order has at most one attribution (its primary key).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest

from community.models import Invitation, User
from groupbuy import clock, events
from jielong.models import Campaign, Order

from . import events as fission_events
from .models import Attribution, HelpSeller, Touch
from .sellers import brand_defaults

# A page reloaded through the same link within this long is one touch.
SAME_TOUCH = timedelta(minutes=1)
SWEEP_LOOKBACK = timedelta(days=2)


def _seller_for(*, campaign: Campaign, token: str = "", ref: str = "") -> tuple[HelpSeller | None, str]:
    sellers = HelpSeller.objects.filter(campaign=campaign, is_active=True)
    if token:
        return sellers.filter(token=token[:16]).first(), Touch.Source.LINK
    if ref:
        inviter = Invitation.objects.filter(code=ref[:16], is_personal=True).values("inviter_id")[:1]
        return sellers.filter(user_id__in=inviter).first(), Touch.Source.REFERRAL
    return None, ""


def touch_record(*, campaign: Campaign, user: User, token: str = "", ref: str = "", now: datetime | None = None):
    """Record that ``user`` opened ``campaign`` through a help-seller's link; None when the link is nobody's
    (an unknown token, a referral code of someone who is not a help-seller here, one's own link)."""
    seller, source = _seller_for(campaign=campaign, token=token, ref=ref)
    if seller is None or seller.user_id == user.pk:
        return None
    now = now or clock.now()
    last = Touch.objects.filter(user=user, campaign=campaign).order_by("-at", "-pk").first()
    if last is not None and last.help_seller_id == seller.pk and now - last.at < SAME_TOUCH:
        return last
    return Touch.objects.create(campaign=campaign, user=user, help_seller=seller, source=source, at=now)


def touch_from_request(request: HttpRequest, campaign: Campaign) -> None:
    """The campaign page hook: a touch when the page was opened through a link (no query otherwise)."""
    token, ref = request.GET.get("hs", "").strip(), request.GET.get("ref", "").strip()
    if (token or ref) and request.user.is_authenticated:
        touch_record(campaign=campaign, user=request.user, token=token, ref=ref)


def attribute_orders(*, order_ids: list[int]) -> list[Attribution]:
    """Attribute each order (not attributed yet) to the last touch within the window before it was created.
    Returns the attributions made now. Idempotent and safe to run concurrently (one row per order)."""
    orders = list(
        Order.objects.filter(pk__in=order_ids, attribution__isnull=True)
        .exclude(status=Order.Status.CANCELLED)
        .select_related("campaign")
        .only("pk", "user_id", "campaign_id", "created_at", "campaign__brand_id")
    )
    if not orders:
        return []
    windows = {}
    for order in orders:
        brand_id = order.campaign.brand_id
        if brand_id not in windows:
            windows[brand_id] = timedelta(days=brand_defaults(brand_id).attribution_days)
    earliest = min(order.created_at - windows[order.campaign.brand_id] for order in orders)
    touches: dict[tuple[int, int], list[Touch]] = {}
    for touch in (
        Touch.objects.filter(
            user_id__in={o.user_id for o in orders}, campaign_id__in={o.campaign_id for o in orders}, at__gte=earliest
        )
        .select_related("help_seller")
        .order_by("at", "pk")
    ):
        touches.setdefault((touch.user_id, touch.campaign_id), []).append(touch)
    made = []
    now = clock.now()
    for order in orders:
        window = windows[order.campaign.brand_id]
        candidates = [
            t
            for t in touches.get((order.user_id, order.campaign_id), [])
            if order.created_at - window <= t.at <= order.created_at
        ]
        if not candidates:
            continue
        last = candidates[-1]  # ordered by (at, pk): the last touch wins
        try:
            with transaction.atomic():
                attribution = Attribution.objects.create(
                    order_id=order.pk,
                    help_seller=last.help_seller,
                    source=last.source,
                    touched_at=last.at,
                    attributed_at=now,
                )
                events.publish(
                    fission_events.OrderAttributed(
                        order_id=order.pk,
                        campaign_id=order.campaign_id,
                        user_id=order.user_id,
                        help_seller_id=last.help_seller_id,
                        help_seller_user_id=last.help_seller.user_id,
                        source=last.source,
                    )
                )
        except IntegrityError:
            continue  # attributed by a racing call
        made.append(attribution)
    return made


def attribute_joined(batch: list) -> None:
    """``OrderJoined`` subscriber (after the join committed). Most joins come through nobody's link: one read of
    the touches of the batch's members on its jielongs (the touch index) tells, before the orders and the brands'
    windows are read for the few that may be attributed."""
    touched = set(
        Touch.objects.filter(
            user_id__in={event.user_id for event in batch}, campaign_id__in={event.campaign_id for event in batch}
        )
        .values_list("user_id", "campaign_id")
        .distinct()
    )
    order_ids = [event.order_id for event in batch if (event.user_id, event.campaign_id) in touched]
    if order_ids:
        attribute_orders(order_ids=order_ids)


def attribution_sweep(*, now: datetime | None = None, lookback: timedelta = SWEEP_LOOKBACK) -> int:
    """Attribute recent orders the subscriber missed: those without an attribution whose member had a touch on
    the campaign before ordering. Returns how many were attributed."""
    now = now or clock.now()
    touched = Touch.objects.filter(
        user_id=OuterRef("user_id"), campaign_id=OuterRef("campaign_id"), at__lte=OuterRef("created_at")
    )
    ids = list(
        Order.objects.filter(created_at__gte=now - lookback, attribution__isnull=True)
        .filter(Exists(touched))
        .values_list("pk", flat=True)[:5000]
    )
    return len(attribute_orders(order_ids=ids))
