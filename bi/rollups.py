"""Rollups of the event stream behind the sales, NPS and LTV tiles (汇总表): kept by the background worker from a
cursor, rebuildable from the raw stream, read by :mod:`bi.metrics` when ``settings.BI_ROLLUPS`` is on.

What is folded (``RELEVANT``): an order's join, amount changes, cancellation and refunds, a jielong's opening
(its live session), a change to it in the builder (its live session after the change: another, or none) and
failure (不成团: every order cancelled with one event), NPS answers, and where an order's parcel is (moved to the
pickup point, 核销, undone, 超时未取). Into ``RollupDay`` (day × community × jielong: orders
that count, their amounts and refunds, NPS counts, the refunds paid that day, and the orders' parcels at the point
and picked up), through two fact tables, ``RollupOrder`` and ``RollupCampaign``; and for LTV, each
customer's first day in each community (``RollupCustomer``) and anywhere (``RollupCustomerAll``) and the new
customers of each day (``RollupNewCustomersAll``), worked out again for the customers whose orders an event moved.
For 直播观看→接龙, per live session and member the orders that count in the session's jielongs (``LiveJoiner``,
PostgreSQL; whether the member watched it is the watch records' triggers' part, migration 0012).

Late and out-of-order events: **additive upserts keyed by the order**. An order's contribution to its day is a
function of its fact row alone (joined, not cancelled, jielong not failed → one order, its latest total, its
refunds, on the local day of its join), so each event moves the fact and then the day by the difference
(after − before). The result does not depend on the order events are folded in: a cancellation seen before
the join, a refund a month late, an amount change older than the join all land where the recomputation puts
them (``recompute`` — independent SQL over the raw stream; the test proves the two equal).

Exactly once: the cursor (``stream.Cursor`` "bi.rollups") moves in the transaction that writes the sums, and
only over rows received ``SETTLE`` ago (the relay's rule: a row with a lower id may still be committing).
Fresh: a tile adds to the sums the fold of the stream after the cursor (``tail``), computed in memory, so a
board is exact even when the worker is behind.

Why not every tile (they stay on the domain queries, each defined once in ``bi.metrics``):

- 社群→直播观看 counts distinct people over the picked sessions (one person once over several), among members of
  the scope's communities *now* (active memberships, not a stream fact), and the sessions' target communities are
  not in the stream: not additive over (day, community, jielong) buckets. 直播→接龙 is distinct too; on PostgreSQL
  its joiners come from ``LiveJoiner`` (above) and the tail, its viewers from the watch facts.
- 平均观看时长 reads the watch records' credited seconds; the stream has them only as heartbeats, which bulk
  history (the demo's year) does not write. 峰值在线 is one column per session already (``peak_online``).
- 社群月活率: distinct members active in a 30-day window, partly from ``Membership.last_active_at`` (not an event).
  On a board of every community up to today it reads ``MemberActivity`` (each member's latest activity, kept by
  triggers on the activity tables; the fold refreshes the members of the joins it folds, ``Fold.joiners``).
- 裂变新客占比: new customers (first-ever uncancelled order) whose membership's inviter ever watched a live. On a
  board of every community over a period the new customers come from ``RollupCustomerAll`` (the referral tree and
  the watch records stay domain rows); a few communities or a picked session count them from the orders.
- 福利售罄用时: the jielong's perk limit and opening time are not in the stream. 准时送达率: a parcel is due once
  its delivery day's noon has passed (the clock, not a bucket), and the stream learns of a parcel only when a step
  moves it: one never moved is due but unknown to it. On PostgreSQL it reads the parcel facts instead
  (``bi.models.ParcelDay``, kept by triggers on the parcels per order day, community, jielong and delivery day).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, Sum
from django.utils import timezone

from feedback.nps import DETRACTOR_MAX, PROMOTER_MIN
from groupbuy import clock
from groupbuy.stream.models import Cursor, Event
from groupbuy.stream.relay import SETTLE
from livestream.models import WatchRecord

from .models import (
    LiveJoiner,
    ReferredMember,
    ReferredNewCustomersAll,
    RollupCampaign,
    RollupCustomer,
    RollupCustomerAll,
    RollupDay,
    RollupDayAll,
    RollupNewCustomersAll,
    RollupOrder,
)

CURSOR = "bi.rollups"
SPAN = 50_000  # stream rows per transaction

JOINED = "jielong.order_joined"
UPDATED = "jielong.order_updated"
CANCELLED = "jielong.order_cancelled"
REFUND = "jielong.refund_issued"
OPENED = "jielong.campaign_opened"
# An opened jielong changed in the builder: its row names its live session after the change (None: no live's now).
CHANGED = "jielong.campaign_changed"
FAILED = "jielong.campaign_failed"
NPS = "feedback.nps_answered"
# Where an order's parcel is (取货率): a batch step's move (its orders in ``properties.order_ids``; only the move to
# the pickup point matters), 核销, its undoing, 超时未取.
MOVED = "fulfillment.parcels_moved"
PICKED_UP = "fulfillment.order_picked_up"
UNDONE = "fulfillment.pickup_undone"
UNCOLLECTED = "fulfillment.order_uncollected"
PARCEL_EVENTS = (MOVED, PICKED_UP, UNDONE, UNCOLLECTED)
RELEVANT = (JOINED, UPDATED, CANCELLED, REFUND, OPENED, CHANGED, FAILED, NPS, *PARCEL_EVENTS)
AT_PICKUP = "at_pickup"  # fulfillment's Parcel.State.AT_PICKUP, as ParcelsMoved.state says it
# RollupOrder.parcel
AT_POINT = "at_point"
PICKED = "picked_up"

_FIELDS = (
    "pk",
    "name",
    "occurred_at",
    "community_id",
    "campaign_id",
    "order_id",
    "amount_fen",
    "live_session_id",
    "user_id",
)
# The sums of a RollupDay row, in this order.
SUMS = (
    "orders",
    "gross_fen",
    "refund_fen",
    "nps_answers",
    "nps_promoters",
    "nps_detractors",
    "refund_paid_fen",
    "parcels_at_point",
    "parcels_picked_up",
)
PAID = SUMS.index("refund_paid_fen")
AT_POINT_SUM, PICKED_SUM = SUMS.index("parcels_at_point"), SUMS.index("parcels_picked_up")
Key = tuple[date, int, int]  # (day, community, jielong)
# An order's part of the sums: its day row's key, total, refunds, refunds by the day paid, its customer and where its
# parcel is.
Contribution = tuple[Key, int, int, tuple[tuple[date, int], ...], int | None, str]


_reading: ContextVar[bool | None] = ContextVar("bi_rollups_reading", default=None)


def enabled() -> bool:
    """Whether the tiles read the rollups: ``settings.BI_ROLLUPS``, unless ``reading()`` says otherwise."""
    override = _reading.get()
    return bool(getattr(settings, "BI_ROLLUPS", True)) if override is None else override


@contextmanager
def reading(on: bool) -> Iterator[None]:
    """Inside the block the tiles read the rollups (``True``) or the domain tables (``False``), whatever the
    setting: the check that compares the two paths (``bi.rollup_check``)."""
    token = _reading.set(on)
    try:
        yield
    finally:
        _reading.reset(token)


def local_day(at: datetime) -> date:
    return timezone.localtime(at).date()


# --- the fold ------------------------------------------------------------------------------------------


@dataclass
class Fold:
    """Facts loaded for a batch, changed in memory; ``deltas`` are what the batch adds to each day row."""

    orders: dict[int, RollupOrder] = field(default_factory=dict)
    campaigns: dict[int, RollupCampaign] = field(default_factory=dict)
    before: dict[int, tuple[Key, int, int] | None] = field(default_factory=dict)
    deltas: dict[Key, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0] * len(SUMS)))
    was_live: dict[int, bool] = field(default_factory=dict)  # as loaded
    # (customer, community) pairs whose orders that count changed: their first day is worked out again.
    customers: set[tuple[int, int]] = field(default_factory=set)
    # ``LiveJoiner``: each loaded order's (session, member) as loaded, and what the batch adds to each pair's orders.
    live_before: dict[int, tuple[int, int] | None] = field(default_factory=dict)
    live: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))
    joiners: set[int] = field(default_factory=set)  # the members of the batch's joins (``MemberActivity``)

    def is_live(self, campaign_id: int) -> bool:
        campaign = self.campaigns.get(campaign_id)
        return campaign is not None and campaign.live_session_id is not None

    def campaign(self, campaign_id: int) -> RollupCampaign:
        found = self.campaigns.get(campaign_id)
        if found is None:
            found = self.campaigns[campaign_id] = RollupCampaign(campaign_id=campaign_id)
        return found

    def order(self, order_id: int) -> RollupOrder:
        found = self.orders.get(order_id)
        if found is None:
            found = self.orders[order_id] = RollupOrder(order_id=order_id)
            self.before[order_id] = None
        return found

    def contribution(self, o: RollupOrder) -> Contribution | None:
        if not o.is_joined or o.is_cancelled or o.day is None:
            return None
        campaign = self.campaigns.get(o.campaign_id or 0)
        if campaign is not None and campaign.is_failed:
            return None
        paid = tuple(sorted((date.fromisoformat(day), fen) for day, fen in (o.refunds or {}).items()))
        key = (o.day, o.community_id or 0, o.campaign_id or 0)
        return key, o.total_fen, o.refund_fen, paid, o.user_id, o.parcel

    def live_pair(self, o: RollupOrder, contribution: Contribution | None) -> tuple[int, int] | None:
        """(session, member) when the order counts (its ``contribution``) and a live session launched its jielong."""
        if contribution is None or o.user_id is None:
            return None
        campaign = self.campaigns.get(o.campaign_id or 0)
        return None if campaign is None or campaign.live_session_id is None else (campaign.live_session_id, o.user_id)


def _load_campaigns(f: Fold, campaign_ids: set) -> None:
    campaign_ids = {pk for pk in campaign_ids if pk is not None}
    for c in RollupCampaign.objects.filter(pk__in=campaign_ids) if campaign_ids else []:
        f.campaigns[c.pk] = c
        f.was_live[c.pk] = c.live_session_id is not None


def _parcel_moves(name: str, order_id: int | None, state: str | None, order_ids: list | None) -> list[tuple[int, str]]:
    """The (order, where its parcel now is) a fulfilment row says: ``RollupOrder.parcel``'s values."""
    if name == MOVED:  # a batch step: to the pickup point, or a step before it
        return [(int(pk), AT_POINT if state == AT_PICKUP else "") for pk in order_ids or ()]
    if order_id is None:
        return []
    return [(order_id, PICKED if name == PICKED_UP else AT_POINT)]


