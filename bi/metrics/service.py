"""After the live: NPS (feedback.nps does the arithmetic), delivered on time, pickup rate."""

from __future__ import annotations

from datetime import date, datetime

from django.db import connection
from django.db.models import Max, QuerySet
from django.utils import timezone

from feedback import nps
from feedback.models import NpsSurvey
from fulfillment.models import Parcel

from .. import facts, rollups
from ..scope import Scope
from .base import ON_TIME_BY, Figure, PersonRow, orders, person_rows, ratio

# --- NPS -----------------------------------------------------------------------------------------------


def _answers(scope: Scope) -> QuerySet[NpsSurvey]:
    surveys = NpsSurvey.objects.filter(answered_at__isnull=False)
    if scope.session_picked:
        surveys = surveys.filter(campaign__live_session_id__in=scope.session_ids)
    else:
        surveys = surveys.filter(answered_at__gte=scope.start, answered_at__lt=scope.end)
    if scope.community_ids is not None:
        surveys = surveys.filter(community_id__in=scope.community_ids)
    return surveys


def nps_figure(a: rollups.Answers) -> Figure:
    passives = a.answers - a.promoters - a.detractors
    value = nps.nps_value(promoters=a.promoters, passives=passives, detractors=a.detractors)
    return Figure(value, a.promoters - a.detractors, a.answers)


def net_promoter(scope: Scope) -> Figure:
    """From the answers (or the stream's rollups when ``settings.BI_ROLLUPS`` is on); feedback.nps owns the
    arithmetic (one definition of NPS)."""
    if rollups.enabled():
        return nps_figure(rollups.answers(scope))
    row = nps.nps_total(_answers(scope))
    return nps_figure(rollups.Answers(row.answers, row.promoters, row.detractors))


def net_promoter_people(scope: Scope, part: str) -> list[PersonRow]:
    scores = dict(_answers(scope).values("user_id").annotate(s=Max("score")).values_list("user_id", "s"))
    return person_rows({pk: str(score) for pk, score in scores.items()})


# --- 准时送达率, 取货率 ---------------------------------------------------------------------------------------


_NOT_DELIVERED = (Parcel.State.CANCELLED, Parcel.State.SHORTAGE)
_AT_POINT = (Parcel.State.AT_PICKUP, Parcel.State.PICKED_UP, Parcel.State.UNCOLLECTED)


def _parcels(scope: Scope) -> QuerySet[Parcel]:
    return Parcel.objects.filter(order_id__in=orders(scope).values("pk")).exclude(state__in=_NOT_DELIVERED)


def _deadline(delivery_date) -> datetime:
    return datetime.combine(delivery_date, ON_TIME_BY, tzinfo=timezone.get_current_timezone())


def _on_time_split(scope: Scope) -> tuple[dict[int, str], set[int]]:
    """Parcels due by now (user id → delivery date), and the users whose parcel was on time.

    A parcel is due once it has arrived (at the point, or picked up when nobody pressed arrived) or its noon has
    passed; on time when it arrived by its noon. Per person: due when any of their parcels is, on time when any
    of them was; the date shown is the latest due parcel's. On PostgreSQL one grouped query
    (:func:`_on_time_rows`); elsewhere the same rule over the rows in Python."""
    from groupbuy import clock

    now = clock.now()
    if facts.sql():
        rows = _on_time_rows(scope, now)
        return {pk: day.isoformat() for pk, day, _on in rows}, {pk for pk, _day, on in rows if on}
    latest: dict[int, date] = {}
    on_time: set[int] = set()
    rows = _parcels(scope).values_list("order__user_id", "delivery_date", "at_pickup_at", "picked_up_at")
    for user_id, delivery_date, at_pickup, picked_up in rows:
        deadline = _deadline(delivery_date)
        arrived = at_pickup or picked_up
        if arrived is None and deadline > now:
            continue  # not due yet
        latest[user_id] = max(delivery_date, latest.get(user_id, delivery_date))
        if arrived is not None and arrived <= deadline:
            on_time.add(user_id)
    return {pk: day.isoformat() for pk, day in latest.items()}, on_time


