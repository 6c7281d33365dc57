"""Commissions (佣金): accrued on pickup, taken back on refund (clawback), written through ``jielong.ledger``.

On each picked-up order line two people may earn:

- the help-seller the order is attributed to (帮卖佣金): their own rule, else the campaign's default — a
  percentage of what the member paid for the line, or fixed fen per unit;
- the leader of the order's pickup point (团长佣金): the campaign's leader rate, else the brand's.

The base is what the member kept paid for the line at that moment (payments less refunds, from the ledger);
an order not paid earns nothing until it is (the sweep catches it up). The help-seller's share never exceeds
what is left after the leader's, so a line's commissions never exceed what was paid for it.

Accruals are written inside the 核销's transaction (``fulfillment.hooks``), clawbacks inside the refund's
(``jielong.hooks.refund_written``), each holding the order's row lock. A refund takes back the share of each
commission the refund took from the line's base: after it, each commission keeps
``accrued × (kept paid now) / (kept paid when accrued)``, rounded half up — a full refund takes back all. An
undone pickup takes back the whole commission; a pickup verified again earns anew (a new generation key).

Keys (each written once): ``commission:<role>:<line>:<payee>:<generation>``,
``clawback:<refund entry>:<commission entry>``, ``clawback:undo:<commission entry>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from fulfillment.models import Parcel
from groupbuy import clock, events
from jielong import ledger
from jielong.models import LedgerEntry, Order, OrderLine

from . import events as fission_events
from .models import BrandCommission, RuleKind
from .sellers import FULL_BP, brand_defaults, campaign_rules, leader_rate_bp

Kind = LedgerEntry.Kind
HELP_SELLER, LEADER = "hs", "leader"
ROLE_NAMES = {HELP_SELLER: "help_seller", LEADER: "leader"}
SWEEP_LOOKBACK = timedelta(days=14)


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True)
class _Line:
    pk: int
    order_id: int
    quantity: int
    paid: int
    kept: int  # paid less refunded


def _money(kind: str, now: datetime):
    """What the line's ledger holds of ``kind`` as of ``now`` (a subquery: lines and money in one read)."""
    rows = (
        LedgerEntry.objects.filter(order_line_id=OuterRef("pk"), kind=kind, created_at__lte=now)
        .order_by()
        .values("order_line_id")
        .annotate(total=Sum("amount_fen"))
        .values("total")
    )
    return Coalesce(Subquery(rows), 0)


def _lines(order_ids: list[int], *, now: datetime) -> list[_Line]:
    """The lines with what was paid and kept paid as of ``now`` (a refund dated later is not counted: the
    demo tells history out of order, and a clawback takes that refund's share when it is told)."""
    return [
        _Line(pk=pk, order_id=order_id, quantity=quantity, paid=paid, kept=paid - refunded)
        for pk, order_id, quantity, paid, refunded in OrderLine.objects.filter(order_id__in=order_ids)
        .annotate(paid=_money(Kind.PAYMENT, now), refunded=_money(Kind.REFUND, now))
        .order_by("pk")
        .values_list("pk", "order_id", "quantity", "paid", "refunded")
    ]


def _generations(line_ids: list[int]) -> dict[str, int]:
    """Per "<role>:<line>:<payee>": the generation a new accrual would take (how many were undone), or -1
    when a live one exists (the pickup already earned it)."""
    undone_back = LedgerEntry.objects.filter(
        kind=Kind.CLAWBACK, reverses_id=OuterRef("pk"), key__startswith="clawback:undo:"
    )
    accruals = LedgerEntry.objects.filter(kind=Kind.COMMISSION, order_line_id__in=line_ids).values_list(
        "key", Exists(undone_back)
    )
    result: dict[str, int] = {}
    live = set()
    for key, undone in accruals:
        stem = key.removeprefix("commission:").rsplit(":", 1)[0]
        if undone:
            result[stem] = result.get(stem, 0) + 1
        else:
            live.add(stem)
    for stem in live:
        result[stem] = -1
    return result