def _rows(q: Q) -> list[tuple]:
    return list(
        Event.objects.filter(q, name__in=RELEVANT)
        .order_by("pk")
        .values_list(*_FIELDS, "properties__score", "properties__state", "properties__order_ids")
    )


def fold(rows: list[tuple]) -> Fold:
    """Load the facts ``rows`` touch, apply the rows to them in memory and work out the day deltas."""
    f = Fold()
    order_ids = {r[5] for r in rows if r[5] is not None and r[1] not in (OPENED, CHANGED, FAILED, NPS)}
    order_ids.update(pk for r in rows if r[1] == MOVED for pk, _where in _parcel_moves(r[1], None, r[10], r[11]))
    campaign_ids = {r[4] for r in rows if r[4] is not None}
    _load_campaigns(f, campaign_ids)
    # Every order of a jielong that fails, or whose live session the batch sets to another, can move.
    whole = {r[4] for r in rows if r[1] == FAILED and r[4] is not None}
    whole.update(
        r[4]
        for r in rows
        if ((r[1] == OPENED and r[7] is not None) or r[1] == CHANGED)
        and r[4] is not None
        and (r[4] not in f.campaigns or f.campaigns[r[4]].live_session_id != r[7])
    )
    loaded = RollupOrder.objects.filter(Q(pk__in=order_ids) | Q(campaign_id__in=whole)) if order_ids or whole else []
    for o in loaded:
        f.orders[o.pk] = o
    _load_campaigns(f, {o.campaign_id for o in f.orders.values()} - campaign_ids)
    for order_id, o in f.orders.items():
        f.before[order_id] = f.contribution(o)
        f.live_before[order_id] = f.live_pair(o, f.before[order_id])

    for pk, name, at, community_id, campaign_id, order_id, amount, session_id, user_id, score, state, moved in rows:
        if name in PARCEL_EVENTS:
            for parcel_order_id, where in _parcel_moves(name, order_id, state, moved):
                o = f.order(parcel_order_id)
                if pk > o.parcel_event_id:
                    o.parcel, o.parcel_event_id = where, pk
        elif name == NPS:
            row = f.deltas[(local_day(at), community_id or 0, campaign_id or 0)]
            score = int(score) if score is not None else None
            row[3] += 1
            row[4] += score is not None and score >= PROMOTER_MIN
            row[5] += score is not None and score <= DETRACTOR_MAX
        elif name == OPENED:
            if campaign_id is not None and session_id is not None:
                f.campaign(campaign_id).live_session_id = session_id
        elif name == CHANGED:
            if campaign_id is not None:
                f.campaign(campaign_id).live_session_id = session_id
        elif name == FAILED:
            if campaign_id is not None:
                f.campaign(campaign_id).is_failed = True
        elif order_id is not None:
            o = f.order(order_id)
            if campaign_id is not None and (name == JOINED or o.campaign_id is None):
                o.campaign_id = campaign_id
                f.campaign(campaign_id)  # preloaded when it exists: a new one starts blank
            if name == JOINED:
                o.is_joined, o.community_id, o.day = True, community_id, local_day(at)
                o.user_id = user_id
                if user_id is not None:
                    f.joiners.add(user_id)
            elif name == CANCELLED:
                o.is_cancelled = True
            elif name == REFUND:
                o.refund_fen += amount or 0
                paid_on = local_day(at).isoformat()
                o.refunds = {**(o.refunds or {}), paid_on: (o.refunds or {}).get(paid_on, 0) + (amount or 0)}
            if name in (JOINED, UPDATED) and amount is not None and pk > o.total_event_id:
                o.total_fen, o.total_event_id = amount, pk

    for order_id, o in f.orders.items():
        before, after = f.before.get(order_id), f.contribution(o)
        live_before, live_after = f.live_before.get(order_id), f.live_pair(o, after)
        if live_before != live_after:
            if live_before is not None:
                f.live[live_before] -= 1
            if live_after is not None:
                f.live[live_after] += 1
        if before == after:
            continue
        for found, sign in ((before, -1), (after, 1)):
            if found is not None:
                (day, community_id, campaign_id), total, refund, paid, user_id, parcel = found
                row = f.deltas[(day, community_id, campaign_id)]
                row[0] += sign
                row[1] += sign * total
                row[2] += sign * refund
                row[AT_POINT_SUM] += sign * (parcel != "")
                row[PICKED_SUM] += sign * (parcel == PICKED)
                for paid_on, fen in paid:
                    f.deltas[(paid_on, community_id, campaign_id)][PAID] += sign * fen
                # Whether and where it counts moved (not just its parcel): its customer's first days may have.
                if user_id is not None and (before is None or after is None or before[0] != after[0]):
                    f.customers.add((user_id, community_id))
    return f


