"""Dashboards benchmark: a year of events, the rollups' catch-up, every tile of the board through the pages'
code, and the tiles ClickHouse has as ClickHouse SQL in embedded ClickHouse (chdb) over the same data, in one run.

    .venv/bin/python bench/dashboards.py [--events 10000000] [--persons 200000] [--communities 1000] [--days 365]
                                         [--reads 20] [--chdb-reads 5] [--tile-budget 30] [--tiles KEY,...] [--keep]
                                         [--reuse]

The database is ``$BENCH_DASHBOARDS_DB`` (default ``groupbuy_bench_dashboards``) on the server of
``$BENCH_DATABASE_URL`` / ``$DATABASE_URL``; it is dropped and recreated. With ``--reuse``, a database kept by
an earlier ``--keep`` run is migrated (new migrations backfill their tables from the rows there) and timed
again without generating anything (steps 1–3 skipped; the generation flags must match that run's), and a kept
export is loaded again instead of written.

1. A PostgreSQL database of its own (migrated), and ``--events`` stream rows generated inside PostgreSQL with
   ``generate_series`` (seeded hashes of the row number, ``hashint8extended``: the same data every run):
   heartbeats, entries, comments, reservations, payments, and the rows the rollups fold — orders joined
   (12 %), amount changes, cancellations (a fifth of them written before their join), refunds, NPS answers,
   40 jielongs a day (10 opened by one of the day's two lives, one failing at the end of the day). Times
   spread over ``--days`` with up to ±30 min of disorder against the ids. Then, on top of ``--events``, the
   fulfilment rows for the parcels step 3 writes (``PARCELS_SQL``): the batch steps to the pickup point, 核销 and
   超时未取. The stream's secondary indexes are
   dropped for the load and rebuilt after it (as a bulk load would).
2. ``rollups_catch_up``: ``bi.rollups.catch_up`` over the whole stream — events/s.
3. The domain rows the other tiles read (:func:`generate_domain`, also in SQL and seeded): ``--persons``
   members with one membership each (two in three invited by an earlier member), ``--communities``
   communities, two ended lives a day each aimed at a tenth of the communities, the stream's jielongs (first-20
   perks on the live ones), and from the stream: watch records (the heartbeats' minutes per session and
   viewer), orders (one per member and jielong, cancelled as the stream says), refunds in the ledger, parcels.
   No reservations, comments, reviews or NPS survey rows: the monthly-active rate sees memberships, watch
   records and orders. Then each member's activity is computed again (``bi_member_activity_refill``: the stream was
   folded before its orders were rows) and ``VACUUM (ANALYZE)`` runs, as autovacuum would leave the loaded tables.
4. Every tile of the board (``bi.metrics.METRICS`` through ``bi.metrics.figures``, what ``bi.views`` calls,
   with ``BI_ROLLUPS`` on: the stream's rollups back gmv_gross, gmv_net, average_order_value, aov_live_lift and
   nps) over five scopes resolved by ``bi.scope.scope_resolve`` for an installation-wide operator (7 days of one
   community, 30 days, 90 days of one community, 365 days, one live session): the first read on a new
   connection (``cold``: the slowest scope's), then up to ``--reads`` more (``p95``: the slowest scope's p95,
   named by ``worst_scope``), fewer when a tile's warm reads pass ``--tile-budget`` seconds (at least two per
   scope; ``reads`` says how many were made).
5. ``bi.stream_export`` writes the stream by day (JSONEachRow), chdb loads it into a MergeTree table, and the
   tiles' ClickHouse SQL (``bi.clickhouse.TILES``) runs over it, timed the same way (the slowest scope's p95);
   its figures must equal ours.

The last line is one JSON object: ``events``, per tile ``{p95_ms, worst_scope, cold_ms, chdb_p95_ms, reads, value_30d}``
(``chdb_p95_ms`` null for a tile with no ClickHouse equivalent; those are listed in ``no_chdb`` and left out of
the ratio), ``max_p95_ms``, ``worst_ratio_to_chdb`` (the largest ours/chdb p95 over the tiles chdb has),
``over_50ms``, ``rollup_events_per_s``, ``chdb_equal``, the domain row counts and the phases' seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._harness import ROOT, bench_database_url, percentile, recreate_database

DB_NAME = os.environ.get("BENCH_DASHBOARDS_DB", "groupbuy_bench_dashboards")
SEED = 14
CAMPAIGNS_PER_DAY = 40
LIVE_PER_DAY = 10
BLOCK = 100  # the event mix repeats per block of 100 rows

# Row kinds by position in a block of 100.
GENERATE_SQL = """
INSERT INTO stream_event (uuid, name, occurred_at, received_at, user_id, person_id, distinct_id, source,
                          community_id, live_session_id, campaign_id, order_id, amount_fen, properties)
