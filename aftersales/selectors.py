"""Reads over after-sales history for the refund-abuse blacklist (售后黑名单): one person's record in a
brand (the evidence a flag keeps), and whom operators might review.

Only requests the member opened count: a shortage that fulfilment recorded (``Source.SHORTAGE``) was
not the member's doing. The refund rate is what after-sales refunded to the person divided by what
they paid in the brand.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from community.models import Flag, User
from groupbuy.money import format_fen
from jielong.models import Order

from .models import Request

# Whom to suggest for review. A person with fewer member-opened requests is never suggested (one bad
# delivery is not a pattern); beyond that, each threshold reached is one reason shown to the operator.
REVIEW_MIN_REQUESTS = 2
HIGH_REFUND_RATE = 0.30  # refunded ÷ paid in the brand
HIGH_REFUND_FEN = 100_00  # ¥100 refunded through after-sales
MANY_REQUESTS = 4
REPEATED_REASON_TIMES = 3  # the same reason this many times
SUGGESTIONS_LIMIT = 50
RECENT_REQUESTS = 20  # request numbers a flag's evidence keeps

PAID = (Order.PaymentStatus.PAID, Order.PaymentStatus.REFUNDED)


@dataclass(frozen=True)
class PersonHistory:
    """A person's after-sales record in one brand."""

    brand_id: int
    user_id: int
    requests: int = 0  # opened by the member
    shortage_requests: int = 0  # opened by fulfilment's shortage record (not counted against them)
    refunded_fen: int = 0
    credited_fen: int = 0
    paid_fen: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # reason code -> member-opened requests
    request_ids: tuple[int, ...] = ()  # newest first
    last_opened_at: datetime | None = None

    @property
    def refund_rate(self) -> float | None:
        return self.refunded_fen / self.paid_fen if self.paid_fen else None

    @property
    def refund_percent(self) -> int | None:
        rate = self.refund_rate
        return None if rate is None else round(rate * 100)

    @property
    def repeated_reasons(self) -> list[tuple[str, int]]:
        return sorted(
            ((reason, n) for reason, n in self.reasons.items() if n >= REPEATED_REASON_TIMES), key=lambda r: -r[1]
        )

    @property
    def signals(self) -> list[str]:
        """The review thresholds this record reaches, strongest first (empty below ``REVIEW_MIN_REQUESTS``)."""
        if self.requests < REVIEW_MIN_REQUESTS:
            return []
        found = []
        if self.refund_rate is not None and self.refund_rate >= HIGH_REFUND_RATE:
            found.append("refund_rate")
        if self.repeated_reasons:
            found.append("repeated_reason")
        if self.refunded_fen >= HIGH_REFUND_FEN:
            found.append("refund_amount")
        if self.requests >= MANY_REQUESTS:
            found.append("many_requests")
        return found

    @property
    def signal_texts(self) -> list[str]:
        """The reasons to review, in the reader's language."""
        labels = dict(Request.Reason.choices)
        texts = []
        for signal in self.signals:
            if signal == "refund_rate":
                texts.append(
                    _("Refunded %(percent)s%% of what they paid (%(refunded)s of %(paid)s)")
                    % {
                        "percent": self.refund_percent,
                        "refunded": format_fen(self.refunded_fen),
                        "paid": format_fen(self.paid_fen),
                    }
                )
            elif signal == "repeated_reason":
                for reason, n in self.repeated_reasons:
                    texts.append(_("“%(reason)s” %(n)s times") % {"reason": labels.get(reason, reason), "n": n})
            elif signal == "refund_amount":
                texts.append(_("%(amount)s refunded in all") % {"amount": format_fen(self.refunded_fen)})
            elif signal == "many_requests":
                texts.append(_("%(n)s after-sales requests") % {"n": self.requests})
        return texts

    @property
    def rank(self) -> tuple:
        return (-len(self.signals), -(self.refund_rate or 0), -self.refunded_fen, -self.requests, self.user_id)

    def evidence(self, *, as_of: datetime) -> dict:
        """The record as plain JSON, kept with a flag as it was when the operator decided."""
        return {
            "as_of": as_of.isoformat(),
            "requests": self.requests,
            "shortage_requests": self.shortage_requests,
            "refunded_fen": self.refunded_fen,
            "credited_fen": self.credited_fen,
            "paid_fen": self.paid_fen,
            "refund_percent": self.refund_percent,
            "reasons": dict(self.reasons),
            "signals": self.signals,
            "request_ids": list(self.request_ids[:RECENT_REQUESTS]),
        }