_ORDER_COLUMNS = (
    "order_id",
    "campaign_id",
    "community_id",
    "day",
    "total_fen",
    "total_event_id",
    "refund_fen",
    "is_joined",
    "is_cancelled",
    "user_id",
    "refunds",
    "parcel",
    "parcel_event_id",
)
_CAMPAIGN_COLUMNS = ("campaign_id", "live_session_id", "is_failed")


def _order_row(o: RollupOrder) -> tuple:
    return tuple(json.dumps(o.refunds or {}) if c == "refunds" else getattr(o, c) for c in _ORDER_COLUMNS)


def _write(f: Fold, *, members: bool = True) -> None:
    # First, in this order: their locks come before the customer triggers' (migrations 0012, 0014).
    _write_live_joiners(f.live)
    if members:
        _refresh_member_activity(f.joiners)
    _merge(RollupOrder._meta.db_table, _ORDER_COLUMNS, ("order_id",), [_order_row(o) for o in f.orders.values()])
    _merge(
        RollupCampaign._meta.db_table,
        _CAMPAIGN_COLUMNS,
        ("campaign_id",),
        [tuple(getattr(c, n) for n in _CAMPAIGN_COLUMNS) for c in f.campaigns.values()],
    )
    # A jielong found to be a live's after its rows were written (or no longer one): its rows move sides.
    now_live = [c.pk for c in f.campaigns.values() if c.live_session_id is not None and not f.was_live.get(c.pk)]
    not_live = [c.pk for c in f.campaigns.values() if c.live_session_id is None and f.was_live.get(c.pk)]
    for moved, live in ((now_live, True), (not_live, False)):
        if moved:
            RollupDay.objects.filter(campaign_id__in=moved).update(is_live=live)
            RollupDayAll.objects.filter(campaign_id__in=moved).update(is_live=live)
    deltas = [(day, c, j, f.is_live(j), *sums) for (day, c, j), sums in f.deltas.items() if any(sums)]
    brand: dict[tuple[date, int, bool], list[int]] = defaultdict(lambda: [0] * len(SUMS))
    for day, _c, j, live, *sums in deltas:
        row = brand[(day, j, live)]
        for i, v in enumerate(sums):
            row[i] += v
    add = [f"{s} = {{table}}.{s} + excluded.{s}" for s in SUMS]
    key = ("day", "community_id", "campaign_id")
    _merge(RollupDay._meta.db_table, (*key, "is_live", *SUMS), key, deltas, add)
    key = ("day", "campaign_id")
    brand_rows = [(*k, *v) for k, v in brand.items() if any(v)]
    _merge(RollupDayAll._meta.db_table, (*key, "is_live", *SUMS), key, brand_rows, add)
    _refresh_customers(f.customers)


def _write_live_joiners(live: dict[tuple[int, int], int]) -> None:
    """Add the batch's orders to ``LiveJoiner`` (PostgreSQL; elsewhere the tile reads the orders). A new row's
    ``watched`` is read from the watch records after the members' buckets are locked, as the watch triggers do."""
    moved = sorted((user_id, session_id, n) for (session_id, user_id), n in live.items() if n)
    if not moved or connection.vendor != "postgresql":
        return
    users, sessions, counts = ([row[i] for row in moved] for i in range(3))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(1411, b)) FROM "
            "(SELECT DISTINCT (u %% 1024)::int AS b FROM unnest(%s::bigint[]) AS u ORDER BY 1) AS l",
            [users],
        )
        cursor.execute(
            f"""INSERT INTO {LiveJoiner._meta.db_table} (session_id, user_id, orders, watched)
                SELECT g.s, g.u, g.n, EXISTS (SELECT 1 FROM {WatchRecord._meta.db_table} AS w
                                               WHERE w.session_id = g.s AND w.user_id = g.u)
                FROM unnest(%s::bigint[], %s::bigint[], %s::int[]) AS g(u, s, n)
                ON CONFLICT (user_id, session_id) DO UPDATE SET orders = {LiveJoiner._meta.db_table}.orders + excluded.orders""",
            [users, sessions, counts],
        )