@dataclass(frozen=True)
class _Seller:
    user_id: int
    kind: str  # "" when the help-seller has no rule of their own
    rate_bp: int | None
    fixed_fen: int | None


@dataclass(frozen=True)
class _Picked:
    """A picked-up order as the accrual needs it."""

    campaign_id: int
    brand_id: int
    leader_id: int | None  # the pickup point's leader
    seller: _Seller | None  # whom the order is attributed to


# One read, in plain SQL (a 核销 runs it for every member at the counter: the ORM's select_related and money
# subqueries cost more to build than to run): the picked-up, paid orders with their campaign's brand, their
# point's leader and their help-seller, one row per line with what it was paid and refunded as of ``now``.
_PICKED_LINES = """
SELECT o.id, o.campaign_id, c.brand_id, pp.leader_id, hs.user_id, hs.kind, hs.rate_bp, hs.fixed_fen,
       ol.id, ol.quantity,
       COALESCE((SELECT SUM(e.amount_fen) FROM jielong_ledgerentry e
                 WHERE e.order_line_id = ol.id AND e.kind = %s AND e.created_at <= %s), 0),
       COALESCE((SELECT SUM(e.amount_fen) FROM jielong_ledgerentry e
                 WHERE e.order_line_id = ol.id AND e.kind = %s AND e.created_at <= %s), 0)
FROM jielong_order o
JOIN jielong_campaign c ON c.id = o.campaign_id
LEFT JOIN community_pickuppoint pp ON pp.id = o.pickup_point_id
LEFT JOIN fission_attribution a ON a.order_id = o.id
LEFT JOIN fission_helpseller hs ON hs.id = a.help_seller_id
JOIN jielong_orderline ol ON ol.order_id = o.id
WHERE o.id IN ({ids}) AND o.status = %s AND o.payment_status <> %s
ORDER BY ol.id
"""


def _picked_lines(order_ids: list[int], *, now: datetime) -> tuple[dict[int, _Picked], list[_Line]]:
    """The picked-up, paid orders among ``order_ids`` and their lines (as ``_lines``), in one read."""
    if not order_ids:
        return {}, []
    stamp = connection.ops.adapt_datetimefield_value(now)
    picked, unpaid = str(Order.Status.PICKED_UP), str(Order.PaymentStatus.UNPAID)
    params = [str(Kind.PAYMENT), stamp, str(Kind.REFUND), stamp, *order_ids, picked, unpaid]
    orders: dict[int, _Picked] = {}
    lines: list[_Line] = []
    with connection.cursor() as cur:
        cur.execute(_PICKED_LINES.format(ids=", ".join(["%s"] * len(order_ids))), params)
        for (
            order_id, campaign_id, brand_id, leader_id, seller_user, kind, rate_bp, fixed_fen,
            line_id, quantity, paid, refunded,
        ) in cur.fetchall():  # fmt: skip
            if order_id not in orders:
                seller = _Seller(seller_user, kind, rate_bp, fixed_fen) if seller_user is not None else None
                orders[order_id] = _Picked(campaign_id, brand_id, leader_id, seller)
            lines.append(_Line(pk=line_id, order_id=order_id, quantity=quantity, paid=paid, kept=paid - refunded))
    return orders, lines


