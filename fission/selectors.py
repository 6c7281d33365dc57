"""Reads for the help-seller and commission pages: sales and earnings per help-seller, per person."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, Sum

from community.models import User
from jielong.models import LedgerEntry, Order

from .models import Attribution, HelpSeller, Statement
from .settlement import unsettled

Kind = LedgerEntry.Kind


@dataclass
class Earnings:
    accrued: int = 0
    reversed: int = 0
    settled: int = 0

    @property
    def net(self) -> int:
        return self.accrued - self.reversed

    @property
    def owed(self) -> int:
        return self.net - self.settled


@dataclass
class SellerRow:
    seller: HelpSeller
    orders: int = 0
    sales_fen: int = 0
    earnings: Earnings = field(default_factory=Earnings)


def _role_q(role: str) -> Q:
    prefix = f"commission:{role}:"
    return Q(kind=Kind.COMMISSION, key__startswith=prefix) | Q(kind=Kind.CLAWBACK, reverses__key__startswith=prefix)


def _earnings(entries) -> dict[int, Earnings]:
    """Per payee from these ledger entries (commissions and clawbacks)."""
    found: dict[int, Earnings] = defaultdict(Earnings)
    for payee_id, kind, settled, total in (
        entries.values_list("payee_id", "kind")
        .annotate(settled=ExpressionWrapper(Q(statement_line__isnull=False), output_field=BooleanField()))
        .annotate(total=Sum("amount_fen"))
        .values_list("payee_id", "kind", "settled", "total")
    ):
        row = found[payee_id]
        sign = 1 if kind == Kind.COMMISSION else -1
        if kind == Kind.COMMISSION:
            row.accrued += total
        else:
            row.reversed += total
        if settled:
            row.settled += sign * total
    return found


def commission_entries():
    return LedgerEntry.objects.filter(kind__in=[Kind.COMMISSION, Kind.CLAWBACK])


def seller_rows(sellers: list[HelpSeller]) -> list[SellerRow]:
    """Each help-seller's attributed orders (not cancelled), what they sold (less refunds) and earned on it."""
    rows = {s.pk: SellerRow(seller=s) for s in sellers}
    for seller_id, orders, sales in (
        Attribution.objects.filter(help_seller_id__in=rows)
        .exclude(order__status=Order.Status.CANCELLED)
        .values_list("help_seller_id")
        .annotate(n=Count("pk"), sales=Sum(F("order__total_fen") - F("order__refunded_fen")))
    ):
        rows[seller_id].orders, rows[seller_id].sales_fen = orders, sales or 0
    for seller in sellers:
        entries = commission_entries().filter(
            _role_q("hs"), payee_id=seller.user_id, order__campaign_id=seller.campaign_id
        )
        rows[seller.pk].earnings = _earnings(entries).get(seller.user_id, Earnings())
    return list(rows.values())


@dataclass
class PayeeRow:
    payee: User
    roles: tuple[str, ...]
    earnings: Earnings
    in_period: int  # what settling the period would settle (fen)
    in_period_entries: int


def payee_rows(*, period_start: date, period_end: date, brand_ids=None) -> list[PayeeRow]:
    """Everyone who earned commissions: their totals, and what the period would settle — from the orders of
    ``brand_ids`` only when given (a brand's operator sees their brand's commissions, not another's)."""
    entries, helpers = commission_entries(), HelpSeller.objects.all()
    in_period = unsettled(period_start=period_start, period_end=period_end)
    if brand_ids is not None:
        entries = entries.filter(order__campaign__brand_id__in=brand_ids)
        helpers = helpers.filter(campaign__brand_id__in=brand_ids)
        in_period = in_period.filter(order__campaign__brand_id__in=brand_ids)
    totals = _earnings(entries)
    leaders = set(entries.filter(_role_q("leader")).values_list("payee_id", flat=True).distinct())
    sellers = set(helpers.values_list("user_id", flat=True).distinct())
    period: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for payee_id, kind, total, n in in_period.values_list("payee_id", "kind").annotate(
        total=Sum("amount_fen"), n=Count("pk")
    ):
        period[payee_id][0] += total if kind == Kind.COMMISSION else -total
        period[payee_id][1] += n
    people = User.objects.in_bulk(set(totals) | sellers)
    rows = []
    for pk, user in people.items():
        roles = tuple(r for r, ok in (("help_seller", pk in sellers), ("leader", pk in leaders)) if ok)
        rows.append(
            PayeeRow(
                payee=user,
                roles=roles,
                earnings=totals.get(pk, Earnings()),
                in_period=period[pk][0] if pk in period else 0,
                in_period_entries=period[pk][1] if pk in period else 0,
            )
        )
    rows.sort(key=lambda r: (-r.earnings.owed, -r.earnings.accrued, r.payee.pk))
    return rows


def person_earnings(*, user: User, brand_ids: frozenset[int] | None = None) -> dict[str, Earnings]:
    """A person's earnings as a help-seller and as a leader, and in all; with ``brand_ids``, only on those
    brands' orders (a brand operator's view of the person)."""
    mine = commission_entries().filter(payee=user)
    if brand_ids is not None:
        mine = mine.filter(order__campaign__brand__in=brand_ids)
    return {
        "all": _earnings(mine).get(user.pk, Earnings()),
        "help_seller": _earnings(mine.filter(_role_q("hs"))).get(user.pk, Earnings()),
        "leader": _earnings(mine.filter(_role_q("leader"))).get(user.pk, Earnings()),
    }


def statements_of(*, user: User):
    return Statement.objects.filter(payee=user).order_by("-period_end", "-pk")