def _refresh_member_activity(users: set[int]) -> None:
    """Recompute ``MemberActivity`` for the members of the batch's joins (PostgreSQL): an order has no trigger."""
    if users and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT bi_member_activity_refresh(%s::bigint[])", [sorted(users)])


def refill_member_activity() -> bool:
    """``MemberActivity`` computed again for every member (PostgreSQL; ``manage.py rollups_rebuild``)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT bi_member_activity_refill()")
    return True


def member_activity_differences() -> list[int]:
    """The members whose ``MemberActivity`` row is not what their domain rows say now — their active memberships,
    earliest join, and the local day of their latest activity (a heartbeat later that day does not write): none,
    when the triggers and the fold kept it (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH now AS (SELECT * FROM bi_member_activity_compute(ARRAY(
                   SELECT user_id FROM community_membership WHERE status = 'active'
                   UNION SELECT user_id FROM bi_member_activity)))
               SELECT coalesce(n.user_id, a.user_id) FROM now AS n FULL JOIN bi_member_activity AS a USING (user_id)
               WHERE (n.memberships, n.first_joined, (n.last_active AT TIME ZONE bi_parcel_zone())::date)
                     IS DISTINCT FROM (a.memberships, a.first_joined, (a.last_active AT TIME ZONE bi_parcel_zone())::date)
               ORDER BY 1"""
        )
        return [row[0] for row in cursor.fetchall()]


def session_aims_differences() -> list[int]:
    """The sessions whose ``SessionAims`` counts are not the member-aims rows with their bits (aimed; aimed and
    watched): none, when ``bi_member_aims_refresh`` moved them with the bits (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH bits AS (
                   SELECT s.id AS session_id,
                          count(*) FILTER (WHERE get_bit(a.aimed, (s.id % 1024)::int) = 1) AS aimed,
                          count(*) FILTER (WHERE get_bit(a.aimed, (s.id % 1024)::int)
                                                 & get_bit(a.watched, (s.id % 1024)::int) = 1) AS watched
                   FROM livestream_livesession AS s JOIN bi_member_aims AS a ON a.block = s.id / 1024
                   GROUP BY 1),
               stored AS (SELECT session_id, sum(aimed) AS aimed, sum(watched) AS watched
                          FROM bi_session_aims GROUP BY 1)
               SELECT coalesce(b.session_id, c.session_id) FROM bits AS b FULL JOIN stored AS c USING (session_id)
               WHERE (coalesce(b.aimed, 0), coalesce(b.watched, 0))
                     IS DISTINCT FROM (coalesce(c.aimed, 0), coalesce(c.watched, 0))
               ORDER BY 1"""
        )
        return [row[0] for row in cursor.fetchall()]


def joiners_after_cursor() -> set[int]:
    """The members of the orders the stream after the cursor touches: ``MemberActivity`` may not have their orders
    yet."""
    return {o.user_id for o in tail().orders.values() if o.user_id is not None}


def _first_days(user_ids: list[int]) -> dict[tuple[int, int], date]:
    """Each (customer, community)'s first day with an order that counts, from the order facts as written."""
    rows = (
        RollupOrder.objects.filter(user_id__in=user_ids, is_joined=True, is_cancelled=False, day__isnull=False)
        .exclude(campaign_id__in=RollupCampaign.objects.filter(is_failed=True).values("pk"))
        .values_list("user_id", "community_id")
        .annotate(first=Min("day"))
        .order_by()
    )
    return {(u, c or 0): d for u, c, d in rows}


def _refresh_customers(pairs: set[tuple[int, int]]) -> None:
    """Work out the first days of the customers in ``pairs`` again from ``RollupOrder`` (written already), in every
    community of theirs; store what moved (per community, and the earliest over all), and move the new-customer
    counts of the days a customer's first day anywhere left and reached."""
    if not pairs:
        return
    users = sorted({u for u, _c in pairs})
    stored = {(u, c): d for u, c, d in RollupCustomer.objects.filter(user_id__in=users).values_list(*_CUSTOMER_COLUMNS)}
    now = _first_days(users)
    _delete_customers([pair for pair in stored if pair not in now])
    moved = [(u, c, d) for (u, c), d in now.items() if stored.get((u, c)) != d]
    _merge(RollupCustomer._meta.db_table, _CUSTOMER_COLUMNS, ("user_id", "community_id"), moved)
    counts: dict[date, int] = defaultdict(int)
    anywhere: list[tuple[int, date]] = []
    gone: list[int] = []
    for user_id, before, after in _moved_firsts(stored, now):
        if before is not None:
            counts[before] -= 1
        if after is not None:
            counts[after] += 1
            anywhere.append((user_id, after))
        else:
            gone.append(user_id)
    RollupCustomerAll.objects.filter(user_id__in=gone).delete()
    _merge(RollupCustomerAll._meta.db_table, ("user_id", "first_day"), ("user_id",), anywhere)
    add = ["customers = {table}.customers + excluded.customers"]
    rows = [(day, n) for day, n in counts.items() if n]
    _merge(RollupNewCustomersAll._meta.db_table, ("day", "customers"), ("day",), rows, add)


def _delete_customers(pairs: list[tuple[int, int]]) -> None:
    if not pairs:
        return
    table = RollupCustomer._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # one join against the pairs (an OR of thousands took minutes)
            cursor.execute(
                f"DELETE FROM {table} AS c USING unnest(%s::bigint[], %s::bigint[]) AS g(user_id, community_id) "
                "WHERE c.user_id = g.user_id AND c.community_id = g.community_id",
                [[u for u, _c in pairs], [c for _u, c in pairs]],
            )
            return
        for user_id, community_id in pairs:
            cursor.execute(f"DELETE FROM {table} WHERE user_id = %s AND community_id = %s", [user_id, community_id])


def _earliest(first_days: dict[tuple[int, int], date], communities=None) -> dict[int, date]:
    """Per customer, the earliest of their first days (per community), over ``communities`` (None: all)."""
    found: dict[int, date] = {}
    for (user_id, community_id), day in first_days.items():
        if (communities is None or community_id in communities) and (user_id not in found or day < found[user_id]):
            found[user_id] = day
    return found


def _moved_firsts(before: dict, after: dict, communities=None) -> Iterator[tuple[int, date | None, date | None]]:
    """Per customer whose first day over ``communities`` (None: all) moved from ``before`` to ``after``: (the
    customer, that day before, after), either day None when there is none."""
    first_before, first_after = _earliest(before, communities), _earliest(after, communities)
    for user_id in first_before.keys() | first_after.keys():
        if first_before.get(user_id) != first_after.get(user_id):
            yield user_id, first_before.get(user_id), first_after.get(user_id)


_CUSTOMER_COLUMNS = ("user_id", "community_id", "first_day")


def _merge(
    table: str, columns: tuple[str, ...], key: tuple[str, ...], rows: list[tuple], updates: list[str] | None = None
) -> None:
    """Insert ``rows``, or on a key already there apply ``updates`` (default: take the new values).
    PostgreSQL: COPY into a temporary table and one INSERT … SELECT (a batch's thousands of rows without
    thousands of parameters); elsewhere multi-row INSERTs of 500."""
    if not rows:
        return
    names = ", ".join(columns)
    updates = updates or [f"{c} = excluded.{c}" for c in columns if c not in key]
    on_conflict = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(u.format(table=table) for u in updates)}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            incoming = f"_incoming_{table}"
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {incoming} ON COMMIT DELETE ROWS AS "
                f"SELECT {names} FROM {table} WITH NO DATA"
            )
            with cursor.cursor.copy(f"COPY {incoming} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {incoming} {on_conflict}")
            cursor.execute(f"DELETE FROM {incoming}")
            return
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {values} {on_conflict}", [v for row in chunk for v in row]
            )


