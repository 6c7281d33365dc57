"""The live metrics: 社群→直播观看转化率, 直播观看→接龙转化率, 平均观看时长, 峰值在线, 福利售罄用时."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Avg, F, Max, QuerySet, Sum, Window
from django.db.models.functions import RowNumber

from community.models import User
from jielong.models import Campaign, Order
from livestream.models import LiveSession, ViewerSample, WatchRecord

from .. import rollups
from ..scope import Scope
from .base import (
    Figure,
    PersonRow,
    in_scope_communities,
    live_joiner_count,
    live_joiners,
    minutes_text,
    person_rows,
    ratio,
    read_cursor,
    targeted_counts,
    targeted_members,
    use_trigger_facts,
    viewer_count,
    viewers,
    watch_average_seconds,
    watched_targeting_session,
    yuan_text,
)

# --- 社群→直播观看转化率 ----------------------------------------------------------------------------------


def community_to_viewer(scope: Scope) -> Figure:
    if use_trigger_facts():
        return ratio(*targeted_counts(scope))
    members = targeted_members(scope)
    return ratio(members.filter(watched_targeting_session(scope)).count(), members.count())


def community_to_viewer_people(scope: Scope, part: str) -> list[PersonRow]:
    members = targeted_members(scope)
    if part == "numerator":
        members = members.filter(watched_targeting_session(scope))
    seconds = dict(
        WatchRecord.objects.filter(session_id__in=scope.session_ids, user_id__in=members.values("pk"))
        .values("user_id")
        .annotate(s=Sum("seconds_watched"))
        .values_list("user_id", "s")
    )
    ids = members.values_list("pk", flat=True)
    return person_rows({pk: minutes_text(seconds[pk]) if pk in seconds else "—" for pk in ids})


# --- 直播观看→接龙转化率 ----------------------------------------------------------------------------------


def viewer_to_joiner(scope: Scope) -> Figure:
    # Viewers of one session in some communities: its watch records (thousands) are fewer than the members' rows the
    # facts are read by (at 10 M events, 200,000 members: 41 ms against 223 ms); otherwise the facts (which count
    # every community's few sessions from the watch records' index). Joiners: the stream's live-joiner facts when
    # the rollups are read, else the orders joined to the viewers' facts.
    facts = use_trigger_facts()
    many = len(scope.session_ids) > 1
    joiners = live_joiner_count(scope) if facts and (many or rollups.enabled()) else live_joiners(scope).count()
    counted = facts and (many or scope.community_ids is None)
    return ratio(joiners, viewer_count(scope) if counted else viewers(scope).count())


def viewer_to_joiner_people(scope: Scope, part: str) -> list[PersonRow]:
    people = live_joiners(scope) if part == "numerator" else viewers(scope)
    spent = dict(
        Order.objects.filter(campaign__live_session_id__in=scope.session_ids, user_id__in=people.values("pk"))
        .exclude(status=Order.Status.CANCELLED)
        .values("user_id")
        .annotate(s=Sum("total_fen"))
        .values_list("user_id", "s")
    )
    return person_rows({pk: yuan_text(spent[pk]) if pk in spent else "—" for pk in people.values_list("pk", flat=True)})


# --- 平均观看时长, 峰值在线 -----------------------------------------------------------------------------------


def _watch_records(scope: Scope) -> QuerySet[WatchRecord]:
    records = WatchRecord.objects.filter(session_id__in=scope.session_ids)
    if scope.community_ids is not None:
        records = records.filter(user__in=User.objects.filter(in_scope_communities(scope)))
    return records


def average_watch(scope: Scope) -> Figure:
    if use_trigger_facts():
        seconds = watch_average_seconds(scope)
    else:
        seconds = _watch_records(scope).aggregate(a=Avg("seconds_watched"))["a"]
    return Figure(round(seconds / 60, 1) if seconds is not None else None)


def average_watch_people(scope: Scope, part: str) -> list[PersonRow]:
    per_user = _watch_records(scope).values("user_id").annotate(s=Sum("seconds_watched")).values_list("user_id", "s")
    return person_rows({pk: minutes_text(s) for pk, s in per_user})


def peak_online(scope: Scope) -> Figure:
    peak = LiveSession.objects.filter(pk__in=scope.session_ids).aggregate(m=Max("peak_online"))["m"]
    return Figure(peak)


def peak_moment(session: LiveSession) -> datetime | None:
    """When the session had the most members online: its busiest viewer sample, else the moment the most watch
    intervals overlapped."""
    sample = ViewerSample.objects.filter(session=session).order_by("-online", "minute").first()
    if sample is not None:
        return sample.minute
    edges = []
    for first, last in WatchRecord.objects.filter(session=session).values_list("first_seen_at", "last_seen_at"):
        edges += [(first, 1), (last, -1)]
    online = best = 0
    moment = None
    for at, step in sorted(edges, key=lambda e: (e[0], -e[1])):
        online += step
        if online > best:
            best, moment = online, at
    return moment


def peak_online_people(scope: Scope, part: str) -> list[PersonRow]:
    session = LiveSession.objects.filter(pk__in=scope.session_ids).order_by("-peak_online", "pk").first()
    moment = peak_moment(session) if session else None
    if moment is None:
        return []
    online = WatchRecord.objects.filter(session=session, first_seen_at__lte=moment, last_seen_at__gte=moment)
    return person_rows({pk: f"《{session.title}》" for pk in online.values_list("user_id", flat=True)})


# --- 福利售罄用时 -------------------------------------------------------------------------------------------


def _perk_campaigns(scope: Scope) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.filter(perk_limit__gt=0, opens_at__isnull=False)
    if scope.session_picked:
        campaigns = campaigns.filter(live_session_id__in=scope.session_ids)
    else:
        campaigns = campaigns.filter(opens_at__gte=scope.start, opens_at__lt=scope.end)
    if scope.community_ids is not None:
        campaigns = campaigns.filter(communities__in=scope.community_ids).distinct()
    return campaigns


def _sold_out(campaign: Campaign) -> tuple[timedelta, list[int]] | None:
    """How long the first-N places took (from the opening to the N-th perk order), and who took them."""
    takers = list(
        Order.objects.filter(campaign=campaign, is_perk=True)
        .exclude(status=Order.Status.CANCELLED)
        .order_by("created_at", "seq")
        .values_list("user_id", "created_at")[: campaign.perk_limit]
    )
    if len(takers) < campaign.perk_limit:
        return None
    return max(takers[-1][1] - campaign.opens_at, timedelta(0)), [user_id for user_id, _at in takers]


def _perk_takers(scope: Scope) -> QuerySet[Order]:
    """The perk orders that count (not cancelled) of the scope's perk jielongs, each with its place among them
    (``place``: 1 for the earliest, by time then jielong number) and its jielong's ``limit`` and ``opens_at``:
    what :func:`_sold_out` reads one jielong at a time, for every jielong in one window-function query."""
    return (
        Order.objects.filter(campaign_id__in=_perk_campaigns(scope).order_by().values("pk"), is_perk=True)
        .exclude(status=Order.Status.CANCELLED)
        .annotate(
            place=Window(
                RowNumber(), partition_by=[F("campaign_id")], order_by=[F("created_at").asc(), F("seq").asc()]
            ),
            limit=F("campaign__perk_limit"),
            opens_at=F("campaign__opens_at"),
        )
        .order_by()
    )


def _sellout_spans(scope: Scope) -> tuple[int, float]:
    """How many of the scope's jielongs had all N perk places taken, and the seconds from each one's opening
    to its N-th perk order, summed (a place taken before the opening counts as 0).

    PostgreSQL: each jielong steps N entries into the partial index of perk places (``order_perk_places``,
    already in the order taken) and the sum is made there — no window over every perk order of the period
    (its sort spilled to disk) and no row per jielong to convert (a year at 10 M events: 3,600 jielongs,
    84 k perk orders; README, dashboards benchmark)."""
    if connection.vendor != "postgresql":
        nth = _perk_takers(scope).filter(place=F("limit")).values_list("created_at", "opens_at")
        spans = [max(at - opens_at, timedelta(0)).total_seconds() for at, opens_at in nth]
        return len(spans), sum(spans)
    try:
        campaigns, params = (
            _perk_campaigns(scope).order_by().values("pk", "perk_limit", "opens_at").query.sql_with_params()
        )
    except EmptyResultSet:  # no community or session in the scope: no jielong
        return 0, 0.0
    with read_cursor() as cursor:
        cursor.execute(
            f"""WITH c (id, perk_limit, opens_at) AS MATERIALIZED ({campaigns})
                SELECT count(*), COALESCE(SUM(GREATEST(EXTRACT(EPOCH FROM n.created_at - c.opens_at), 0)), 0)
                FROM c CROSS JOIN LATERAL (
                  SELECT o.created_at FROM {Order._meta.db_table} AS o
                  WHERE o.campaign_id = c.id AND o.is_perk AND NOT (o.status = %s)
                  ORDER BY o.created_at, o.seq OFFSET c.perk_limit - 1 LIMIT 1) AS n
                WHERE c.perk_limit > 0""",
            [*params, Order.Status.CANCELLED],
        )
        count, seconds = cursor.fetchone()
    return count, float(seconds)


def perk_sellout(scope: Scope) -> Figure:
    """The average minutes from a jielong's opening to its N-th perk order, over the jielongs sold out."""
    sold_out, seconds = _sellout_spans(scope)
    campaigns = _perk_campaigns(scope).count()
    if not sold_out:
        return Figure(None, 0, campaigns)
    return Figure(round(seconds / sold_out / 60, 1), sold_out, campaigns)


def perk_sellout_people(scope: Scope, part: str) -> list[PersonRow]:
    takers: dict[int, list[tuple[int, int]]] = {}
    limits: dict[int, int] = {}
    for campaign_id, place, user_id, limit in (
        _perk_takers(scope).filter(place__lte=F("limit")).values_list("campaign_id", "place", "user_id", "limit")
    ):
        takers.setdefault(campaign_id, []).append((place, user_id))
        limits[campaign_id] = limit
    details: dict[int, str] = {}
    for campaign_id, title in _perk_campaigns(scope).values_list("pk", "title"):
        taken = takers.get(campaign_id, [])
        if taken and len(taken) >= limits[campaign_id]:  # sold out: its N-th place was taken
            for _place, user_id in sorted(taken):
                details.setdefault(user_id, title)
    return person_rows(details)