def accrue(*, order_ids: list[int], now: datetime | None = None) -> list[LedgerEntry]:
    """Write the commissions earned by these orders' lines, for the orders picked up (others are skipped).
    Call holding the orders' row locks (the 核销's transaction does; ``commissions_catch_up`` takes them).
    Idempotent: what was accrued before is not accrued again."""
    now = now or clock.now()
    orders, lines = _picked_lines(list(order_ids), now=now)
    lines = [line for line in lines if line.kept > 0]
    if not lines:
        return []
    generations = _generations([line.pk for line in lines])
    # The rules of the campaigns with something to earn (one read), each brand's defaults once.
    rules = campaign_rules({orders[line.order_id].campaign_id for line in lines})
    defaults: dict[int, BrandCommission] = {}
    due: list[ledger.CommissionDue] = []
    roles: dict[str, str] = {}
    for line in lines:
        order = orders[line.order_id]
        campaign_id = order.campaign_id
        brand_id = order.brand_id
        if brand_id not in defaults:
            defaults[brand_id] = brand_defaults(brand_id)
        rule = rules[campaign_id]
        leader_amount = 0
        leader_id = order.leader_id
        if leader_id:
            leader_amount = _half_up(line.kept * leader_rate_bp(rule, defaults[brand_id]), FULL_BP)
            _add(due, roles, generations, LEADER, line, leader_id, leader_amount, "leader commission")
        seller = order.seller
        if seller is not None:
            kind, rate_bp, fixed_fen = (
                (seller.kind, seller.rate_bp or 0, seller.fixed_fen or 0)
                if seller.kind
                else (rule.kind, rule.rate_bp, rule.fixed_fen)
            )
            if kind == RuleKind.PERCENT:
                amount = _half_up(line.kept * rate_bp, FULL_BP)
            else:
                amount = _half_up(fixed_fen * line.quantity * line.kept, line.paid) if line.paid else 0
            amount = min(amount, line.kept - leader_amount)
            _add(due, roles, generations, HELP_SELLER, line, seller.user_id, amount, "help-seller commission")
    written = ledger.commissions_record(due=due, now=now)
    events.publish_many(
        fission_events.CommissionAccrued(
            entry_id=entry.pk,
            order_id=entry.order_id,
            payee_id=entry.payee_id,
            role=ROLE_NAMES[roles[entry.key]],
            amount_fen=entry.amount_fen,
        )
        for entry in written
    )
    return written


def _add(due, roles, generations, role, line: _Line, payee_id: int, amount: int, reason: str) -> None:
    stem = f"{role}:{line.pk}:{payee_id}"
    generation = generations.get(stem, 0)
    if amount <= 0 or generation < 0:
        return
    key = f"{stem}:{generation}"
    roles[f"commission:{key}"] = role
    due.append(
        ledger.CommissionDue(
            order_id=line.order_id, order_line_id=line.pk, payee_id=payee_id, amount_fen=amount, key=key, reason=reason
        )
    )


def _order(entry) -> tuple:
    return (entry.created_at, entry.pk)


def claw_back(*, refund_entries: list[LedgerEntry], now: datetime | None = None) -> list[LedgerEntry]:
    """Take back, for each refund entry, the share of each earlier commission on its line that the refund took
    from the line's base. Call holding the order's lock (``refund_issue`` does). Idempotent per (refund entry,
    commission)."""
    refund_entries = [e for e in refund_entries if e.kind == Kind.REFUND and e.order_line_id]
    line_ids = {e.order_line_id for e in refund_entries}
    if not line_ids:
        return []
    accruals = list(LedgerEntry.objects.filter(kind=Kind.COMMISSION, order_line_id__in=line_ids).order_by("pk"))
    if not accruals:
        return []
    money = list(
        LedgerEntry.objects.filter(order_line_id__in=line_ids, kind__in=[Kind.PAYMENT, Kind.REFUND]).only(
            "pk", "kind", "amount_fen", "created_at", "order_line_id"
        )
    )
    left = {a.pk: a.amount_fen for a in accruals}
    for reverses_id, amount in LedgerEntry.objects.filter(kind=Kind.CLAWBACK, reverses_id__in=list(left)).values_list(
        "reverses_id", "amount_fen"
    ):
        left[reverses_id] -= amount
    done = set(
        LedgerEntry.objects.filter(
            key__in=[f"clawback:{r.pk}:{a.pk}" for r in refund_entries for a in accruals]
        ).values_list("key", flat=True)
    )
    due = []
    for refund in sorted(refund_entries, key=_order):
        line_money = [m for m in money if m.order_line_id == refund.order_line_id]
        paid = sum(m.amount_fen for m in line_money if m.kind == Kind.PAYMENT)
        kept_after = paid - sum(
            m.amount_fen for m in line_money if m.kind == Kind.REFUND and _order(m) <= _order(refund)
        )
        for accrual in accruals:
            if accrual.order_line_id != refund.order_line_id or _order(accrual) >= _order(refund):
                continue
            key = f"{refund.pk}:{accrual.pk}"
            if f"clawback:{key}" in done:
                continue
            kept_then = paid - sum(
                m.amount_fen for m in line_money if m.kind == Kind.REFUND and _order(m) < _order(accrual)
            )
            target = _half_up(accrual.amount_fen * max(kept_after, 0), kept_then) if kept_then > 0 else 0
            amount = max(left[accrual.pk] - target, 0)
            if amount:
                left[accrual.pk] -= amount
                due.append(ledger.ClawbackDue(reverses_id=accrual.pk, amount_fen=amount, key=key, reason="refund"))
    written = ledger.clawbacks_record(due=due, now=now or clock.now())
    _publish_reversed(written, reason="refund")
    return written