# --- the worker and the rebuild ---------------------------------------------------------------------------


def catch_up(
    *,
    now: datetime | None = None,
    settle: timedelta = SETTLE,
    span: int = SPAN,
    max_batches: int | None = 200,
    members: bool = True,
) -> int:
    """Fold the stream after the cursor, ``span`` rows per transaction; returns how many stream rows it passed.
    Safe to run concurrently (the cursor row is locked) and again (it resumes after the last commit). ``members``:
    recompute the activity of each batch's joiners (``MemberActivity``; the rebuild refills it once instead)."""
    until = (now or clock.now()) - settle
    Cursor.objects.get_or_create(name=CURSOR)
    passed = batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        with transaction.atomic():
            cursor = Cursor.objects.select_for_update().get(name=CURSOR)
            ids = Event.objects.filter(pk__gt=cursor.position, received_at__lte=until).order_by("pk")[:span]
            with connection.cursor() as c:
                sql, params = ids.values("id").query.sql_with_params()
                c.execute(f"SELECT count(*), max(id) FROM ({sql}) AS batch", params)
                count, last = c.fetchone()
            if not count:
                break
            _write(fold(_rows(Q(pk__gt=cursor.position, pk__lte=last))), members=members)
            Cursor.objects.filter(name=CURSOR).update(position=last, updated_at=clock.now())
        passed += count
        if count < span:
            break
    _compact_referred_new()
    return passed