SELECT md5(%(seed)s || ':' || i)::uuid, name, at, at + interval '2 seconds', u, u, 'user:' || u, source,
       community_id, live_session_id, campaign_id, order_id, amount_fen, properties
FROM (
  SELECT i, k, u,
    CASE WHEN k < 12 THEN 'jielong.order_joined' WHEN k = 12 THEN 'jielong.order_cancelled'
         WHEN k = 13 THEN 'jielong.order_updated' WHEN k = 14 THEN 'jielong.refund_issued'
         WHEN k < 19 THEN 'jielong.order_paid' WHEN k < 21 THEN 'feedback.nps_answered'
         WHEN k < 81 THEN 'livestream.heartbeat' WHEN k < 89 THEN 'livestream.entered'
         WHEN k < 96 THEN 'livestream.commented' ELSE 'livestream.reserved' END AS name,
    CASE WHEN k < 21 THEN 'mall' ELSE 'live' END AS source,
    %(t0)s::timestamptz + (i * %(step)s) * interval '1 second'
      + ((h2 %% 3600) - 1800) * interval '1 second' AS at,
    CASE WHEN k < 21 THEN 1 + (abs(hashint8extended(t, %(seed)s + 2)) %% %(communities)s) END AS community_id,
    CASE WHEN k >= 21 THEN 1 + (floor(i * %(step)s / 86400)::bigint * 2) + (h2 %% 2) END AS live_session_id,
    CASE WHEN k < 21 THEN 1 + (floor(t * %(step)s / 86400)::bigint * %(per_day)s)
                           + abs(hashint8extended(t, %(seed)s + 4)) %% %(per_day)s END AS campaign_id,
    CASE WHEN k < 20 THEN t END AS order_id,
    CASE WHEN k < 12 THEN (5 + abs(hashint8extended(t, %(seed)s + 5)) %% 300) * 100
         WHEN k = 13 THEN (6 + abs(hashint8extended(t, %(seed)s + 5)) %% 300) * 100
         WHEN k = 14 THEN (1 + h2 %% 20) * 100
         WHEN k < 19 THEN (5 + abs(hashint8extended(t, %(seed)s + 5)) %% 300) * 100 END AS amount_fen,
    CASE WHEN k BETWEEN 19 AND 20 THEN jsonb_build_object('score', h2 %% 11, 'survey_id', i)
         WHEN k BETWEEN 21 AND 80 THEN '{"seconds_watched": 60}'::jsonb ELSE '{}'::jsonb END AS properties
  FROM (
    SELECT i, k, u, h2,
      -- the order a row is about: its own number for a join; else one of the block's joins (one in five of
      -- them in the next block: written before its join)
      CASE WHEN k < 12 THEN i
           ELSE (i / 100) * 100 + (CASE WHEN h2 %% 5 = 0 AND i / 100 < %(last_block)s THEN 100 ELSE 0 END)
                + h2 %% 12 END AS t
    FROM (
      SELECT i, (i %% 100)::int AS k, 1 + abs(hashint8extended(i, %(seed)s + 3)) %% %(persons)s AS u,
             abs(hashint8extended(i, %(seed)s + 1)) AS h2
      FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
    ) AS raw
  ) AS typed
) AS rows
"""

CAMPAIGNS_SQL = """
INSERT INTO stream_event (uuid, name, occurred_at, received_at, distinct_id, source, campaign_id, live_session_id,
                          properties)
SELECT md5(%(seed)s || ':' || %(name)s || ':' || c)::uuid, %(name)s,
       %(t0)s::timestamptz + (((c - 1) / %(per_day)s) * 86400 + %(offset)s) * interval '1 second',
       %(t0)s::timestamptz + (((c - 1) / %(per_day)s) * 86400 + %(offset)s) * interval '1 second',
       '', 'mall', c,
       CASE WHEN %(opened)s AND (c - 1) %% %(per_day)s < %(live)s
            THEN 1 + ((c - 1) / %(per_day)s) * 2 + ((c - 1) %% %(per_day)s) %% 2 END,
       '{}'::jsonb