def _publish_reversed(written: list[LedgerEntry], *, reason: str) -> None:
    events.publish_many(
        fission_events.CommissionReversed(
            entry_id=entry.pk,
            reverses_id=entry.reverses_id,
            order_id=entry.order_id,
            payee_id=entry.payee_id,
            amount_fen=entry.amount_fen,
            reason=reason,
        )
        for entry in written
    )


def reverse_all(*, order_ids: list[int], now: datetime | None = None) -> list[LedgerEntry]:
    """An undone pickup: take back what is left of every commission on these orders."""
    accruals = list(LedgerEntry.objects.filter(kind=Kind.COMMISSION, order_id__in=order_ids).order_by("pk"))
    left = {a.pk: a.amount_fen for a in accruals}
    for reverses_id, amount in LedgerEntry.objects.filter(kind=Kind.CLAWBACK, reverses_id__in=list(left)).values_list(
        "reverses_id", "amount_fen"
    ):
        left[reverses_id] -= amount
    due = [
        ledger.ClawbackDue(reverses_id=pk, amount_fen=amount, key=f"undo:{pk}", reason="pickup undone")
        for pk, amount in left.items()
        if amount > 0
    ]
    written = ledger.clawbacks_record(due=due, now=now or clock.now())
    _publish_reversed(written, reason="pickup_undone")
    return written


# --- hooks (registered in FissionConfig.ready) -----------------------------------------------------------


def accrue_on_pickup(order_ids: list[int], now: datetime) -> None:
    accrue(order_ids=order_ids, now=now)


def reverse_on_undo(order_ids: list[int], now: datetime) -> None:
    reverse_all(order_ids=order_ids, now=now)


def claw_back_on_refund(entries: list) -> None:
    claw_back(refund_entries=entries)


# --- the sweep -------------------------------------------------------------------------------------------


def commissions_catch_up(*, now: datetime | None = None, lookback: timedelta = SWEEP_LOOKBACK) -> int:
    """What the hooks could not do: orders picked up by a batch step (not a 核销) or paid after their pickup,
    and refunds written before their commissions were. Each order under its lock; idempotent. Returns the
    entries written."""
    now = now or clock.now()
    since = now - lookback
    picked = set(
        Parcel.objects.filter(state=Parcel.State.PICKED_UP, picked_up_at__gte=since).values_list("order_id", flat=True)
    )
    refunded = set(
        LedgerEntry.objects.filter(kind=Kind.REFUND, created_at__gte=since)
        .filter(order_line_id__in=LedgerEntry.objects.filter(kind=Kind.COMMISSION).values("order_line_id"))
        .values_list("order_id", flat=True)
    )
    written = 0
    for order_id in sorted(picked | refunded):
        with transaction.atomic():
            list(Order.objects.select_for_update().filter(pk=order_id))
            written += len(accrue(order_ids=[order_id], now=now))
            written += len(
                claw_back(
                    refund_entries=list(LedgerEntry.objects.filter(order_id=order_id, kind=Kind.REFUND)),
                    now=now,
                )
            )
    return written


__all__ = ["accrue", "claw_back", "commissions_catch_up", "reverse_all"]