def _histories(*, brand_id: int, user_ids: list[int] | None = None) -> dict[int, PersonHistory]:
    requests = Request.objects.filter(brand_id=brand_id)
    if user_ids is not None:
        requests = requests.filter(user_id__in=user_ids)
    by_user: dict[int, dict] = defaultdict(lambda: {"reasons": Counter(), "ids": [], "requests": 0, "shortage": 0})
    refunds = Q(resolution=Request.Resolution.REFUND)
    credits = Q(resolution=Request.Resolution.CREDIT)
    for row in (
        requests.values("user_id", "source", "reason")
        .annotate(
            n=Count("pk"),
            refunded=Sum("resolved_fen", filter=refunds, default=0),
            credited=Sum("resolved_fen", filter=credits, default=0),
        )
        .order_by()
    ):
        person = by_user[row["user_id"]]
        if row["source"] == Request.Source.SHORTAGE:
            person["shortage"] += row["n"]
            continue
        person["requests"] += row["n"]
        person["reasons"][row["reason"]] += row["n"]
        person["refunded"] = person.get("refunded", 0) + row["refunded"]
        person["credited"] = person.get("credited", 0) + row["credited"]
    if not by_user:
        return {}
    for user_id, pk, opened_at in (
        requests.filter(user_id__in=list(by_user), source=Request.Source.MEMBER)
        .order_by("-opened_at", "-pk")
        .values_list("user_id", "pk", "opened_at")
    ):
        person = by_user[user_id]
        person.setdefault("last", opened_at)
        if len(person["ids"]) < RECENT_REQUESTS:
            person["ids"].append(pk)
    paid = dict(
        Order.objects.filter(campaign__brand_id=brand_id, user_id__in=list(by_user), payment_status__in=PAID)
        .values("user_id")
        .annotate(paid=Sum("total_fen"))
        .order_by()
        .values_list("user_id", "paid")
    )
    return {
        user_id: PersonHistory(
            brand_id=brand_id,
            user_id=user_id,
            requests=person["requests"],
            shortage_requests=person["shortage"],
            refunded_fen=person.get("refunded", 0),
            credited_fen=person.get("credited", 0),
            paid_fen=paid.get(user_id) or 0,
            reasons=dict(person["reasons"]),
            request_ids=tuple(person["ids"]),
            last_opened_at=person.get("last"),
        )
        for user_id, person in by_user.items()
    }


def person_history(*, brand_id: int, user_id: int) -> PersonHistory:
    """One person's after-sales record in a brand (all zero when they never asked for anything)."""
    return _histories(brand_id=brand_id, user_ids=[user_id]).get(
        user_id, PersonHistory(brand_id=brand_id, user_id=user_id)
    )


@dataclass(frozen=True)
class Suggestion:
    user: User
    history: PersonHistory
    is_flagged: bool = False


def flag_suggestions(*, brand_id: int, limit: int = SUGGESTIONS_LIMIT) -> list[Suggestion]:
    """Whom to review for refund abuse in a brand: members whose record reaches a threshold, most reasons
    first, then the highest refund rate and amount. People already flagged there come after the others,
    marked (their record still shows why); staff accounts are left out."""
    flagged = set(Flag.objects.filter(brand_id=brand_id, lifted_at__isnull=True).values_list("user_id", flat=True))
    ranked = sorted(
        (h for h in _histories(brand_id=brand_id).values() if h.signals),
        key=lambda h: (h.user_id in flagged, h.rank),
    )
    users = User.objects.in_bulk([h.user_id for h in ranked])
    return [
        Suggestion(user=users[h.user_id], history=h, is_flagged=h.user_id in flagged)
        for h in ranked
        if h.user_id in users and users[h.user_id].role == User.Role.MEMBER
    ][:limit]