def _compact_referred_new() -> None:
    """One row per day in ``ReferredNewCustomersAll``, which its triggers append to (migration 0010)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT bi_referred_new_compact()")


def reset() -> None:
    LiveJoiner.objects.all().delete()
    RollupCustomer.objects.all().delete()
    RollupCustomerAll.objects.all().delete()
    RollupNewCustomersAll.objects.all().delete()
    RollupDay.objects.all().delete()
    RollupDayAll.objects.all().delete()
    RollupOrder.objects.all().delete()
    RollupCampaign.objects.all().delete()


def rebuild() -> int:
    """Clear the rollups and fold the whole stream again (``manage.py rollups_rebuild``)."""
    with transaction.atomic():
        Cursor.objects.get_or_create(name=CURSOR)
        Cursor.objects.select_for_update().get(name=CURSOR)
        reset()
        Cursor.objects.filter(name=CURSOR).update(position=0, updated_at=clock.now())
    # Every member's activity once at the end, not each batch's joiners again (a customer's orders span batches).
    passed = catch_up(settle=timedelta(0), max_batches=None, members=False)
    refill_member_activity()
    return passed


def position() -> int:
    return Cursor.objects.filter(name=CURSOR).values_list("position", flat=True).first() or 0


_one_tail: ContextVar[list[Fold] | None] = ContextVar("bi_rollups_one_tail", default=None)


@contextmanager
def one_tail() -> Iterator[None]:
    """Inside the block the stream after the cursor is folded once, at the first read, and every read adds that
    fold: a board's tiles and charts read one moment of the stream, and a long tail (a join storm's last minute) is
    folded once per board, not once per tile."""
    if _one_tail.get() is not None:  # inside another block: its fold
        yield
        return
    token = _one_tail.set([])
    try:
        yield
    finally:
        _one_tail.reset(token)


def tail() -> Fold:
    """The fold of the stream after the cursor, not written: what the sums do not have yet."""
    held = _one_tail.get()
    if held:
        return held[0]
    found = fold(_rows(Q(pk__gt=position())))
    if held is not None:
        held.append(found)
    return found


# --- reading: the parts the tiles are made of ---------------------------------------------------------------


@dataclass(frozen=True)
class Sales:
    orders: int = 0
    gross_fen: int = 0
    refund_fen: int = 0


@dataclass(frozen=True)
class Answers:
    answers: int = 0
    promoters: int = 0
    detractors: int = 0


def _campaigns_of_sessions(session_ids: Iterable[int], f: Fold) -> set[int]:
    found = set(RollupCampaign.objects.filter(live_session_id__in=list(session_ids)).values_list("pk", flat=True))
    for c in f.campaigns.values():  # the tail's openings and changes
        if c.live_session_id in session_ids:
            found.add(c.pk)
        else:
            found.discard(c.pk)
    return found


def _sums(scope, columns: tuple[str, ...], *, split_live: bool = False) -> list[list[int]]:
    """The sums of ``columns`` over the scope's day rows, the tail's deltas added: one list, or two when
    ``split_live`` (rows of jielongs a live launched, then the others) — one query either way."""
    f = tail()
    rows = RollupDay.objects.all() if scope.community_ids is not None else RollupDayAll.objects.all()
    keep_campaigns: set[int] | None = None
    if scope.session_picked:
        keep_campaigns = _campaigns_of_sessions(scope.session_ids, f)
        rows = rows.filter(campaign_id__in=keep_campaigns)
    else:
        rows = rows.filter(day__gte=scope.since, day__lte=scope.until)
    if scope.community_ids is not None:
        rows = rows.filter(community_id__in=scope.community_ids)
    groups = {"live": Q(is_live=True), "other": Q(is_live=False)} if split_live else {"all": None}

    def per_group(queryset) -> list[list[int]]:
        totals = queryset.aggregate(**{f"{g}_{c}": Sum(c, filter=q) for g, q in groups.items() for c in columns})
        return [[totals[f"{g}_{c}"] or 0 for c in columns] for g in groups]

    sums = per_group(rows)
    # A jielong the tail makes a live's, or no longer one: its stored rows move to the other side, as the fold will.
    flipped = [pk for pk, live in f.was_live.items() if live != f.is_live(pk)]
    if split_live and flipped:
        for side, stored in enumerate(per_group(rows.filter(campaign_id__in=flipped))):
            for n, value in enumerate(stored):
                sums[side][n] -= value
                sums[1 - side][n] += value
    indexes = [SUMS.index(c) for c in columns]
    for (day, community_id, campaign_id), delta in f.deltas.items():
        if keep_campaigns is not None and campaign_id not in keep_campaigns:
            continue
        if keep_campaigns is None and not scope.since <= day <= scope.until:
            continue
        if scope.community_ids is not None and community_id not in scope.community_ids:
            continue
        target = sums[0 if not split_live or f.is_live(campaign_id) else 1]
        for n, i in enumerate(indexes):
            target[n] += delta[i]
    return sums


_SALES = ("orders", "gross_fen", "refund_fen")


def sales(scope) -> Sales:
    """Orders that count in the scope (placed in its period, or of its sessions' jielongs; in its communities),
    their amounts and refunds."""
    return Sales(*_sums(scope, _SALES)[0])


def sales_by_live(scope) -> tuple[Sales, Sales]:
    """The same, split: orders of jielongs a live launched, and the others."""
    live, other = _sums(scope, _SALES, split_live=True)
    return Sales(*live), Sales(*other)


def answers(scope) -> Answers:
    """NPS answers in the scope (given in its period, or about its sessions' jielongs; in its communities)."""
    return Answers(*_sums(scope, ("nps_answers", "nps_promoters", "nps_detractors"))[0])


@dataclass(frozen=True)
class Parcels:
    at_point: int = 0
    picked_up: int = 0


def parcels(scope) -> Parcels:
    """The parcels of the scope's orders that count which reached the pickup point, and of them the ones picked up."""
    return Parcels(*_sums(scope, ("parcels_at_point", "parcels_picked_up"))[0])


@dataclass(frozen=True)
class Spend:
    """Net spend (orders that count, less their refunds paid so far) and customers, until a moment."""

    net_fen: int = 0
    customers: int = 0


def spend_until(scope, moments: Iterable[datetime]) -> list[Spend]:
    """LTV's parts at each of ``moments`` (local midnights) in the scope's communities: the orders placed before
    it that count, less their refunds paid before it, and the customers with such an order — the tail's changes
    added, as for the other sums."""
    ends = [local_day(m) for m in moments]
    f = tail()
    rows = RollupDay.objects.all() if scope.community_ids is not None else RollupDayAll.objects.all()
    if scope.community_ids is not None:
        rows = rows.filter(community_id__in=scope.community_ids)
    sums = rows.aggregate(
        **{f"g{i}": Sum("gross_fen", filter=Q(day__lt=end)) for i, end in enumerate(ends)},
        **{f"p{i}": Sum("refund_paid_fen", filter=Q(day__lt=end)) for i, end in enumerate(ends)},
    )
    net = [(sums[f"g{i}"] or 0) - (sums[f"p{i}"] or 0) for i in range(len(ends))]
    for (day, community_id, _campaign_id), delta in f.deltas.items():
        if scope.community_ids is not None and community_id not in scope.community_ids:
            continue
        for i, end in enumerate(ends):
            if day < end:
                net[i] += delta[1] - delta[PAID]
    customers = _customers_until(scope, ends)
    stored, now = _tail_customers(f)
    for _user_id, before, after in _moved_firsts(stored, now, scope.community_ids):
        for i, end in enumerate(ends):
            customers[i] += (after is not None and after < end) - (before is not None and before < end)
    return [Spend(n, c) for n, c in zip(net, customers, strict=True)]


def _customers_until(scope, ends: list[date]) -> list[int]:
    if scope.community_ids is None:
        rows = RollupNewCustomersAll.objects.aggregate(
            **{f"c{i}": Sum("customers", filter=Q(day__lt=end)) for i, end in enumerate(ends)}
        )
        return [rows[f"c{i}"] or 0 for i in range(len(ends))]
    found = []
    for end in ends:  # distinct over the communities: a customer of two counts once
        rows = RollupCustomer.objects.filter(community_id__in=scope.community_ids, first_day__lt=end)
        found.append(rows.values("user_id").distinct().count())
    return found


def _tail_customers(f: Fold) -> tuple[dict[tuple[int, int], date], dict[tuple[int, int], date]]:
    """The first days of the customers the tail moves: as stored, and with the tail's orders and jielongs."""
    users = {u for u, _c in f.customers}
    if not users:
        return {}, {}
    stored = {(u, c): d for u, c, d in RollupCustomer.objects.filter(user_id__in=users).values_list(*_CUSTOMER_COLUMNS)}
    orders = {o.pk: o for o in RollupOrder.objects.filter(user_id__in=users)}
    orders.update({pk: o for pk, o in f.orders.items() if o.user_id in users})
    # Their jielongs as the tail leaves them, for the fold's own rule of what counts (``Fold.contribution``).
    missing = {o.campaign_id for o in orders.values()} - set(f.campaigns)
    for c in RollupCampaign.objects.filter(pk__in=missing):
        f.campaigns[c.pk] = c
    now: dict[tuple[int, int], date] = {}
    for o in orders.values():
        counted = f.contribution(o)
        if counted is not None:
            pair = (o.user_id, o.community_id or 0)
            now[pair] = min(o.day, now.get(pair, o.day))
    return stored, now


def live_joiners_moved_by_tail(session_ids: Iterable[int]) -> dict[int, bool]:
    """The members whose ``LiveJoiner`` rows of ``session_ids`` the stream after the cursor moves, and whether each
    counts with it: an order that counts in a jielong of one of those sessions, and a watch record of that session."""
    sessions = set(session_ids)
    deltas = {pair: n for pair, n in tail().live.items() if n and pair[0] in sessions}
    users = {user_id for _session_id, user_id in deltas}
    if not users:
        return {}
    stored = {
        (s, u): (n, w)
        for s, u, n, w in LiveJoiner.objects.filter(user_id__in=users, session_id__in=sessions).values_list(
            "session_id", "user_id", "orders", "watched"
        )
    }
    new = [pair for pair in deltas if pair not in stored]
    watched = set()
    if new:
        records = WatchRecord.objects.filter(session_id__in={s for s, _u in new}, user_id__in={u for _s, u in new})
        watched = set(records.values_list("session_id", "user_id"))
    counts = dict.fromkeys(users, False)
    for pair in stored.keys() | deltas.keys():
        orders, has_watched = stored.get(pair, (0, pair in watched))
        if orders + deltas.get(pair, 0) > 0 and has_watched:
            counts[pair[1]] = True
    return counts


# --- the recomputation (PostgreSQL): the same figures straight from the raw stream ----------------------------

_RECOMPUTE_ORDERS = """
WITH ev AS (SELECT * FROM stream_event WHERE name = ANY(%(names)s)),
joined AS (
    SELECT DISTINCT ON (order_id) order_id, campaign_id, COALESCE(community_id, 0) AS community_id, user_id,
           (occurred_at AT TIME ZONE %(tz)s)::date AS day
    FROM ev WHERE name = %(joined)s AND order_id IS NOT NULL ORDER BY order_id, id),
counted AS (
    SELECT * FROM joined j
    WHERE j.order_id NOT IN (SELECT order_id FROM ev WHERE name = %(cancelled)s AND order_id IS NOT NULL)
      AND COALESCE(j.campaign_id, 0) NOT IN (SELECT campaign_id FROM ev WHERE name = %(failed)s
                                              AND campaign_id IS NOT NULL)),"""

RECOMPUTE_SQL = (
    _RECOMPUTE_ORDERS
    + """
total AS (
    SELECT DISTINCT ON (order_id) order_id, amount_fen AS fen FROM ev
    WHERE name IN (%(joined)s, %(updated)s) AND order_id IS NOT NULL AND amount_fen IS NOT NULL
    ORDER BY order_id, id DESC),
refund AS (SELECT order_id, SUM(amount_fen) AS fen FROM ev WHERE name = %(refund)s GROUP BY order_id),
parcel_rows AS (
    SELECT e.id, m.order_id::bigint AS order_id,
           CASE WHEN e.properties ->> 'state' = %(at_pickup)s THEN %(at_point)s ELSE '' END AS parcel
    FROM ev e CROSS JOIN LATERAL jsonb_array_elements_text(e.properties -> 'order_ids') AS m(order_id)
    WHERE e.name = %(moved)s
    UNION ALL
    SELECT id, order_id, CASE WHEN name = %(picked_up)s THEN %(picked)s ELSE %(at_point)s END
    FROM ev WHERE name IN (%(picked_up)s, %(undone)s, %(uncollected)s) AND order_id IS NOT NULL),
parcel AS (SELECT DISTINCT ON (order_id) order_id, parcel FROM parcel_rows ORDER BY order_id, id DESC),
sales AS (
    SELECT j.day, j.community_id, COALESCE(j.campaign_id, 0) AS campaign_id, COUNT(*) AS orders,
           SUM(COALESCE(t.fen, 0)) AS gross_fen, SUM(COALESCE(r.fen, 0)) AS refund_fen,
           COUNT(*) FILTER (WHERE pa.parcel <> '') AS parcels_at_point,
           COUNT(*) FILTER (WHERE pa.parcel = %(picked)s) AS parcels_picked_up
    FROM counted j LEFT JOIN total t USING (order_id) LEFT JOIN refund r USING (order_id)
      LEFT JOIN parcel pa USING (order_id)
    GROUP BY 1, 2, 3),
paid AS (
    SELECT (e.occurred_at AT TIME ZONE %(tz)s)::date AS day, j.community_id, COALESCE(j.campaign_id, 0) AS campaign_id,
           SUM(COALESCE(e.amount_fen, 0)) AS refund_paid_fen
    FROM ev e JOIN counted j USING (order_id) WHERE e.name = %(refund)s
    GROUP BY 1, 2, 3),
nps AS (
    SELECT (occurred_at AT TIME ZONE %(tz)s)::date AS day, COALESCE(community_id, 0) AS community_id,
           COALESCE(campaign_id, 0) AS campaign_id, COUNT(*) AS nps_answers,
           COUNT(*) FILTER (WHERE (properties ->> 'score')::int >= %(promoter)s) AS nps_promoters,
           COUNT(*) FILTER (WHERE (properties ->> 'score')::int <= %(detractor)s) AS nps_detractors
    FROM ev WHERE name = %(nps)s GROUP BY 1, 2, 3)
SELECT day, community_id, campaign_id, COALESCE(s.orders, 0), COALESCE(s.gross_fen, 0), COALESCE(s.refund_fen, 0),
       COALESCE(n.nps_answers, 0), COALESCE(n.nps_promoters, 0), COALESCE(n.nps_detractors, 0),
       COALESCE(p.refund_paid_fen, 0), COALESCE(s.parcels_at_point, 0), COALESCE(s.parcels_picked_up, 0)
FROM sales s FULL JOIN nps n USING (day, community_id, campaign_id) FULL JOIN paid p USING (day, community_id, campaign_id)
"""
)

RECOMPUTE_CUSTOMERS_SQL = (
    _RECOMPUTE_ORDERS
    + """
firsts AS (SELECT user_id, community_id, min(day) AS first_day FROM counted WHERE user_id IS NOT NULL GROUP BY 1, 2)
SELECT user_id, community_id, first_day FROM firsts
"""
)


RECOMPUTE_LIVE_JOINERS_SQL = (
    _RECOMPUTE_ORDERS
    + """
opened AS (
    SELECT DISTINCT ON (campaign_id) campaign_id, live_session_id FROM ev
    WHERE (name = %(opened)s AND live_session_id IS NOT NULL OR name = %(changed)s) AND campaign_id IS NOT NULL
    ORDER BY campaign_id, id DESC)
SELECT p.live_session_id, j.user_id, count(*) FROM counted AS j JOIN opened AS p USING (campaign_id)
WHERE j.user_id IS NOT NULL AND p.live_session_id IS NOT NULL GROUP BY 1, 2
"""
)


def _recompute_params() -> dict:
    return {
        "names": list(RELEVANT),
        "tz": settings.TIME_ZONE,
        "joined": JOINED,
        "updated": UPDATED,
        "refund": REFUND,
        "cancelled": CANCELLED,
        "failed": FAILED,
        "opened": OPENED,
        "changed": CHANGED,
        "nps": NPS,
        "moved": MOVED,
        "picked_up": PICKED_UP,
        "undone": UNDONE,
        "uncollected": UNCOLLECTED,
        "at_pickup": AT_PICKUP,
        "at_point": AT_POINT,
        "picked": PICKED,
        "promoter": PROMOTER_MIN,
        "detractor": DETRACTOR_MAX,
    }


def recompute() -> dict[Key, tuple[int, ...]]:
    """Every day row (day, community, jielong), computed from the whole raw stream in one query (PostgreSQL), rows of
    zeros left out."""
    with connection.cursor() as cursor:
        cursor.execute(RECOMPUTE_SQL, _recompute_params())
        rows = cursor.fetchall()
    return {(r[0], r[1], r[2]): tuple(int(v) for v in r[3:]) for r in rows if any(r[3:])}


def recompute_customers() -> dict[tuple[int, int], date]:
    """Every customer's first day in each community, from the whole raw stream (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(RECOMPUTE_CUSTOMERS_SQL, _recompute_params())
        return {(u, c): d for u, c, d in cursor.fetchall()}


def recompute_live_joiners() -> dict[tuple[int, int], int]:
    """Per (live session, member), the orders that count in the session's jielongs, from the whole raw stream
    (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(RECOMPUTE_LIVE_JOINERS_SQL, _recompute_params())
        return {(s, u): n for s, u, n in cursor.fetchall()}


def stored_live_joiners() -> dict[tuple[int, int], int]:
    """``LiveJoiner``'s orders as the fold left them, rows of zero left out."""
    rows = LiveJoiner.objects.exclude(orders=0).values_list("session_id", "user_id", "orders")
    return {(s, u): n for s, u, n in rows}


def live_joiners_watched_wrongly() -> list[tuple[int, int]]:
    """The ``LiveJoiner`` rows whose ``watched`` is not whether a watch record of the pair exists: none, when the
    fold and the watch triggers agree."""
    records = WatchRecord.objects.filter(session_id=OuterRef("session_id"), user_id=OuterRef("user_id"))
    rows = LiveJoiner.objects.annotate(has=Exists(records)).exclude(watched=F("has"))
    return list(rows.values_list("session_id", "user_id"))


def new_customers_of(firsts: dict[tuple[int, int], date]) -> dict[date, int]:
    """New customers per day (``RollupNewCustomersAll``) from first days per community: each customer once, on
    their earliest."""
    counts: dict[date, int] = defaultdict(int)
    for day in _earliest(firsts).values():
        counts[day] += 1
    return dict(counts)


def stored_customers() -> dict[tuple[int, int], date]:
    return {(u, c): d for u, c, d in RollupCustomer.objects.values_list(*_CUSTOMER_COLUMNS)}


def stored_customers_all() -> dict[int, date]:
    return dict(RollupCustomerAll.objects.values_list("user_id", "first_day"))


def first_days_moved_by_tail() -> list[tuple[int, date | None, date | None]]:
    """The customers whose first day over every community the stream after the cursor moves: (customer, the first
    day stored in ``RollupCustomerAll``, the first day with the tail), either None when there is none."""
    return list(_moved_firsts(*_tail_customers(tail())))


def stored_new_customers() -> dict[date, int]:
    return dict(RollupNewCustomersAll.objects.exclude(customers=0).values_list("day", "customers"))


def stored_referred_new() -> dict[date, int]:
    """``ReferredNewCustomersAll`` as the triggers left it, one figure per day, days of zero left out."""
    rows = ReferredNewCustomersAll.objects.values("day").annotate(n=Sum("customers")).values_list("day", "n")
    return {day: n for day, n in rows if n}


def referred_new_of_stored() -> dict[date, int]:
    """What ``ReferredNewCustomersAll`` should hold: the customers of ``RollupCustomerAll`` in ``ReferredMember``,
    by first day."""
    referred = ReferredMember.objects.values("user_id")
    rows = RollupCustomerAll.objects.filter(user_id__in=referred).values("first_day").annotate(n=Count("user_id"))
    return dict(rows.values_list("first_day", "n"))


def over_communities(rows: dict[tuple, tuple[int, ...]]) -> dict[tuple, tuple[int, ...]]:
    """Rows keyed (day, community, …) summed over communities — what ``RollupDayAll`` and ``ParcelDayAll`` hold,
    keyed (day, …) — rows of zeros left out."""
    found: dict[tuple, list[int]] = {}
    for (day, _community, *rest), values in rows.items():
        row = found.setdefault((day, *rest), [0] * len(values))
        for i, v in enumerate(values):
            row[i] += v
    return {k: tuple(v) for k, v in found.items() if any(v)}


def stored_all() -> dict[tuple[date, int], tuple[int, ...]]:
    rows = RollupDayAll.objects.values_list("day", "campaign_id", *SUMS)
    return {(r[0], r[1]): tuple(r[2:]) for r in rows if any(r[2:])}


def matches_recomputation() -> bool:
    """Both rollup tables equal the recomputation from the raw stream (PostgreSQL)."""
    again = recompute()
    firsts = recompute_customers()
    return (
        stored() == again
        and stored_all() == over_communities(again)
        and stored_customers() == firsts
        and stored_customers_all() == _earliest(firsts)
        and stored_new_customers() == new_customers_of(firsts)
        and stored_live_joiners() == recompute_live_joiners()
        and not live_joiners_watched_wrongly()
    )


def stored() -> dict[Key, tuple[int, ...]]:
    """The day rows as the worker left them, rows of zeros left out."""
    rows = RollupDay.objects.values_list("day", "community_id", "campaign_id", *SUMS)
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows if any(r[3:])}
