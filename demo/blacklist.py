"""The demo's refund-abuse blacklist (issue 13 item 6): one neighbour of 《农场主来了》 whom 林峰 flagged.

Told through the real services at the moments it happened, after :mod:`demo.aftercare` told the delivery:
on the delivery day evening a neighbour asks a refund for "yellowed" greens and the leader refunds it in good
faith; the next morning a refund for "crushed" tomatoes, refunded too; that evening a "never received" claim
for the rest, which the 核销 record contradicts and the leader rejects. Half an hour later 林峰 looks at their
record (three requests in two days, refunds well over 30% of what they paid — the suggestions list shows them
too) and flags them across the brand, with that record kept as the evidence.

Idempotent like the rest of the demo: told for this delivery day, it is left alone; told for an older day
(after-care forgot its requests and refunds), the old flag is forgotten and the story told again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection

from aftersales.blacklist import person_flag_from_history
from aftersales.models import Request
from aftersales.services import request_open, request_resolve
from analytics.models import Event
from community.models import Brand, Flag, FlagLogEntry, Membership, User
from demo.aftercare import _as_of
from demo.fulfilment import _at, _History
from feedback.models import Review
from fulfillment.models import Parcel, Shortage
from groupbuy import clock
from jielong.models import Campaign, Order

BLACKLIST_MARK = "demo.blacklist"
FLAG_REASON = "两天内同一订单三次申请售后：两次退款后又称“未收到”，与核销记录不符。暂停接龙与售后，请团长线下沟通。"

FIRST_CLAIM_AT = time(18, 40)  # the delivery day's evening
FIRST_REFUND_AT = time(19, 25)
SECOND_CLAIM_AT = time(8, 30)  # the next morning
SECOND_REFUND_AT = time(9, 10)
THIRD_CLAIM_AT = time(20, 5)  # the next evening
THIRD_REJECTED_AT = time(20, 50)
FLAGGED_AT = time(21, 20)
MIN_REFUND_SHARE = 0.35  # the two refunds must be at least this share of the order (over the 30% threshold)


@dataclass(frozen=True)
class DemoBlacklist:
    flagged: str  # the flagged neighbour's name
    requests: int
    refunded_fen: int

    def describe(self) -> str:
        return f"{self.flagged} flagged after {self.requests} requests ({self.refunded_fen / 100:.2f} yuan refunded)"


def seed_blacklist(
    *, past: Campaign, brand: Brand, operator: User, delivery_date: date, now: datetime | None = None
) -> DemoBlacklist | None:
    """Tell the flagged neighbour's story (see the module docstring); None when no order fits it."""
    assert connection.in_atomic_block, "seed_blacklist runs inside seed_demo's transaction"
    now = now or clock.now()
    first_claim = _at(delivery_date, FIRST_CLAIM_AT)
    existing = Flag.objects.filter(brand=brand, flagged_by=operator, reason=FLAG_REASON).order_by("pk").first()
    told = (
        existing is not None
        and Request.objects.filter(user_id=existing.user_id, order__campaign=past, opened_at=first_claim).exists()
    )
    if not told:
        _forget(brand=brand, operator=operator)
        if not _tell(past=past, brand=brand, operator=operator, delivery_date=delivery_date, now=now):
            return None
    flag = Flag.objects.select_related("user").get(brand=brand, flagged_by=operator, reason=FLAG_REASON)
    requests = Request.objects.filter(user=flag.user, order__campaign=past, source=Request.Source.MEMBER)
    return DemoBlacklist(
        flagged=flag.user.display_name,
        requests=requests.count(),
        refunded_fen=sum(requests.filter(resolution=Request.Resolution.REFUND).values_list("resolved_fen", flat=True)),
    )


def _forget(*, brand: Brand, operator: User) -> None:
    """The flags this story made (and their log lines and events); its requests went with after-care's."""
    flags = Flag.objects.filter(brand=brand, flagged_by=operator, reason=FLAG_REASON)
    FlagLogEntry.objects.filter(flag__in=flags).delete()
    flags.delete()
    Event.objects.filter(properties__seed=BLACKLIST_MARK).delete()


