"""What every metric shares: the figure and person-row types, the sets they count (members a session was aimed
at, viewers, live joiners, the orders that count) and the drill-down rows (phones masked)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import time

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from community.models import Membership, User
from jielong.models import LedgerEntry, Order
from livestream.models import WatchRecord

from ..scope import Scope

# 次日中午前送达: a parcel is on time when it reached its pickup point by noon of its delivery date.
ON_TIME_BY = time(12, 0)
ACTIVE_DAYS = 30  # 月活: any activity in the 30 days ending on the period's last day

PCT, LIFT, FEN, MINUTES, COUNT, SCORE = "pct", "lift", "fen", "minutes", "count", "score"


@dataclass(frozen=True)
class Figure:
    """A metric's value for a scope. Ratios keep their parts, so a board shows "210 / 270" under "78%"."""

    value: float | int | None
    numerator: int | None = None
    denominator: int | None = None


@dataclass(frozen=True)
class PersonRow:
    user_id: int
    name: str
    masked_phone: str
    detail: str  # what this person contributed: minutes watched, amount bought, score given…


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    formula: str
    counts: str  # the counting rules, in words, for the glossary
    unit: str
    compute: Callable[[Scope], Figure]
    # ``part`` is "numerator" (who counts) or "denominator" (whom it is measured against); plain figures
    # (GMV, minutes) have one list, their "numerator".
    people: Callable[[Scope, str], list[PersonRow]]
    has_denominator: bool = False


# --- shared sets ----------------------------------------------------------------------------------------


def active_memberships(scope: Scope) -> QuerySet[Membership]:
    rows = Membership.objects.filter(status=Membership.Status.ACTIVE)
    if scope.community_ids is not None:
        rows = rows.filter(community_id__in=scope.community_ids)
    return rows


def in_scope_communities(scope: Scope) -> Q:
    """Users with an active membership in the scope's communities (every user when the scope is all)."""
    if scope.community_ids is None:
        return Q()
    return Q(
        Exists(
            Membership.objects.filter(
                user_id=OuterRef("pk"), status=Membership.Status.ACTIVE, community_id__in=scope.community_ids
            )
        )
    )


def targeted_members(scope: Scope) -> QuerySet[User]:
    """Members of the communities the scope's sessions were aimed at (within the scope's communities), who had
    joined before that session ended."""
    memberships = active_memberships(scope).filter(
        community__live_sessions__pk__in=scope.session_ids,
        joined_at__lt=F("community__live_sessions__ended_at"),
    )
    return User.objects.filter(pk__in=memberships.values("user_id"))


def watched_targeting_session(scope: Scope) -> Q:
    """Watched a session of the scope that was aimed at one of their (in-scope) communities."""
    # One join (membership ⋈ the session's target communities ⋈ the member's watch record of that session)
    # rather than a subquery per watch record per person: the planner hashes it (a year's board, 1.5 M
    # events: the nested form ran 40 s).
    watched = active_memberships(scope).filter(
        community__live_sessions__pk__in=scope.session_ids,
        community__live_sessions__watch_records__user_id=F("user_id"),
    )
    return Q(pk__in=watched.values("user_id"))


def viewers(scope: Scope) -> QuerySet[User]:
    """People who watched at least one of the scope's sessions (members of the scope's communities)."""
    watched = WatchRecord.objects.filter(session_id__in=scope.session_ids, user_id=OuterRef("pk"))
    return User.objects.filter(Exists(watched)).filter(in_scope_communities(scope))


def live_joiners(scope: Scope) -> QuerySet[User]:
    """Viewers who joined the jielong of a session they watched, with an order that was not cancelled."""
    orders = Order.objects.filter(
        user_id=OuterRef("pk"),
        campaign__live_session_id__in=scope.session_ids,
        campaign__live_session__watch_records__user_id=OuterRef("pk"),
    ).exclude(status=Order.Status.CANCELLED)
    return viewers(scope).filter(Exists(orders))


def orders(scope: Scope) -> QuerySet[Order]:
    """Orders that count as sales: not cancelled; of the picked session's (or series') campaigns, else placed in
    the period; in the scope's communities."""
    rows = Order.objects.exclude(status=Order.Status.CANCELLED)
    if scope.session_picked:
        rows = rows.filter(campaign__live_session_id__in=scope.session_ids)
    else:
        rows = rows.filter(created_at__gte=scope.start, created_at__lt=scope.end)
    if scope.community_ids is not None:
        rows = rows.filter(community_id__in=scope.community_ids)
    return rows


def refunds_fen(order_rows: QuerySet[Order]) -> int:
    return (
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, order_id__in=order_rows.values("pk")).aggregate(
            s=Sum("amount_fen")
        )["s"]
        or 0
    )


def ratio(numerator: int, denominator: int) -> Figure:
    return Figure(numerator / denominator if denominator else None, numerator, denominator)


# --- people -------------------------------------------------------------------------------------------


def person_rows(details: dict[int, str] | Iterable[int]) -> list[PersonRow]:
    """Rows for the drill-down list: name, masked phone (community.phones.mask_phone, via the user), detail."""
    details = details if isinstance(details, dict) else dict.fromkeys(details, "")
    users = User.objects.filter(pk__in=list(details)).only("pk", "nickname", "username", "phone")
    rows = [PersonRow(u.pk, u.display_name, u.masked_phone, details[u.pk]) for u in users]
    rows.sort(key=lambda r: (r.name, r.user_id))
    return rows


def minutes_text(seconds: float | int | None) -> str:
    return str(_("%(minutes)s min") % {"minutes": round((seconds or 0) / 60)})


def yuan_text(fen: int | None) -> str:
    from groupbuy.money import format_fen

    return format_fen(fen or 0)
