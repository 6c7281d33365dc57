"""The money ledger (资金流水): the only writer of ``LedgerEntry``.

Every money movement is written here, in the same transaction as the change it describes: a payment with
``order_mark_paid``, a campaign's refunds with its failure, a refund or a store credit with whatever asked for
it (an after-sales request, a bulk refund). Payments and refunds are kept per order line, so the rule "never
refund more than was paid for an item" is a sum over the ledger, checked under the order's lock.

Locking: the order row first (as every jielong write does after its campaign), then its lines in pk order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from community.models import User
from groupbuy import audit, clock, events
from groupbuy.errors import DomainError
from groupbuy.money import format_fen

from . import events as jielong_events
from . import hooks, payments
from .models import Campaign, LedgerEntry, Order, OrderLine

Kind = LedgerEntry.Kind
KEY_MAX = 100


class RefundRefused(DomainError):
    pass


@dataclass(frozen=True)
class Refund:
    """A refund as written (or as found again: ``is_new`` is False when a retry met an earlier one)."""

    order_id: int
    amount_fen: int
    key: str
    entry_ids: tuple[int, ...]
    is_new: bool


def _check_key(key: str) -> None:
    # "#" separates the caller's key from the line in the stored key; a key with one could collide.
    if not key or len(key) > KEY_MAX or "#" in key:
        raise ValueError(f"a ledger key is 1-{KEY_MAX} characters without '#': {key!r}")


def payment_record(*, order: Order, by: User | None, reason: str = "") -> int:
    """Write the payment of ``order`` (one entry per line, at the line's price now). Call inside the
    transaction that marks it paid, holding the order's lock. Idempotent: a line paid before is skipped.
    Returns the amount written."""
    return payments_record([order], by=by, reason=reason)


def payments_record(
    orders: list[Order], *, by: User | None, reason: str = "", paid_at: Callable[[Order], datetime] | None = None
) -> int:
    """:func:`payment_record` for many orders in four statements (the demo's year records 2,000 at once), each
    entry dated ``paid_at(order)`` (default: now), written in the order of ``orders``. Returns the amount
    written."""
    if not orders:
        return 0
    by_pk = {order.pk: order for order in orders}
    rank = {order.pk: i for i, order in enumerate(orders)}
    lines = sorted(OrderLine.objects.filter(order_id__in=by_pk), key=lambda line: (rank[line.order_id], line.pk))
    providers = dict(
        Campaign.objects.filter(pk__in={order.campaign_id for order in orders}).values_list("pk", "payment_method")
    )
    now = clock.now()
    entries = [
        LedgerEntry(
            kind=Kind.PAYMENT,
            amount_fen=line.quantity * line.unit_price_fen,
            order_id=line.order_id,
            order_line=line,
            provider=providers.get(by_pk[line.order_id].campaign_id) or "",
            key=f"payment#{line.pk}",
            reason=reason,
            created_at=paid_at(by_pk[line.order_id]) if paid_at is not None else now,
            by=by,
        )
        for line in lines
        if line.quantity * line.unit_price_fen > 0
    ]
    known = set(LedgerEntry.objects.filter(key__in=[e.key for e in entries]).values_list("key", flat=True))
    fresh = [e for e in entries if e.key not in known]
    LedgerEntry.objects.bulk_create(fresh)
    return sum(e.amount_fen for e in fresh)


def _ensure_payment(order: Order) -> None:
    """Orders marked paid before the ledger existed (or written straight by a seed) have no payment
    entries: write them now from the lines, marked as recorded late, so refunds have something to check."""
    if order.payment_status == Order.PaymentStatus.UNPAID:
        return
    if not LedgerEntry.objects.filter(order=order, kind=Kind.PAYMENT).exists():
        payment_record(order=order, by=None, reason="recorded late")


def _balances(order_id: int) -> dict[int, int]:
    """Per order line: paid minus refunded, from the ledger."""
    left: dict[int, int] = defaultdict(int)
    rows = (
        LedgerEntry.objects.filter(order_id=order_id, kind__in=[Kind.PAYMENT, Kind.REFUND])
        .values_list("order_line_id", "kind")
        .annotate(total=Sum("amount_fen"))
    )
    for line_id, kind, total in rows:
        left[line_id] += total if kind == Kind.PAYMENT else -total
    return dict(left)


def refundable_fen(*, order: Order, order_line_ids: list[int] | None = None) -> int:
    """What is left to refund on ``order`` (or on some of its lines): paid minus refunded, per the ledger.
    A read for pages; ``refund_issue`` checks again under the lock."""
    left = _balances(order.pk)
    if not left and order.payment_status == Order.PaymentStatus.PAID:
        # Paid before the ledger: what the lines cost, less what was refunded already.
        lines = order.lines.all() if order_line_ids is None else order.lines.filter(pk__in=order_line_ids)
        paid = sum(line.quantity * line.unit_price_fen for line in lines)
        return max(paid - (order.refunded_fen if order_line_ids is None else 0), 0)
    return sum(v for k, v in left.items() if order_line_ids is None or k in order_line_ids)


def _lock(order_id: int) -> tuple[Order, list[OrderLine]]:
    order = Order.objects.select_for_update(of=["self"]).select_related("campaign").get(pk=order_id)
    lines = list(OrderLine.objects.select_for_update().filter(order_id=order_id).order_by("pk"))
    return order, lines


def _found(key: str, prefix: str, order_id: int) -> Refund | None:
    earlier = list(LedgerEntry.objects.filter(key__startswith=prefix).values_list("pk", "order_id", "amount_fen"))
    if not earlier:
        return None
    if any(row[1] != order_id for row in earlier):
        raise RefundRefused(_("That request was already used for another order."), code="key_reused")
    return Refund(
        order_id=order_id,
        amount_fen=sum(row[2] for row in earlier),
        key=key,
        entry_ids=tuple(row[0] for row in earlier),
        is_new=False,
    )


def _order_target(order: Order) -> audit.Target:
    return audit.Target(type="jielong.order", id=order.pk, label=f"{order.campaign.title} #{order.seq}")


def refund_issue(
    *,
    amount_fen: int,
    key: str,
    by: User | None,
    reason: str = "",
    order: Order | None = None,
    order_line: OrderLine | None = None,
    order_line_ids: list[int] | None = None,
) -> Refund:
    """Refund ``amount_fen`` of an order (spread over its lines in pk order), of one line, or of some lines.

    Idempotent by ``key`` (an after-sales request, a bulk refund's order): a retry, or a second click
    racing the first, returns the refund already made and moves no money. Never more than was paid per
    line in total, across partial refunds, retries and concurrent calls: the order and its lines are
    locked, then the ledger's sums are checked. Keeps ``Order.refunded_fen`` and ``payment_status`` in step.
    Raises ``RefundRefused`` and then changes nothing.
    """
    _check_key(key)
    if (order is None) == (order_line is None):
        raise ValueError("refund an order or an order line")
    if order_line is not None:
        order_id, order_line_ids = order_line.order_id, [order_line.pk]
    else:
        order_id = order.pk
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise RefundRefused(_("Enter an amount above zero."), code="amount")
    prefix = f"refund:{key}#"
    with transaction.atomic():
        locked, lines = _lock(order_id)
        earlier = _found(key, prefix, order_id)
        if earlier is not None:
            return earlier
        if locked.payment_status == Order.PaymentStatus.UNPAID:
            raise RefundRefused(_("This order has not been paid: there is nothing to refund."), code="unpaid")
        _ensure_payment(locked)
        left = _balances(order_id)
        targets = [line for line in lines if order_line_ids is None or line.pk in order_line_ids]
        if order_line_ids is not None and len(targets) != len(set(order_line_ids)):
            raise RefundRefused(_("That item is not in this order."), code="line")
        available = sum(max(left.get(line.pk, 0), 0) for line in targets)
        if amount_fen > available:
            raise RefundRefused(
                _("At most %(left)s is left to refund for these items.") % {"left": format_fen(available)},
                code="over_refund",
            )
        provider = payments.get_provider(locked.campaign.payment_method)
        receipt = provider.refund(order_id=order_id, amount_fen=amount_fen, key=key)
        now, remaining, entries = clock.now(), amount_fen, []
        for line in targets:
            share = min(max(left.get(line.pk, 0), 0), remaining)
            if share:
                entries.append(
                    LedgerEntry(
                        kind=Kind.REFUND,
                        amount_fen=share,
                        order_id=order_id,
                        order_line=line,
                        provider=f"{provider.code}:{receipt.reference}"[:32],
                        key=f"{prefix}{line.pk}",
                        reason=reason[:200],
                        created_at=now,
                        by=by,
                    )
                )
                remaining -= share
        LedgerEntry.objects.bulk_create(entries)
        # Commissions earned on these lines give back their share (fission's clawback), in this transaction.
        hooks.refund_written(entries)
        paid = LedgerEntry.objects.filter(order_id=order_id, kind=Kind.PAYMENT).aggregate(s=Sum("amount_fen"))["s"]
        before = {"refunded_fen": locked.refunded_fen, "payment_status": locked.payment_status}
        locked.refunded_fen += amount_fen
        if locked.refunded_fen >= (paid or 0):
            locked.payment_status = Order.PaymentStatus.REFUNDED
        locked.save(update_fields=["refunded_fen", "payment_status"])
        audit.record(
            "jielong.refunded",
            actor=by,
            target=_order_target(locked),
            brand_id=locked.campaign.brand_id,
            before=before,
            after={"refunded_fen": locked.refunded_fen, "payment_status": locked.payment_status},
            note=reason,
        )
        events.publish(
            jielong_events.RefundIssued(
                campaign_id=locked.campaign_id,
                order_id=order_id,
                user_id=locked.user_id,
                amount_fen=amount_fen,
                key=key,
                by=by.pk if by else None,
            )
        )
    return Refund(
        order_id=order_id, amount_fen=amount_fen, key=key, entry_ids=tuple(e.pk for e in entries), is_new=True
    )


def refund_failed_campaign(*, order_ids: list[int], campaign_id: int) -> int:
    """A failed campaign (不成团) gives back everything paid on its paid orders: one refund entry per line for
    what is left. Call inside ``campaign_close``'s transaction, holding the orders' locks. Returns the total."""
    orders = list(Order.objects.filter(pk__in=order_ids).exclude(payment_status=Order.PaymentStatus.UNPAID))
    now, entries = clock.now(), []
    for order in orders:
        _ensure_payment(order)
        for line_id, left in sorted(_balances(order.pk).items()):
            if left > 0:
                entries.append(
                    LedgerEntry(
                        kind=Kind.REFUND,
                        amount_fen=left,
                        order_id=order.pk,
                        order_line_id=line_id,
                        key=f"refund:campaign-failed-{campaign_id}#{line_id}",
                        reason="campaign failed",
                        created_at=now,
                    )
                )
    LedgerEntry.objects.bulk_create(entries, ignore_conflicts=True)
    return sum(e.amount_fen for e in entries)


def credit_issue(*, order: Order, amount_fen: int, key: str, by: User | None, reason: str = "") -> LedgerEntry:
    """Give the member of ``order`` store credit (no money moves out now). Idempotent by ``key``; at most
    the order's value less what was refunded and credited before."""
    _check_key(key)
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise RefundRefused(_("Enter an amount above zero."), code="amount")
    with transaction.atomic():
        locked, _lines = _lock(order.pk)
        earlier = LedgerEntry.objects.filter(key=f"credit:{key}").first()
        if earlier is not None:
            if earlier.order_id != locked.pk:
                raise RefundRefused(_("That request was already used for another order."), code="key_reused")
            return earlier
        credited = LedgerEntry.objects.filter(order=locked, kind=Kind.CREDIT).aggregate(s=Sum("amount_fen"))["s"] or 0
        left = locked.total_fen - locked.refunded_fen - credited
        if amount_fen > left:
            raise RefundRefused(
                _("At most %(left)s can be given as credit for this order.") % {"left": format_fen(max(left, 0))},
                code="over_credit",
            )
        entry = LedgerEntry.objects.create(
            kind=Kind.CREDIT,
            amount_fen=amount_fen,
            order=locked,
            key=f"credit:{key}",
            reason=reason[:200],
            created_at=clock.now(),
            by=by,
        )
        audit.record(
            "jielong.credit_issued",
            actor=by,
            target=_order_target(locked),
            brand_id=locked.campaign.brand_id,
            before={"credit_fen": credited},
            after={"credit_fen": credited + amount_fen},
            note=reason,
        )
        events.publish(
            jielong_events.CreditIssued(
                campaign_id=locked.campaign_id,
                order_id=locked.pk,
                user_id=locked.user_id,
                amount_fen=amount_fen,
                key=key,
                by=by.pk if by else None,
            )
        )
    return entry


# --- commissions (佣金) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CommissionDue:
    """A commission to write: ``payee`` earned ``amount_fen`` on an order line (a help-seller's sale, a
    leader's pickup-point commission). ``key`` makes it once (e.g. "hs:<line>:<payee>:0")."""

    order_id: int
    order_line_id: int
    payee_id: int
    amount_fen: int
    key: str
    reason: str = ""


@dataclass(frozen=True)
class ClawbackDue:
    """Give back ``amount_fen`` of the commission entry ``reverses`` (a refund of the line, an undone pickup)."""

    reverses_id: int
    amount_fen: int
    key: str
    reason: str = ""


def commissions_record(*, due: list[CommissionDue], now=None) -> list[LedgerEntry]:
    """Write commissions (kind ``commission``, naming the payee and the line), skipping keys written before.
    Call inside the transaction of what earned them (a 核销), holding the orders' row locks. Returns what
    was written now."""
    wanted = [d for d in due if d.amount_fen > 0]
    for d in wanted:
        _check_key(d.key)
    if not wanted:
        return []
    keys = [f"commission:{d.key}" for d in wanted]
    known = set(LedgerEntry.objects.filter(key__in=keys).values_list("key", flat=True))
    now = now or clock.now()
    fresh = [
        LedgerEntry(
            kind=Kind.COMMISSION,
            amount_fen=d.amount_fen,
            order_id=d.order_id,
            order_line_id=d.order_line_id,
            payee_id=d.payee_id,
            key=key,
            reason=d.reason[:200],
            created_at=now,
        )
        for d, key in zip(wanted, keys, strict=True)
        if key not in known
    ]
    LedgerEntry.objects.bulk_create(fresh)
    return fresh


def clawbacks_record(*, due: list[ClawbackDue], now=None) -> list[LedgerEntry]:
    """Write clawbacks (kind ``clawback``) of commission entries, each on its commission's order line and payee,
    skipping keys written before. Never more than what is left of a commission: that is a caller's bug
    (``ValueError``), so the transaction rolls back. Call holding the order's row lock."""
    wanted = [d for d in due if d.amount_fen > 0]
    for d in wanted:
        _check_key(d.key)
    if not wanted:
        return []
    keys = [f"clawback:{d.key}" for d in wanted]
    known = set(LedgerEntry.objects.filter(key__in=keys).values_list("key", flat=True))
    todo = [(d, key) for d, key in zip(wanted, keys, strict=True) if key not in known]
    accruals = LedgerEntry.objects.in_bulk([d.reverses_id for d, _key in todo])
    left = {
        pk: accrual.amount_fen
        - (LedgerEntry.objects.filter(reverses_id=pk, kind=Kind.CLAWBACK).aggregate(s=Sum("amount_fen"))["s"] or 0)
        for pk, accrual in accruals.items()
    }
    now = now or clock.now()
    fresh = []
    for d, key in todo:
        accrual = accruals.get(d.reverses_id)
        if accrual is None or accrual.kind != Kind.COMMISSION:
            raise ValueError(f"a clawback reverses a commission entry, not {d.reverses_id}")
        if d.amount_fen > left[accrual.pk]:
            raise ValueError(f"clawback {d.amount_fen} > {left[accrual.pk]} left of commission {accrual.pk}")
        left[accrual.pk] -= d.amount_fen
        fresh.append(
            LedgerEntry(
                kind=Kind.CLAWBACK,
                amount_fen=d.amount_fen,
                order_id=accrual.order_id,
                order_line_id=accrual.order_line_id,
                payee_id=accrual.payee_id,
                reverses=accrual,
                key=key,
                reason=d.reason[:200],
                created_at=now,
            )
        )
    LedgerEntry.objects.bulk_create(fresh)
    return fresh


def payments_backfill() -> int:
    """Write the payment entries of paid orders that have none (marked paid before the ledger existed, or
    written straight by a seed), as recorded late. Idempotent; returns how many orders it wrote."""
    missing = (
        Order.objects.exclude(payment_status=Order.PaymentStatus.UNPAID)
        .exclude(pk__in=LedgerEntry.objects.filter(kind=Kind.PAYMENT).values("order_id"))
        .order_by("pk")
    )
    written = 0
    for order in missing.iterator():
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            if locked.payment_status != Order.PaymentStatus.UNPAID:
                _ensure_payment(locked)
                written += 1
    return written


def ledger_reconcile(*, order_ids: list[int] | None = None) -> list[str]:
    """Compare the ledger with the orders, to the fen; returns the differences found (empty: it reconciles).

    Per order: payments equal the lines' value when paid (nothing when unpaid), refunds equal
    ``refunded_fen``; per line: refunds never exceed payments."""
    orders = Order.objects.all() if order_ids is None else Order.objects.filter(pk__in=order_ids)
    sums: dict[tuple[int, int | None, str], int] = defaultdict(int)
    entries = LedgerEntry.objects.filter(kind__in=[Kind.PAYMENT, Kind.REFUND])
    if order_ids is not None:
        entries = entries.filter(order_id__in=order_ids)
    for order_id, line_id, kind, total in entries.values_list("order_id", "order_line_id", "kind").annotate(
        total=Sum("amount_fen")
    ):
        sums[(order_id, line_id, kind)] += total
    per_order: dict[tuple[int, str], int] = defaultdict(int)
    problems = []
    for (order_id, line_id, kind), total in sums.items():
        per_order[(order_id, kind)] += total
        if kind == Kind.REFUND and total > sums.get((order_id, line_id, Kind.PAYMENT), 0):
            problems.append(f"order {order_id} line {line_id}: refunded {total} > paid")
    for order in orders.only("pk", "payment_status", "refunded_fen"):
        paid = per_order.get((order.pk, Kind.PAYMENT), 0)
        refunded = per_order.get((order.pk, Kind.REFUND), 0)
        if refunded != order.refunded_fen:
            problems.append(f"order {order.pk}: refunded_fen {order.refunded_fen} != ledger {refunded}")
        if order.payment_status == Order.PaymentStatus.UNPAID and paid:
            problems.append(f"order {order.pk}: unpaid with payments {paid}")
        if order.payment_status != Order.PaymentStatus.UNPAID and not paid:
            problems.append(f"order {order.pk}: {order.payment_status} without a payment in the ledger")
        if order.payment_status == Order.PaymentStatus.REFUNDED and paid and refunded != paid:
            problems.append(f"order {order.pk}: marked refunded, {refunded} of {paid}")
    problems += _commissions_reconcile(order_ids=order_ids, sums=sums)
    return problems


def _commissions_reconcile(*, order_ids: list[int] | None, sums: dict) -> list[str]:
    """Commissions: each names its payee and line; a clawback reverses a commission of the same payee and line
    and never takes back more than it; what a line's commissions keep never exceeds what its member kept paid."""
    entries = LedgerEntry.objects.filter(kind__in=[Kind.COMMISSION, Kind.CLAWBACK])
    if order_ids is not None:
        entries = entries.filter(order_id__in=order_ids)
    rows = list(
        entries.values_list(
            "pk", "kind", "amount_fen", "order_id", "order_line_id", "payee_id", "reverses_id", "reverses__kind"
        )
    )
    problems = []
    kept: dict[int, int] = defaultdict(int)  # commission pk → what is left of it
    per_line: dict[tuple[int, int], int] = defaultdict(int)
    by_pk = {row[0]: row for row in rows}
    for pk, kind, amount, order_id, line_id, payee_id, _reverses, _rkind in rows:
        if payee_id is None or line_id is None:
            problems.append(f"{kind} {pk}: without a payee or an order line")
        if kind == Kind.COMMISSION:
            kept[pk] += amount
            per_line[(order_id, line_id)] += amount
    for pk, kind, amount, order_id, line_id, payee_id, reverses, reverses_kind in rows:
        if kind != Kind.CLAWBACK:
            continue
        accrual = by_pk.get(reverses)
        if reverses_kind != Kind.COMMISSION or accrual is None:
            problems.append(f"clawback {pk}: reverses no commission of its order")
            continue
        if (accrual[4], accrual[5]) != (line_id, payee_id):
            problems.append(f"clawback {pk}: another line or payee than commission {reverses}")
        kept[reverses] -= amount
        per_line[(order_id, line_id)] -= amount
    for pk, left in kept.items():
        if left < 0:
            problems.append(f"commission {pk}: clawed back {-left} more than it was")
    for (order_id, line_id), commission in per_line.items():
        net_paid = sums.get((order_id, line_id, Kind.PAYMENT), 0) - sums.get((order_id, line_id, Kind.REFUND), 0)
        if commission > net_paid:
            problems.append(f"order {order_id} line {line_id}: commissions {commission} > {net_paid} kept paid")
    return problems


def credit_balance_fen(*, user_id: int) -> int:
    """A member's store credit given so far (spending it is not built yet)."""
    return LedgerEntry.objects.filter(kind=Kind.CREDIT, order__user_id=user_id).aggregate(s=Sum("amount_fen"))["s"] or 0


__all__ = [
    "ClawbackDue",
    "CommissionDue",
    "Refund",
    "RefundRefused",
    "clawbacks_record",
    "commissions_record",
    "credit_balance_fen",
    "credit_issue",
    "ledger_reconcile",
    "payment_record",
    "payments_backfill",
    "payments_record",
    "refund_failed_campaign",
    "refund_issue",
    "refundable_fen",
]
