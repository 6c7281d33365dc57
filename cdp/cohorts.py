"""Historic LTV and cohort curves for one brand (LTV 曲线), and the AOV of live-driven orders.

Spend is the net spend of :mod:`cdp.rfm` (orders not cancelled, less their refunds), placed in the month of
the order. A customer's cohort is the month of their first such order; month 0 is that month. A curve point
is the average cumulative net spend per customer of the group after k months, counting only customers whose
k-th month has begun by ``now``.

* **by cohort** — one curve per first-order month (the last ``MONTHS`` cohorts);
* **by acquisition** — customers whose first membership of the brand came through a referral by someone who
  had watched a live before that (引流: "referred by a viewer"), against everyone else;
* **before/after the first live** — each viewer's average monthly net spend in the months before the month of
  their first watched live and in the months from it on (months from their first order to ``now``);
* **AOV live vs other** — the average order of jielongs a live launched against the other orders.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Min, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community.models import Membership
from groupbuy import clock
from jielong.models import LedgerEntry
from livestream.models import WatchRecord

from .rfm import counted_orders

MONTHS = 12
ACQUISITION = {"viewer_referral": _("Referred by a viewer"), "other": _("Other customers")}


def _month(at: datetime) -> tuple[int, int]:
    local = timezone.localtime(at)
    return local.year, local.month


def _offset(a: tuple[int, int], b: tuple[int, int]) -> int:
    return (b[0] - a[0]) * 12 + (b[1] - a[1])


@dataclass(frozen=True)
class Curve:
    key: str
    label: str
    customers: int
    points: list[int | None]  # fen per customer, cumulative, month 0..MONTHS-1 (None: not reached yet)


@dataclass(frozen=True)
class Models:
    by_cohort: list[Curve]
    by_acquisition: list[Curve]
    before_live_fen: int | None
    after_live_fen: int | None
    viewers: int
    aov_live_fen: int | None
    aov_other_fen: int | None

    @property
    def aov_lift(self) -> float | None:
        if self.aov_live_fen is None or not self.aov_other_fen:
            return None
        return self.aov_live_fen / self.aov_other_fen - 1

    @property
    def live_lift(self) -> float | None:
        if self.after_live_fen is None or not self.before_live_fen:
            return None
        return self.after_live_fen / self.before_live_fen - 1


def _curve(key, label, users, first, monthly, now_month) -> Curve:
    points: list[int | None] = []
    for k in range(MONTHS):
        reached = [u for u in users if _offset(first[u], now_month) >= k]
        if not reached:
            points.append(None)
            continue
        total = sum(sum(v for off, v in monthly[u].items() if off <= k) for u in reached)
        points.append(round(total / len(reached)))
    return Curve(key, str(label), len(users), points)


def brand_models(*, brand_id: int, now: datetime | None = None) -> Models:
    now = now or clock.now()
    now_month = _month(now)
    orders = counted_orders(brand_id=brand_id).filter(created_at__lt=now)
    monthly: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    rows = list(orders.values_list("pk", "user_id", "created_at", "total_fen", "campaign__live_session_id"))
    first: dict[int, tuple[int, int]] = {}
    for _pk, user_id, at, _fen, _live in sorted(rows, key=lambda r: r[2]):
        first.setdefault(user_id, _month(at))
    order_user = {}
    for pk, user_id, at, fen, _live in rows:
        monthly[user_id][_offset(first[user_id], _month(at))] += fen
        order_user[pk] = (user_id, at)
    for order_id, fen in (
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, order_id__in=orders.values("pk"), created_at__lt=now)
        .values("order_id")
        .annotate(s=Sum("amount_fen"))
        .values_list("order_id", "s")
    ):
        user_id, at = order_user[order_id]
        monthly[user_id][_offset(first[user_id], _month(at))] -= fen

    cohorts: dict[tuple[int, int], list[int]] = defaultdict(list)
    for user_id, month in first.items():
        cohorts[month].append(user_id)
    by_cohort = [
        _curve(f"{y}-{m:02d}", f"{y}-{m:02d}", users, first, monthly, now_month)
        for (y, m), users in sorted(cohorts.items())[-MONTHS:]
    ]

    # Acquisition: the first membership of the brand, and whether its inviter had watched a live before it.
    first_watch = dict(
        WatchRecord.objects.filter(session__series__brand_id=brand_id)
        .values("user_id")
        .annotate(t=Min("first_seen_at"))
        .values_list("user_id", "t")
    )
    group: dict[str, list[int]] = {"viewer_referral": [], "other": []}
    seen: set[int] = set()
    for user_id, inviter_id, joined_at in (
        Membership.objects.filter(community__brand_id=brand_id, user_id__in=list(first))
        .order_by("user_id", "joined_at", "pk")
        .values_list("user_id", "invited_by_id", "joined_at")
    ):
        if user_id in seen:
            continue
        seen.add(user_id)
        watched = first_watch.get(inviter_id) if inviter_id else None
        group["viewer_referral" if watched is not None and watched < joined_at else "other"].append(user_id)
    group["other"].extend(u for u in first if u not in seen)
    by_acquisition = [_curve(key, ACQUISITION[key], users, first, monthly, now_month) for key, users in group.items()]

    # Before / after the first live: per viewer-month averages.
    before = [0, 0]
    after = [0, 0]
    viewers = 0
    for user_id, month0 in first.items():
        if user_id not in first_watch:
            continue
        viewers += 1
        live_off = _offset(month0, _month(first_watch[user_id]))
        span = _offset(month0, now_month) + 1
        for off in range(span):
            bucket = before if off < live_off else after
            bucket[0] += monthly[user_id].get(off, 0)
            bucket[1] += 1
    live = [(fen, live_id) for _pk, _u, _at, fen, live_id in rows]
    live_orders = [fen for fen, live_id in live if live_id is not None]
    other_orders = [fen for fen, live_id in live if live_id is None]
    return Models(
        by_cohort=by_cohort,
        by_acquisition=by_acquisition,
        before_live_fen=round(before[0] / before[1]) if before[1] else None,
        after_live_fen=round(after[0] / after[1]) if after[1] else None,
        viewers=viewers,
        aov_live_fen=round(sum(live_orders) / len(live_orders)) if live_orders else None,
        aov_other_fen=round(sum(other_orders) / len(other_orders)) if other_orders else None,
    )
