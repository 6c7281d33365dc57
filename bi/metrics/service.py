"""After the live: NPS (feedback.nps does the arithmetic), delivered on time, pickup rate."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max, QuerySet
from django.utils import timezone

from feedback import nps
from feedback.models import NpsSurvey
from fulfillment.models import Parcel
from jielong.models import Campaign, Order

from .. import rollups
from ..models import ParcelDay, ParcelDayAll
from ..scope import Scope
from .base import ON_TIME_BY, Figure, PersonRow, orders, person_rows, ratio, read_cursor, set_based, use_trigger_facts

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


def _parcels_to_deliver(scope: Scope) -> QuerySet[Parcel]:
    """The parcels of the scope's orders to be delivered, by their own state: a parcel cancelled or out of stock is
    not (an order cancelled after the split has its parcel cancelled by the next split, within the sweep's minute).
    What ``bi.models.ParcelDay`` counts."""
    return Parcel.objects.filter(order_id__in=orders(scope, cancelled=True).values("pk")).exclude(
        state__in=_NOT_DELIVERED
    )


def _deadline(delivery_date) -> datetime:
    return datetime.combine(delivery_date, ON_TIME_BY, tzinfo=timezone.get_current_timezone())


def _on_time_split(scope: Scope) -> tuple[dict[int, tuple[int, str]], set[int]]:
    """Parcels due by now (order id → (user id, delivery date)), and the ones on time (order ids). A parcel is one
    order's (the glossary counts parcels: a customer with two parcels due counts twice)."""
    from groupbuy import clock

    now = clock.now()
    due: dict[int, tuple[int, str]] = {}
    on_time: set[int] = set()
    rows = _parcels_to_deliver(scope).values_list(
        "order_id", "order__user_id", "delivery_date", "at_pickup_at", "picked_up_at"
    )
    for order_id, user_id, delivery_date, at_pickup, picked_up in rows:
        deadline = _deadline(delivery_date)
        arrived = at_pickup or picked_up
        if arrived is None and deadline > now:
            continue  # not due yet
        due[order_id] = (user_id, delivery_date.isoformat())
        if arrived is not None and arrived <= deadline:
            on_time.add(order_id)
    return due, on_time


def orders_where(scope: Scope, alias: str) -> tuple[str, tuple]:
    """SQL: ``base.orders(scope)``'s conditions on the order table aliased ``alias``, and their parameters."""
    conditions, params = [f"{alias}.status <> %s"], [Order.Status.CANCELLED.value]
    if scope.session_picked:
        conditions.append(
            f"{alias}.campaign_id IN (SELECT id FROM {Campaign._meta.db_table} WHERE live_session_id = ANY(%s))"
        )
        params.append(list(scope.session_ids))
    else:
        conditions.append(f"{alias}.created_at >= %s AND {alias}.created_at < %s")
        params += [scope.start, scope.end]
    if scope.community_ids is not None:
        conditions.append(f"{alias}.community_id = ANY(%s)")
        params.append(list(scope.community_ids))
    return " AND ".join(conditions), tuple(params)


def _on_time_counts(scope: Scope) -> tuple[int, int]:
    """``_on_time_split``'s (len(on_time), len(due)) from the parcel facts (``bi.models.ParcelDay``, kept by triggers
    on the parcels; a board of every community reads ``ParcelDayAll``): a row's parcels are all due once its
    delivery day's noon has passed, before that only the ones that arrived."""
    from groupbuy import clock

    table = (ParcelDay if scope.community_ids is not None else ParcelDayAll)._meta.db_table
    if scope.session_picked:
        conditions = [f"campaign_id IN (SELECT id FROM {Campaign._meta.db_table} WHERE live_session_id = ANY(%s))"]
        params: list = [list(scope.session_ids)]
    else:
        conditions, params = ["day BETWEEN %s AND %s"], [scope.since, scope.until]
    if scope.community_ids is not None:
        conditions.append("community_id = ANY(%s)")
        params.append(list(scope.community_ids))
    query = f"""
        SELECT coalesce(sum(on_time), 0),
               coalesce(sum(CASE WHEN (delivery_date + %s::time) AT TIME ZONE %s <= %s THEN parcels ELSE arrived END), 0)
        FROM {table} WHERE {" AND ".join(conditions)}"""
    tz = timezone.get_current_timezone_name()
    with read_cursor() as cursor:
        cursor.execute(query, (ON_TIME_BY, tz, clock.now(), *params))
        on_time, due = cursor.fetchone()
    return int(on_time), int(due)


def delivery_on_time(scope: Scope) -> Figure:
    if use_trigger_facts():
        return ratio(*_on_time_counts(scope))
    due, on_time = _on_time_split(scope)
    return ratio(len(on_time), len(due))


def delivery_on_time_people(scope: Scope, part: str) -> list[PersonRow]:
    """The people behind the parcels: each with the delivery dates of their parcels that count (on time, or due)."""
    due, on_time = _on_time_split(scope)
    dates: dict[int, list[str]] = {}
    for order_id, (user_id, delivery_date) in sorted(due.items(), key=lambda item: item[1][1]):
        if part != "numerator" or order_id in on_time:
            dates.setdefault(user_id, []).append(delivery_date)
    return person_rows({pk: ", ".join(days) for pk, days in dates.items()})


def pickup_rate(scope: Scope) -> Figure:
    """Picked up ÷ reached the point, over the parcels of the scope's orders that count: from the stream's rollups
    (the fulfilment events fold each order's parcel) when ``settings.BI_ROLLUPS`` is on."""
    if rollups.enabled():
        found = rollups.parcels(scope)
        return ratio(found.picked_up, found.at_point)
    at_point = _parcels(scope).filter(state__in=_AT_POINT)
    if set_based():  # both counts in one aggregate over parcels ⋈ orders
        where, params = orders_where(scope, "o")
        query = f"""
            SELECT count(*) FILTER (WHERE p.state = %s), count(*)
            FROM {Parcel._meta.db_table} AS p JOIN {Order._meta.db_table} AS o ON o.id = p.order_id
            WHERE p.state = ANY(%s) AND {where}"""
        with read_cursor() as cursor:
            cursor.execute(query, (Parcel.State.PICKED_UP.value, [s.value for s in _AT_POINT], *params))
            picked_up, at_point_count = cursor.fetchone()
        return ratio(picked_up, at_point_count)
    return ratio(at_point.filter(state=Parcel.State.PICKED_UP).count(), at_point.count())


def pickup_rate_people(scope: Scope, part: str) -> list[PersonRow]:
    """The people behind the parcels: each with their parcels that count, by delivery date and where each is."""
    at_point = _parcels(scope).filter(state__in=_AT_POINT)
    if part == "numerator":
        at_point = at_point.filter(state=Parcel.State.PICKED_UP)
    labels = dict(Parcel.State.choices)
    parcels: dict[int, list[str]] = {}
    rows = at_point.order_by("delivery_date", "order_id").values_list("order__user_id", "delivery_date", "state")
    for user_id, delivery_date, state in rows:
        parcels.setdefault(user_id, []).append(f"{delivery_date.isoformat()} {labels[state]}")
    return person_rows({user_id: ", ".join(found) for user_id, found in parcels.items()})