def _pick(past: Campaign, delivery_date: date) -> tuple[Order, list] | None:
    from demo.story import DEMO_MEMBER_PHONE

    """A paid neighbour who picked up three or more items by noon and is in no other after-care story (no
    request, no review, no shortage), not the demo member nor a leader or KOC, whose two cheapest units are
    over the suggestion threshold of what they paid."""
    others = Request.objects.filter(order__campaign=past).values("user_id")
    reviewers = Review.objects.filter(campaign=past).values("user_id")
    short = Shortage.objects.filter(order_line__order__campaign=past).values("order_line__order_id")
    staff = Membership.objects.exclude(role=Membership.Role.MEMBER).values("user_id")
    picked = Parcel.objects.filter(
        order__campaign=past, state=Parcel.State.PICKED_UP, picked_up_at__lt=_at(delivery_date, time(12))
    ).values("order_id")
    candidates = (
        Order.objects.filter(campaign=past, payment_status=Order.PaymentStatus.PAID, pk__in=picked)
        .exclude(user_id__in=others)
        .exclude(user_id__in=reviewers)
        .exclude(user_id__in=staff)
        .exclude(pk__in=short)
        .exclude(user__phone=DEMO_MEMBER_PHONE)  # 王姐, the demo member, tries everything herself
        .select_related("user", "community")
        .order_by("-seq")
    )
    for order in candidates:
        lines = sorted(
            order.lines.select_related("item__sku__product"), key=lambda line: (line.unit_price_fen, line.pk)
        )
        if len(lines) >= 3 and lines[0].unit_price_fen + lines[1].unit_price_fen >= MIN_REFUND_SHARE * order.total_fen:
            return order, lines
    return None


def _tell(*, past: Campaign, brand: Brand, operator: User, delivery_date: date, now: datetime) -> bool:
    picked = _pick(past, delivery_date)
    if picked is None:
        return False
    order, (first, second, third, *_rest) = picked
    leader = (
        User.objects.filter(
            memberships__community_id=order.community_id,
            memberships__role=Membership.Role.LEADER,
            memberships__status=Membership.Status.ACTIVE,
        )
        .order_by("pk")
        .first()
        or operator
    )
    day, next_day = delivery_date, delivery_date + timedelta(days=1)
    history = _History(now=now, mark=BLACKLIST_MARK)
    opened: list[Request] = []

    def claim(line, reason: str, description: str, *, quantity: int = 1) -> None:
        opened.append(
            request_open(
                order_id=order.pk,
                user=order.user,
                lines={line.pk: quantity},
                reason=reason,
                ask=Request.Ask.REFUND,
                asked_fen=line.unit_price_fen * quantity,
                description=description,
            )
        )

    def refund(note: str) -> None:
        request_resolve(
            request_id=opened[-1].pk,
            by=leader,
            resolution=Request.Resolution.REFUND,
            amount_fen=opened[-1].asked_fen,
            note=note,
        )

    steps = [
        (
            _at(day, FIRST_CLAIM_AT),
            lambda: claim(first, Request.Reason.QUALITY, f"{first.item.sku}叶子发黄了，不新鲜，要求退款。"),
        ),
        (_at(day, FIRST_REFUND_AT), lambda: refund("抱歉给您添麻烦了，已按原价退款。")),
        (
            _at(next_day, SECOND_CLAIM_AT),
            lambda: claim(second, Request.Reason.QUALITY, f"{second.item.sku}压坏了，没法吃，退款。"),
        ),
        (_at(next_day, SECOND_REFUND_AT), lambda: refund("已退款，下次装袋会多注意。")),
        (
            _at(next_day, THIRD_CLAIM_AT),
            lambda: claim(
                third, Request.Reason.NOT_RECEIVED, f"{third.item.sku}没拿到，退款。", quantity=third.quantity
            ),
        ),
        (
            _at(next_day, THIRD_REJECTED_AT),
            lambda: request_resolve(
                request_id=opened[-1].pk,
                by=leader,
                resolution=Request.Resolution.REJECTED,
                note="核销记录显示您当天上午已在自提点取走全部商品，含这一项；有疑问请私信团长。",
            ),
        ),
        (
            _at(next_day, FLAGGED_AT),
            lambda: person_flag_from_history(
                by=operator, brand=brand, user=order.user, reason=FLAG_REASON, now=clock.now()
            ),
        ),
    ]
    for when, step in steps:
        if when > now:
            break  # seeded in the small hours: the rest of the story has not happened yet
        with _as_of(history, when):
            step()
    history.write_events()
    return Flag.objects.filter(brand=brand, flagged_by=operator, reason=FLAG_REASON).exists()