FROM generate_series(1, %(campaigns)s) AS c
WHERE %(opened)s OR (c - 1) %% %(per_day)s = %(per_day)s - 1
"""

# A parcel per order the domain keeps (one per member and jielong, not cancelled), the same rule for its row
# (generate_domain) and its fulfilment events (PARCELS_SQL), from seeded hashes of the order id: delivered the day
# after the order, at the point at 09:00 (one in ten at 14:00); by ``pick``: picked up five hours later (< 80), at
# the point (< 90), not collected (< 95), still shipped.
PARCEL_PICK = "abs(hashint8extended({order}, %(seed)s + 9)) %% 100"
PARCEL_LATE = "abs(hashint8extended({order}, %(seed)s + 10)) %% 10 = 0"
PARCEL_DAY = "(({ordered} AT TIME ZONE 'Asia/Shanghai')::date + 1)"
PARCEL_AT_POINT = "(({day})::timestamp + CASE WHEN {late} THEN interval '14 hours' ELSE interval '9 hours' END) AT TIME ZONE 'Asia/Shanghai'"
PICKED_UP_BELOW, AT_PICKUP_BELOW, UNCOLLECTED_BELOW = 80, 90, 95
PICKED_UP_AFTER = "interval '5 hours'"

# Fulfilment's rows for those parcels: the batch steps to the pickup point (per delivery day, stop time and
# jielong), 核销, 超时未取 a day after the arrival. A step the data places after the generation (today's orders
# arrive tomorrow) is written as just done: a row received in the future would stay in every board's unfolded tail.
PARCELS_SQL = f"""
WITH o AS (
  SELECT order_id, campaign_id, user_id, community_id, {PARCEL_DAY.format(ordered="occurred_at")} AS day,
         {PARCEL_PICK.format(order="order_id")} AS pick, {PARCEL_LATE.format(order="order_id")} AS late
  FROM (SELECT DISTINCT ON (campaign_id, user_id) order_id, campaign_id, user_id, community_id, occurred_at
        FROM stream_event WHERE name = 'jielong.order_joined' ORDER BY campaign_id, user_id, id) AS j
  WHERE order_id NOT IN (SELECT order_id FROM stream_event WHERE name = 'jielong.order_cancelled')),
arrived AS (
  SELECT o.*, {PARCEL_AT_POINT.format(day="day", late="late")} AS at
  FROM o WHERE pick < {UNCOLLECTED_BELOW}),
rows AS (
  SELECT 1 AS step, 'fulfillment.parcels_moved' AS name, min(at) AS at, NULL::bigint AS user_id, NULL::bigint AS order_id,
         'moved:' || day || ':' || late || ':' || campaign_id AS key,
         jsonb_build_object('brand_id', 1, 'delivery_date', day, 'state', 'at_pickup', 'batch_move_id', NULL,
                            'order_ids', jsonb_agg(order_id ORDER BY order_id)) AS properties
  FROM arrived GROUP BY day, late, campaign_id
  UNION ALL
  SELECT 2, 'fulfillment.order_picked_up', at + {PICKED_UP_AFTER}, user_id, order_id, 'picked:' || order_id,
         jsonb_build_object('user_id', user_id, 'pickup_point_id', 1, 'handout_id', NULL, 'verified_by', NULL)
  FROM arrived WHERE pick < {PICKED_UP_BELOW}
  UNION ALL
  SELECT 3, 'fulfillment.order_uncollected', at + interval '1 day', user_id, order_id, 'uncollected:' || order_id,
         jsonb_build_object('user_id', user_id, 'pickup_point_id', 1)
  FROM arrived WHERE pick >= {AT_PICKUP_BELOW})
INSERT INTO stream_event (uuid, name, occurred_at, received_at, user_id, person_id, distinct_id, source, order_id,
                          properties)
SELECT md5(%(seed)s || ':' || key)::uuid, name, LEAST(at, now() - interval '1 minute'),
       LEAST(at + interval '2 seconds', now() - interval '1 minute'), user_id, user_id,
       COALESCE('user:' || user_id, ''), 'mall', order_id, properties
