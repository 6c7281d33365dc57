"""The board's charts: the funnel (社群 → 观看 → 接龙 → 取货), per-session and monthly trends, and the cohort
heatmap by month of first order. Each point is a figure of :mod:`bi.metrics` (or counted by the same rules), and
each has its list of people."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fulfillment.models import Parcel
from jielong.models import Order
from livestream.models import LiveSession, Reservation

from .metrics import (
    METRICS,
    PersonRow,
    for_session,
    lifetime_value_at,
    live_joiners,
    person_rows,
    refunds_fen,
    targeted_members,
    watched_targeting_session,
)
from .scope import Scope

# --- ----------------------------------------------------------------------


FUNNEL_STEPS = ("members", "reserved", "watched", "joined", "picked_up")
_FUNNEL_LABELS = {
    "members": _("Community members"),
    "reserved": _("Reserved"),
    "watched": _("Watched"),
    "joined": _("Joined the jielong"),
    "picked_up": _("Picked up"),
}


@dataclass(frozen=True)
class FunnelStep:
    key: str
    label: str
    count: int


def funnel_label(step: str) -> str:
    return str(_FUNNEL_LABELS[step])


def _funnel_sets(scope: Scope) -> dict:
    """People at each step: members the sessions were aimed at; of them, who reserved; who watched; who joined
    the jielong of a session they watched (order not cancelled); who picked that order up."""
    members = targeted_members(scope)
    watched = members.filter(watched_targeting_session(scope))
    joined = live_joiners(scope).filter(pk__in=watched.values("pk"))
    return {
        "members": members,
        "reserved": members.filter(
            Exists(Reservation.objects.filter(user_id=OuterRef("pk"), session_id__in=scope.session_ids))
        ),
        "watched": watched,
        "joined": joined,
        "picked_up": joined.filter(
            Exists(
                Parcel.objects.filter(
                    order__user_id=OuterRef("pk"),
                    order__campaign__live_session_id__in=scope.session_ids,
                    state=Parcel.State.PICKED_UP,
                )
            )
        ),
    }


def funnel(scope: Scope) -> list[FunnelStep]:
    sets = _funnel_sets(scope)
    return [FunnelStep(step, funnel_label(step), sets[step].count()) for step in FUNNEL_STEPS]


def funnel_people(scope: Scope, step: str) -> list[PersonRow]:
    return person_rows(_funnel_sets(scope)[step].values_list("pk", flat=True))


SESSION_TREND_KEYS = ("community_to_viewer", "viewer_to_joiner", "average_watch", "peak_online", "gmv_gross")


def session_trend(scope: Scope, *, limit: int = 12) -> list[dict]:
    """Per session of the scope (the latest ``limit``, oldest first): the live metrics."""
    sessions = list(LiveSession.objects.filter(pk__in=scope.session_ids).order_by("-started_at", "-pk")[:limit])[::-1]
    rows = []
    for session in sessions:
        one = for_session(scope, session.pk)
        rows.append(
            {
                "session_id": session.pk,
                "title": session.title,
                "date": timezone.localtime(session.started_at).strftime("%m-%d") if session.started_at else "",
                **{key: METRICS[key].compute(one).value for key in SESSION_TREND_KEYS},
            }
        )
    return rows


def _month_starts(scope: Scope, months: int) -> list[datetime]:
    tz = timezone.get_current_timezone()
    year, month = scope.until.year, scope.until.month
    starts = []
    for _i in range(months):
        starts.append(datetime(year, month, 1, tzinfo=tz))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def monthly_trend(scope: Scope, *, months: int = 12) -> list[dict]:
    """GMV (gross and net) and LTV at each month's end, for the 12 months ending with the period's month."""
    rows = []
    for start in _month_starts(scope, months):
        end = min(_next_month(start), scope.end)
        month_orders = Order.objects.exclude(status=Order.Status.CANCELLED).filter(
            created_at__gte=start, created_at__lt=end
        )
        if scope.community_ids is not None:
            month_orders = month_orders.filter(community_id__in=scope.community_ids)
        gross = month_orders.aggregate(s=Sum("total_fen"))["s"] or 0
        rows.append(
            {
                "month": start.strftime("%Y-%m"),
                "gmv_gross": gross,
                "gmv_net": gross - refunds_fen(month_orders),
                "lifetime_value": lifetime_value_at(scope, end).value,
            }
        )
    return rows


def _order_months(scope: Scope) -> dict[int, set[tuple[int, int]]]:
    """For each customer of the scope's communities, the (year, month)s they ordered in up to the period's end —
    grouped in SQL (one row per customer and month, however many orders)."""
    rows = Order.objects.exclude(status=Order.Status.CANCELLED).filter(created_at__lt=scope.end)
    if scope.community_ids is not None:
        rows = rows.filter(community_id__in=scope.community_ids)
    months = rows.annotate(month=TruncMonth("created_at", tzinfo=timezone.get_current_timezone()))
    by_user: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for user_id, month in months.values_list("user_id", "month").distinct().order_by().iterator():
        by_user[user_id].add((month.year, month.month))
    return by_user


def cohorts(scope: Scope, *, months: int = 12) -> dict:
    """Retention by month of first order (首单月份): for each cohort, the share that ordered again in each month
    after (0 = the first month, always 100%)."""
    starts = _month_starts(scope, months)
    labels = [s.strftime("%Y-%m") for s in starts]
    index = {(s.year, s.month): i for i, s in enumerate(starts)}
    sizes = [0] * months
    counts = [[0] * months for _ in range(months)]
    for month_set in _order_months(scope).values():
        first = min(month_set)
        if first not in index:
            continue
        row = index[first]
        sizes[row] += 1
        for ym in month_set:
            if ym in index and index[ym] >= row:
                counts[row][index[ym] - row] += 1
    # The heatmap starts at the first month anyone first ordered (a young brand has no empty rows on top).
    first = next((row for row in range(months) if sizes[row]), months - 1)
    cells = [
        [offset, row - first, round(100 * counts[row][offset] / sizes[row]), counts[row][offset]]
        for row in range(first, months)
        for offset in range(months - row)
        if sizes[row]
    ]
    return {"cohorts": labels[first:], "sizes": sizes[first:], "cells": cells}


def cohort_people(scope: Scope, cohort: str, offset: int) -> list[PersonRow]:
    """The customers of a cohort (first order in month ``cohort``, YYYY-MM) who ordered ``offset`` months later."""
    year, month = (int(part) for part in cohort.split("-"))
    target_index = year * 12 + month - 1 + offset
    target = (target_index // 12, target_index % 12 + 1)
    return person_rows(
        {pk: cohort for pk, months in _order_months(scope).items() if min(months) == (year, month) and target in months}
    )


def board_charts(scope: Scope) -> dict:
    """Everything the board's ECharts draw, as plain JSON (the page passes it through ``json_script``)."""
    return {
        "funnel": [{"key": step.key, "name": step.label, "value": step.count} for step in funnel(scope)],
        "sessions": session_trend(scope),
        "months": monthly_trend(scope),
        "cohorts": cohorts(scope),
        "labels": {key: str(metric.label) for key, metric in METRICS.items()},
    }
