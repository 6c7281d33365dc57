"""The demo's help-sellers (帮卖) and commissions (issue 13 item 5): who brought which neighbours to 《农场主来了》,
what they and the pickup-point leaders earned when the orders were picked up, and one settled statement.

Told through the fission services, each at its moment, after :mod:`demo.aftercare` wrote the payments:

- before the live, 林峰 invites two help-sellers to the jielong — 朵朵妈妈 (a KOC of 阳光花园, the campaign's
  default 8 %) and 翠湖-周姐 (the leader of 翠湖, her own ¥1.00 per unit) — and sets the leaders' rate at 3 %;
- neighbours open the jielong through their links before ordering (a few through both: the last link wins);
  each such order is attributed right after it was placed;
- each pickup (核销) accrues the help-seller's commission (if any) and the point leader's, at the moment it
  happened, on what the member kept paid then (the lettuce refunds came before the pickups); a refund after a
  pickup takes back its share, at the moment of the refund;
- the morning after the delivery day 林峰 settles 朵朵妈妈's commissions of that day: one statement.

Idempotent like the rest of the demo: a story already told (its statement is there, with its ledger entries)
is left alone; when the after-care re-told its day (the ledger of the past jielong was written again), this
story is forgotten and told again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Sum

from analytics.models import Event
from community.models import Membership, User
from demo.aftercare import _as_of
from demo.fulfilment import _at, _History
from fission import attribution, commissions, sellers, settlement
from fission.models import Attribution, CommissionRule, HelpSeller, RuleKind, Statement, StatementLine, Touch
from fulfillment.models import Parcel
from groupbuy import clock
from jielong.models import Campaign, LedgerEntry, Order

FISSION_MARK = "demo.fission"
RANDOM_SEED = 20261205

KOC_SELLER = "朵朵妈妈"
LEADER_SELLER = "翠湖-周姐"
SELLER_RATE_BP = 800  # the campaign's default: 8 %
LEADER_SELLER_FIXED_FEN = 100  # 翠湖-周姐's own: ¥1.00 per unit
LEADER_RATE_BP = 300  # the pickup-point leaders: 3 %
KOC_ORDERS, LEADER_ORDERS, BOTH = 18, 9, 3  # orders through each link; BOTH of each also had the other's
SETTLED_AT = time(10, 30)

Kind = LedgerEntry.Kind


@dataclass(frozen=True)
class DemoFission:
    sellers: int
    attributed: int
    commission_fen: int
    settled_fen: int

    def describe(self) -> str:
        return (
            f"{self.sellers} help-sellers, {self.attributed} orders through their links; "
            f"{self.commission_fen / 100:.2f} yuan commissions, {self.settled_fen / 100:.2f} settled"
        )


def seed_fission(*, past: Campaign, operator: User, delivery_date: date, now: datetime | None = None) -> DemoFission:
    assert connection.in_atomic_block, "seed_fission runs inside seed_demo's transaction"
    now = now or clock.now()
    koc = User.objects.get(nickname=KOC_SELLER)
    leader = User.objects.get(nickname=LEADER_SELLER)
    told = (
        Statement.objects.filter(payee=koc, period_start=delivery_date, period_end=delivery_date).exists()
        and LedgerEntry.objects.filter(order__campaign=past, kind=Kind.COMMISSION).exists()
    )
    if not told:
        _forget(past=past)
        _tell(past=past, operator=operator, koc=koc, leader=leader, delivery_date=delivery_date, now=now)
    entries = LedgerEntry.objects.filter(order__campaign=past, kind__in=[Kind.COMMISSION, Kind.CLAWBACK])
    accrued = entries.filter(kind=Kind.COMMISSION).aggregate(s=Sum("amount_fen"))["s"] or 0
    reversed_ = entries.filter(kind=Kind.CLAWBACK).aggregate(s=Sum("amount_fen"))["s"] or 0
    return DemoFission(
        sellers=HelpSeller.objects.filter(campaign=past).count(),
        attributed=Attribution.objects.filter(order__campaign=past).count(),
        commission_fen=accrued - reversed_,
        settled_fen=Statement.objects.filter(payee=koc).aggregate(s=Sum("total_fen"))["s"] or 0,
    )


def _tell(*, past: Campaign, operator: User, koc: User, leader: User, delivery_date: date, now: datetime) -> None:
    rng = random.Random(RANDOM_SEED)
    history = _History(now=now, mark=FISSION_MARK)
    orders = list(
        Order.objects.filter(campaign=past)
        .exclude(status=Order.Status.CANCELLED)
        .exclude(user__in=[koc, leader])
        .exclude(user__nickname="王姐")
        .order_by("seq")
    )
    in_cuihu = set(
        Membership.objects.filter(community__slug="cuihu", status=Membership.Status.ACTIVE).values_list(
            "user_id", flat=True
        )
    )
    # 翠湖-周姐 reaches the neighbours who are in her community too; 朵朵妈妈 anyone in 阳光花园.
    leader_pool = [o for o in orders if o.user_id in in_cuihu] or orders
    leader_orders = rng.sample(leader_pool, min(LEADER_ORDERS, len(leader_pool)))
    koc_orders = rng.sample([o for o in orders if o not in leader_orders], KOC_ORDERS)
    first = min(o.created_at for o in koc_orders + leader_orders)
    steps: list[tuple[datetime, Callable[[], object]]] = []
    found: dict[str, HelpSeller] = {}

    def invite() -> None:
        found["koc"] = sellers.help_seller_invite(campaign=past, by=operator, user=koc)
        found["leader"] = sellers.help_seller_invite(campaign=past, by=operator, user=leader)
        sellers.rule_set(
            campaign=past,
            kind=RuleKind.PERCENT,
            rate_bp=SELLER_RATE_BP,
            fixed_fen=0,
            leader_rate_bp=LEADER_RATE_BP,
            by=operator,
        )
        sellers.help_seller_rule_set(
            help_seller=found["leader"],
            kind=RuleKind.FIXED,
            rate_bp=None,
            fixed_fen=LEADER_SELLER_FIXED_FEN,
            by=operator,
        )

    steps.append((first - timedelta(hours=3), invite))

    def touch(order: Order, who: str, at: datetime) -> None:
        steps.append(
            (
                at,
                lambda: attribution.touch_record(campaign=past, user=order.user, token=found[who].token, now=at),
            )
        )

    for mine, theirs, both in ((koc_orders, "leader", "koc"), (leader_orders, "koc", "leader")):
        for i, order in enumerate(mine):
            last = order.created_at - timedelta(minutes=rng.randint(2, 90))
            if i < BOTH:  # an earlier look through the other's link: the last one counts
                touch(order, theirs, last - timedelta(minutes=rng.randint(10, 120)))
            touch(order, both, last)
            steps.append(
                (
                    order.created_at + timedelta(seconds=2),
                    lambda order=order: attribution.attribute_orders(order_ids=[order.pk]),
                )
            )

    picked = Parcel.objects.filter(order__campaign=past, state=Parcel.State.PICKED_UP).order_by("picked_up_at")
    for order_id, at in picked.values_list("order_id", "picked_up_at"):
        steps.append((at, lambda order_id=order_id, at=at: commissions.accrue(order_ids=[order_id], now=at)))

    # Refunds after a pickup take back their share of its commissions (the leader's, a help-seller's).
    refunds = LedgerEntry.objects.filter(order__campaign=past, kind=Kind.REFUND).order_by("created_at", "pk")
    for entry in refunds:
        steps.append(
            (entry.created_at, lambda entry=entry: commissions.claw_back(refund_entries=[entry], now=entry.created_at))
        )

    settled_at = _at(delivery_date + timedelta(days=1), SETTLED_AT)
    steps.append(
        (
            min(settled_at, now),
            lambda: settlement.statement_settle(
                payee=koc, period_start=delivery_date, period_end=delivery_date, by=operator
            ),
        )
    )
    for when, step in sorted(steps, key=lambda s: s[0]):
        with _as_of(history, when):
            step()
    history.write_events()


def _forget(*, past: Campaign) -> None:
    """The story's rows, before it is told (again): statements over the past jielong's (or vanished) ledger
    entries, its commissions, attributions, touches, help-sellers, rule and events. Ledger entries are never
    deleted outside the demo re-telling its past."""
    entries = LedgerEntry.objects.filter(order__campaign=past, kind__in=[Kind.COMMISSION, Kind.CLAWBACK])
    gone = StatementLine.objects.exclude(entry_id__in=LedgerEntry.objects.values("pk")).values("statement_id")
    Statement.objects.filter(pk__in=gone).delete()
    Statement.objects.filter(pk__in=StatementLine.objects.filter(entry__in=entries).values("statement_id")).delete()
    entries.filter(kind=Kind.CLAWBACK).delete()
    entries.delete()
    Attribution.objects.filter(order__campaign=past).delete()
    Touch.objects.filter(campaign=past).delete()
    HelpSeller.objects.filter(campaign=past).delete()
    CommissionRule.objects.filter(campaign=past).delete()
    Event.objects.filter(properties__seed=FISSION_MARK).delete()