FROM rows ORDER BY LEAST(at, now()), step
"""


def generate(conn, *, events: int, persons: int, communities: int, days: int, t0) -> None:
    step = days * 86400 / events
    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'stream_event'::regclass AND contype = 'u'"
    ).fetchall()
    for name, _definition in constraints:
        conn.execute(f'ALTER TABLE stream_event DROP CONSTRAINT "{name}"')
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'stream_event' AND indexname NOT LIKE '%pkey'"
    ).fetchall()
    for name, _definition in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    common = {"seed": SEED, "t0": t0, "per_day": CAMPAIGNS_PER_DAY, "live": LIVE_PER_DAY}
    campaigns = (days + 1) * CAMPAIGNS_PER_DAY
    conn.execute(
        CAMPAIGNS_SQL,
        {**common, "name": "jielong.campaign_opened", "offset": 0, "opened": True, "campaigns": campaigns},
    )
    chunk = 1_000_000
    for lo in range(0, events, chunk):
        hi = min(events, lo + chunk) - 1
        conn.execute(
            GENERATE_SQL,
            {
                **common,
                "lo": lo,
                "hi": hi,
                "step": step,
                "communities": communities,
                "persons": persons,
                "last_block": (events - 1) // BLOCK,
            },
        )
        conn.commit()
    conn.execute(
        CAMPAIGNS_SQL,
        {**common, "name": "jielong.campaign_failed", "offset": 86000, "opened": False, "campaigns": campaigns},
    )
    conn.execute(PARCELS_SQL, common)
    for name, definition in constraints:
        conn.execute(f'ALTER TABLE stream_event ADD CONSTRAINT "{name}" {definition}')
    for _name, definition in indexes:
        conn.execute(definition)
    conn.execute("ANALYZE stream_event")
    conn.commit()


def _insert(conn, model, columns: dict[str, str], rest: str, params: dict) -> int:
    """``INSERT INTO <model's table> SELECT <columns> <rest>``; the model's other NOT NULL columns get their
    field default (or '' / now()), so the rows are what the app would have written."""
    from django.db import models
    from psycopg import sql

    names, exprs = [], []
    for field in model._meta.concrete_fields:
        if field.column in columns:
            names.append(field.column)
            exprs.append(columns[field.column])
        elif field.primary_key or field.null:
            continue
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            names.append(field.column)
            exprs.append("now()")
        else:
            default = field.get_default() if field.has_default() else ""
            if isinstance(field, models.DateTimeField) and not field.has_default():
                raise ValueError(f"{model.__name__}.{field.name} needs a value")
            if isinstance(default, str):
                default = str(default)
            names.append(field.column)
            exprs.append(sql.Literal(default).as_string(conn).replace("%", "%%"))
    text = f"INSERT INTO {model._meta.db_table} ({', '.join(names)}) SELECT {', '.join(exprs)} {rest}"
    return conn.execute(text, params).rowcount


def generate_domain(conn, *, persons: int, communities: int, days: int, t0) -> dict[str, int]:
    """The domain rows the other tiles read, in PostgreSQL, seeded like the stream: one brand, ``communities``
    communities, ``persons`` members (one membership each, two in three invited by an earlier member), two
    ended live sessions a day (each aimed at a tenth of the communities), the stream's 40 jielongs a day (the
    same ids and live sessions, first-20 perks on the live ones), and from the stream itself: a watch record per
    (session, viewer) with its heartbeats' minutes, the joined orders (one per member and jielong; cancelled
    when the stream cancelled them), refunds in the ledger, a parcel per order not cancelled (80 % picked up,
    1 in 10 at the point after noon; the parcel facts behind on-time delivery follow by their triggers)."""
    from community.models import Brand, Community, Membership, PickupPoint, User
    from fulfillment.models import Parcel
    from jielong.models import Campaign, LedgerEntry, Order
    from livestream.models import LiveSeries, LiveSession, WatchRecord

    p = {
        "seed": SEED,
        "t0": t0,
        "days": days,
        "persons": persons,
        "communities": communities,
        "per_day": CAMPAIGNS_PER_DAY,
        "live": LIVE_PER_DAY,
    }
    h = "abs(hashint8extended({x}, %(seed)s + {n}))"
    counts: dict[str, int] = {}
    _insert(conn, Brand, {"id": "1", "name": "'Bench'"}, "", p)
    counts["communities"] = _insert(
        conn,
        Community,
        {"id": "c", "brand_id": "1", "name": "'Community ' || c", "slug": "'c' || c"},
        "FROM generate_series(1, %(communities)s) AS c",
        p,
    )
    _insert(conn, PickupPoint, {"id": "1", "community_id": "1", "name": "'Point'"}, "", p)
    counts["users"] = _insert(
        conn,
        User,
        {"id": "u", "username": "'u' || u", "nickname": "'Member ' || u", "password": "'!'", "date_joined": "%(t0)s"},
        "FROM generate_series(1, %(persons)s) AS u",
        p,
    )
    _insert(
        conn,
        User,
        {
            "id": "%(persons)s + 1",
            "username": "'bench-operator'",
            "nickname": "'Operator'",
            "password": "'!'",
            "role": f"'{User.Role.OPERATOR}'",
            "date_joined": "%(t0)s",
        },
        "",
        p,
    )
    counts["memberships"] = _insert(
        conn,
        Membership,
        {
            "user_id": "u",
            "community_id": "1 + (u * 7919) %% %(communities)s",
            "status": f"'{Membership.Status.ACTIVE}'",
            "invited_by_id": f"CASE WHEN u > 100 AND u %% 3 <> 0 THEN 1 + {h.format(x='u', n=6)} %% (u - 1) END",
            "joined_at": "%(t0)s::timestamptz + (u::float / %(persons)s * %(days)s / 2) * interval '1 day'",
            "last_active_at": f"%(t0)s::timestamptz + ({h.format(x='u', n=7)} %% (%(days)s * 86400)) * interval '1 second'",
        },
        "FROM generate_series(1, %(persons)s) AS u",
        p,
    )
    _insert(conn, LiveSeries, {"id": "1", "brand_id": "1", "title": "'Bench lives'"}, "", p)
    start = "%(t0)s::timestamptz + ((s - 1) / 2) * interval '1 day' + ((s - 1) %% 2) * interval '12 hours'"
    counts["sessions"] = _insert(
        conn,
        LiveSession,
        {
            "id": "s",
            "series_id": "1",
            "title": "'Live ' || s",
            "status": f"'{LiveSession.Status.ENDED}'",
            "scheduled_start": start,
            "scheduled_end": f"{start} + interval '12 hours'",
            "started_at": start,
            "ended_at": f"{start} + interval '12 hours'",
            "peak_online": f"100 + {h.format(x='s', n=8)} %% 900",
        },
        "FROM generate_series(1, 2 * (%(days)s + 1)) AS s",
        p,
    )
    conn.execute(
        "INSERT INTO livestream_livesession_communities (livesession_id, community_id) SELECT s, c "
        "FROM generate_series(1, 2 * (%(days)s + 1)) AS s, generate_series(1, %(communities)s) AS c "
        "WHERE (s + c) %% 10 = 0",
        p,
    )
    counts["watch_records"] = _insert(
        conn,
        WatchRecord,
        {
            "session_id": "live_session_id",
            "user_id": "user_id",
            "first_seen_at": "min(occurred_at)",
            "last_seen_at": "max(occurred_at) + interval '1 minute'",
            "seconds_watched": "60 * count(*)",
        },
        "FROM stream_event WHERE name = 'livestream.heartbeat' GROUP BY live_session_id, user_id",
        p,
    )
    opens = "%(t0)s::timestamptz + ((c - 1) / %(per_day)s) * interval '1 day'"
    live = "(c - 1) %% %(per_day)s < %(live)s"
    counts["campaigns"] = _insert(
        conn,
        Campaign,
        {
            "id": "c",
            "brand_id": "1",
            "title": "'Jielong ' || c",
            "status": f"'{Campaign.Status.COMPLETED}'",
            "live_session_id": f"CASE WHEN {live} THEN 1 + ((c - 1) / %(per_day)s) * 2 + ((c - 1) %% %(per_day)s) %% 2 END",
            "perk_limit": f"CASE WHEN {live} THEN 20 ELSE 0 END",
            "opens_at": opens,
            "closes_at": f"{opens} + interval '1 day'",
        },
        "FROM generate_series(1, (%(days)s + 1) * %(per_day)s) AS c",
        p,
    )
    conn.execute(
        "INSERT INTO jielong_campaign_communities (campaign_id, community_id) SELECT c, 1 + c %% %(communities)s "
        "FROM generate_series(1, (%(days)s + 1) * %(per_day)s) AS c",
        p,
    )
    counts["orders"] = _insert(
        conn,
        Order,
        {
            "id": "order_id",
            "campaign_id": "campaign_id",
            "user_id": "user_id",
            "community_id": "community_id",
            "seq": "order_id",
            "status": f"CASE WHEN cancelled THEN '{Order.Status.CANCELLED}' ELSE '{Order.Status.JOINED}' END",
            "is_perk": "live AND rank <= 25",
            "total_fen": "amount_fen",
            "created_at": "occurred_at",
            "updated_at": "occurred_at",
        },
        """FROM (
             SELECT j.*, j.order_id IN (SELECT x.order_id FROM stream_event x
                                        WHERE x.name = 'jielong.order_cancelled') AS cancelled,
                    (j.campaign_id - 1) %% %(per_day)s < %(live)s AS live,
                    row_number() OVER (PARTITION BY j.campaign_id ORDER BY j.occurred_at) AS rank
             FROM (SELECT DISTINCT ON (campaign_id, user_id) order_id, campaign_id, user_id, community_id,
                          amount_fen, occurred_at
                   FROM stream_event WHERE name = 'jielong.order_joined'
                   ORDER BY campaign_id, user_id, id) AS j) AS o""",
        p,
    )
    counts["refunds"] = _insert(
        conn,
        LedgerEntry,
        {
            "kind": f"'{LedgerEntry.Kind.REFUND}'",
            "amount_fen": "e.amount_fen",
            "order_id": "e.order_id",
            "provider": "'bench'",
            "key": "'bench-refund:' || e.id",
            "created_at": "e.occurred_at",
        },
        "FROM stream_event e JOIN jielong_order o ON o.id = e.order_id WHERE e.name = 'jielong.refund_issued'",
        p,
    )
    day = PARCEL_DAY.format(ordered="o.created_at")
    at_point = PARCEL_AT_POINT.format(day=day, late="late")
    state = (
        f"CASE WHEN pick < {PICKED_UP_BELOW} THEN '{Parcel.State.PICKED_UP}' "
        f"WHEN pick < {AT_PICKUP_BELOW} THEN '{Parcel.State.AT_PICKUP}' "
        f"WHEN pick < {UNCOLLECTED_BELOW} THEN '{Parcel.State.UNCOLLECTED}' ELSE '{Parcel.State.SHIPPED}' END"
    )
    counts["parcels"] = _insert(
        conn,
        Parcel,
        {
            "order_id": "o.id",
            "brand_id": "1",
            "delivery_date": day,
            "pickup_point_id": "1",
            "state": state,
            "state_changed_at": "o.created_at",
            "at_pickup_at": f"CASE WHEN pick < {UNCOLLECTED_BELOW} THEN {at_point} END",
            "picked_up_at": f"CASE WHEN pick < {PICKED_UP_BELOW} THEN {at_point} + {PICKED_UP_AFTER} END",
        },
        f"FROM (SELECT o.*, {PARCEL_PICK.format(order='o.id')} AS pick, {PARCEL_LATE.format(order='o.id')} AS late "
        f"FROM jielong_order o WHERE o.status <> '{Order.Status.CANCELLED}') AS o",
        p,
    )
    for table in (
        "community_user",
        "community_community",
        "community_membership",
        "livestream_livesession",
        "livestream_watchrecord",
        "jielong_campaign",
        "jielong_order",
        "jielong_ledgerentry",
        "fulfillment_parcel",
        "community_brand",
        "community_pickuppoint",
        "livestream_liveseries",
    ):
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM {table}))"
        ) if table != "fulfillment_parcel" else None
    conn.execute("ANALYZE")
    conn.commit()
    return counts


def _kept(url: str) -> bool:
    """Whether a database kept by an earlier run exists and holds a generated stream and domain rows."""
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            return bool(
                conn.execute(
                    "SELECT to_regclass('stream_event') IS NOT NULL AND to_regclass('livestream_watchrecord') IS NOT NULL"
                ).fetchone()[0]
                and conn.execute("SELECT EXISTS (SELECT 1 FROM livestream_watchrecord)").fetchone()[0]
            )
    except Exception:
        return False


def _domain_counts(conn) -> dict[str, int]:
    tables = {
        "communities": "community_community",
        "users": "community_user",
        "memberships": "community_membership",
        "sessions": "livestream_livesession",
        "watch_records": "livestream_watchrecord",
        "campaigns": "jielong_campaign",
        "orders": "jielong_order",
        "refunds": "jielong_ledgerentry",
        "parcels": "fulfillment_parcel",
    }
    counts = {key: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for key, table in tables.items()}
    counts["users"] -= 1  # the operator
    return counts


def _plain(value):
    return round(value, 4) if isinstance(value, float) else value


def timed(fn, reads: int, budget_s: float | None = None) -> tuple[float, list[float], object]:
    """(first read ms, the next reads' ms, the value). With ``budget_s``, the warm reads stop once they have
    taken that long (at least two are made), so a slow tile does not hold the run for minutes."""
    started = time.perf_counter()
    value = fn()
    cold = (time.perf_counter() - started) * 1000
    warm = []
    for _ in range(reads):
        started = time.perf_counter()
        fn()
        warm.append((time.perf_counter() - started) * 1000)
        if budget_s is not None and len(warm) >= 2 and sum(warm) > budget_s * 1000:
            break
    return cold, warm, value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=" ".join(__doc__.split("\n\n")[0].split()),
        epilog="The database is $BENCH_DASHBOARDS_DB (default groupbuy_bench_dashboards), dropped and recreated.",
    )
    parser.add_argument("--events", type=int, default=10_000_000, help="stream rows to generate (default 10,000,000)")
    parser.add_argument("--persons", type=int, default=200_000, help="members (default 200,000)")
    parser.add_argument("--communities", type=int, default=1000, help="communities (default 1,000)")
    parser.add_argument("--days", type=int, default=365, help="days of history ending today (default 365)")
    parser.add_argument("--reads", type=int, default=20, help="warm reads per tile and scope (default 20)")
    parser.add_argument("--chdb-reads", type=int, default=5, help="warm reads per chdb tile and scope (default 5)")
    parser.add_argument(
        "--tile-budget",
        type=float,
        default=30.0,
        help="seconds of warm reads per tile (over its five scopes) before it stops early (default 30)",
    )
    parser.add_argument("--tiles", default="", help="comma-separated metric keys (default: every tile of the board)")
    parser.add_argument("--keep", action="store_true", help="keep the generated database and export")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time a database (and export) kept by an earlier --keep run again, without generating (same flags)",
    )
    args = parser.parse_args()

    url = bench_database_url(DB_NAME)
    reuse = args.reuse and _kept(url)
    if not reuse:
        recreate_database(url)
    os.environ.update(
        DATABASE_URL=url, DJANGO_SETTINGS_MODULE="groupbuy.settings.local", BI_ROLLUPS="true", DEBUG="false"
    )
    os.chdir(ROOT)
    import django

    django.setup()
    import psycopg
    from django.core.management import call_command
    from django.db import connection

    from bi import clickhouse, rollups, stream_export
    from bi.metrics import METRICS, figures
    from bi.scope import Scope, scope_resolve
    from groupbuy import clock

    call_command("migrate", verbosity=0)
    today = clock.localdate()
    first_day = today - timedelta(days=args.days)
    t0 = clock.localtime().replace(year=first_day.year, month=first_day.month, day=first_day.day, hour=0, minute=0)
    t0 = t0.replace(second=0, microsecond=0)

    generate_s = domain_s = rate = 0.0
    if reuse:
        with psycopg.connect(url) as conn:
            total = conn.execute("SELECT count(*) FROM stream_event").fetchone()[0]
            domain = _domain_counts(conn)
        print(f"reusing {DB_NAME}: {total} events, domain rows {domain}", flush=True)
        with psycopg.connect(url) as conn:  # kept by a run from before the stream had fulfilment's rows
            if not conn.execute(
                "SELECT EXISTS (SELECT 1 FROM stream_event WHERE name LIKE 'fulfillment.%')"
            ).fetchone()[0]:
                added = conn.execute(PARCELS_SQL, {"seed": SEED}).rowcount
                print(f"added fulfilment's rows for the parcels: {added} events", flush=True)
        # A migration that changed the rollups empties them and moves the cursor back: fold the stream again.
        started = time.monotonic()
        passed = rollups.catch_up(settle=timedelta(0), max_batches=None)
        if passed:
            rate = passed / (time.monotonic() - started)
            print(f"rollups caught up: {passed} events ({rate:,.0f} events/s)", flush=True)
    else:
        started = time.monotonic()
        with psycopg.connect(url) as conn:
            conn.execute("SET max_parallel_workers_per_gather = 0")
            generate(
                conn, events=args.events, persons=args.persons, communities=args.communities, days=args.days, t0=t0
            )
            total = conn.execute("SELECT count(*) FROM stream_event").fetchone()[0]
        generate_s = time.monotonic() - started
        print(f"generated {total} events in {generate_s:.0f} s", flush=True)

        started = time.monotonic()
        passed = rollups.catch_up(settle=timedelta(0), max_batches=None)
        catch_up_s = time.monotonic() - started
        rate = passed / catch_up_s if catch_up_s else 0.0
        print(f"rollups caught up: {passed} events in {catch_up_s:.1f} s ({rate:,.0f} events/s)", flush=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE bi_rollup_day, bi_rollup_day_all, bi_rollup_campaign, bi_rollup_order, bi_rollup_customer, "
                "bi_rollup_new_customers_all"
            )

        started = time.monotonic()
        with psycopg.connect(url) as conn:
            domain = generate_domain(conn, persons=args.persons, communities=args.communities, days=args.days, t0=t0)
        domain_s = time.monotonic() - started
        print(f"domain rows {domain} in {domain_s:.0f} s", flush=True)
        # The stream was folded before its orders were rows: the fold's refresh of the joiners' activity found no
        # members then. What `rollups_rebuild` does after a bulk load.
        started = time.monotonic()
        rollups.refill_member_activity()
        print(f"member activity refilled in {time.monotonic() - started:.0f} s", flush=True)

    # Vacuumed and analysed, as autovacuum leaves a loaded table: the visibility map lets the plans read
    # index-only (a freshly bulk-written table has none, and every index read would visit the heap).
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")

    # The scopes as the board resolves them (bi.scope.scope_resolve: the pickers of an installation-wide operator).
    from community.models import User

    viewer = User.objects.get(username="bench-operator")

    def scope(days: int, **pickers) -> Scope:
        return scope_resolve(viewer=viewer, since=today - timedelta(days=days - 1), until=today, today=today, **pickers)

    scopes = {
        "7d_one_community": scope(7, community_id=1),
        "30d_all": scope(30),
        "90d_one_community": scope(90, community_id=10),
        "365d_all": scope(365),
        "one_session": scope(1, session_id=1 + (args.days - 10) * 2),
    }
    ours: dict[str, dict] = {}
    values: dict[tuple[str, str], object] = {}
    tiles = list(args.tiles.split(",")) if args.tiles else list(METRICS)
    for key in tiles:
        colds, p95s = [], {}
        reads = 0
        for name, s in scopes.items():
            connection.close()  # a new connection: the first read pays for it and its plans
            # metrics.figures(scope, (key,)): what the board (bi.views._board_figures) calls for every tile
            cold, warm, value = timed(
                lambda key=key, s=s: figures(s, (key,))[key], args.reads, args.tile_budget / len(scopes)
            )
            colds.append(cold)
            p95s[name] = percentile(warm, 95)
            reads += len(warm)
            values[(key, name)] = value
        worst = max(p95s, key=p95s.get)
        ours[key] = {
            "p95_ms": round(p95s[worst], 2),
            "worst_scope": worst,
            "cold_ms": round(max(colds), 2),
            "chdb_p95_ms": None,
            "reads": reads,
            "value_30d": _plain(values[(key, "30d_all")].value),
        }
        print(f"{key}: p95 {ours[key]['p95_ms']} ms, cold {ours[key]['cold_ms']} ms", flush=True)

    out = Path(os.environ.get("BENCH_TMP", "/tmp/groupbuy-bench")) / "dashboards-export"
    export_s = 0.0
    if reuse and any(out.glob("day=*/events.jsonl")):
        print(f"reusing the export in {out}", flush=True)
    else:
        shutil.rmtree(out, ignore_errors=True)
        started = time.monotonic()
        written = stream_export.export(out)
        export_s = time.monotonic() - started
        print(
            f"exported {sum(written.values())} events in {len(written)} day partitions in {export_s:.0f} s", flush=True
        )

    from chdb import session as chdb_session

    ch = chdb_session.Session()
    started = time.monotonic()
    clickhouse.load(ch, str(out))
    load_s = time.monotonic() - started
    print(f"chdb loaded the export in {load_s:.0f} s", flush=True)
    equal = True
    for key in (k for k in clickhouse.TILES if k in ours):
        p95s = {}
        for name, s in scopes.items():
            _cold, warm, value = timed(lambda key=key, s=s: clickhouse.tile(ch, key, s), args.chdb_reads)
            p95s[name] = percentile(warm, 95)
            if value != values[(key, name)]:
                equal = False
                print(f"DIFFERENT {key} {name}: ours {values[(key, name)]} chdb {value}", flush=True)
        ours[key]["chdb_p95_ms"] = round(max(p95s.values()), 2)
        print(f"{key}: chdb p95 {ours[key]['chdb_p95_ms']} ms", flush=True)
    ch.close()
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)

    compared = [t for t in ours.values() if t["chdb_p95_ms"]]
    result = {
        "events": total,
        "reused": bool(reuse),
        "tiles": ours,
        "max_p95_ms": max(t["p95_ms"] for t in ours.values()),
        "worst_ratio_to_chdb": round(max(t["p95_ms"] / t["chdb_p95_ms"] for t in compared), 3) if compared else None,
        "no_chdb": [key for key, t in ours.items() if t["chdb_p95_ms"] is None],
        "over_50ms": [key for key, t in ours.items() if t["p95_ms"] > 50],
        "domain_rows": domain,
        "domain_s": round(domain_s),
        "rollup_events_per_s": round(rate),
        "chdb_equal": equal,
        "generate_s": round(generate_s),
        "export_s": round(export_s),
        "chdb_load_s": round(load_s),
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