# The parcels of the board's orders (``_parcels``), grouped by person in the database. ``{orders}`` is the
# board's orders' SQL (``bi.metrics.base.orders``), so the rule of which orders count stays in one place.
_ON_TIME_SQL = """
WITH p AS (
  SELECT o.user_id, p.delivery_date, COALESCE(p.at_pickup_at, p.picked_up_at) AS arrived,
         (p.delivery_date + %s::time) AT TIME ZONE %s AS deadline
  FROM ({orders}) AS o JOIN fulfillment_parcel p ON p.order_id = o.id
  WHERE p.state <> ALL(%s))
SELECT user_id, max(delivery_date), bool_or(COALESCE(arrived <= deadline, false))
FROM p WHERE arrived IS NOT NULL OR deadline <= %s
GROUP BY user_id
"""
_ON_TIME_COUNT_SQL = "SELECT count(*), count(*) FILTER (WHERE on_time) FROM ({rows}) AS u (user_id, day, on_time)"


def _on_time_sql(scope: Scope, now: datetime, *, count: bool) -> tuple[str, list]:
    orders_sql, orders_params = orders(scope).order_by().values("id", "user_id").query.sql_with_params()
    sql = _ON_TIME_SQL.format(orders=orders_sql)
    params = [ON_TIME_BY, timezone.get_current_timezone_name(), *orders_params, list(_NOT_DELIVERED), now]
    return (_ON_TIME_COUNT_SQL.format(rows=sql), params) if count else (sql, params)


def _on_time_rows(scope: Scope, now: datetime) -> list[tuple[int, date, bool]]:
    """(user id, latest due delivery date, on time) for every person with a parcel due (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(*_on_time_sql(scope, now, count=False))
        return cursor.fetchall()


def delivery_on_time(scope: Scope) -> Figure:
    from groupbuy import clock

    if not scope.session_picked and facts.usable(scope.start, scope.end):
        # The period's orders by day (``bi.facts``: per person, the days with a parcel arrived / on time).
        due, on_time = facts.on_time_counts(scope.community_ids, since=scope.start, until=scope.end, now=clock.now())
        return ratio(on_time, due)
    if facts.sql():
        with connection.cursor() as cursor:
            cursor.execute(*_on_time_sql(scope, clock.now(), count=True))
            due, on_time = cursor.fetchone()
        return ratio(on_time, due)
    due, on_time = _on_time_split(scope)
    return ratio(len(on_time), len(due))


def delivery_on_time_people(scope: Scope, part: str) -> list[PersonRow]:
    due, on_time = _on_time_split(scope)
    if part == "numerator":
        return person_rows({pk: due[pk] for pk in on_time})
    return person_rows(due)


def pickup_rate(scope: Scope) -> Figure:
    if not scope.session_picked and facts.usable(scope.start, scope.end):
        # The parcels of the period's orders, by the day of their order (``bi.facts``, kept by triggers).
        totals = facts.sums(scope.community_ids, since=scope.start, until=scope.end)
        return ratio(totals["picked_up"], totals["at_point"])
    at_point = _parcels(scope).filter(state__in=_AT_POINT)
    return ratio(at_point.filter(state=Parcel.State.PICKED_UP).count(), at_point.count())


def pickup_rate_people(scope: Scope, part: str) -> list[PersonRow]:
    at_point = _parcels(scope).filter(state__in=_AT_POINT)
    if part == "numerator":
        at_point = at_point.filter(state=Parcel.State.PICKED_UP)
    labels = dict(Parcel.State.choices)
    return person_rows(
        {user_id: str(labels[state]) for user_id, state in at_point.values_list("order__user_id", "state")}
    )
