"""Dashboards benchmark: a year of events, the rollups' catch-up, every stream-backed tile through the pages'
code, and the same tiles as ClickHouse SQL in embedded ClickHouse (chdb) over the same data, in one run.

    .venv/bin/python bench/dashboards.py [--events 10000000] [--persons 200000] [--communities 1000] [--days 365]

1. A PostgreSQL database of its own (migrated), and ``--events`` stream rows generated inside PostgreSQL with
   ``generate_series`` (seeded hashes of the row number, ``hashint8extended``: the same data every run):
   heartbeats, entries, comments, reservations, payments, and the rows the rollups fold — orders joined
   (12 %), amount changes, cancellations (a fifth of them written before their join), refunds, NPS answers,
   40 jielongs a day (10 opened by one of the day's two lives, one failing at the end of the day). Times
   spread over ``--days`` with up to ±30 min of disorder against the ids. The stream's secondary indexes are
   dropped for the load and rebuilt after it (as a bulk load would).
2. ``rollups_catch_up``: ``bi.rollups.catch_up`` over the whole stream — events/s.
3. Each stream-backed tile (``bi.metrics``, with ``BI_ROLLUPS`` on: the code path the board runs) over five
   scopes (7/30/90/365 days, all or some communities, one live session): the first read on a new
   connection (``cold``), then ``--reads`` more (``p95``).
4. ``bi.stream_export`` writes the stream by day (JSONEachRow), chdb loads it into a MergeTree table, and the
   tiles' ClickHouse SQL (``bi.clickhouse``) runs over it, timed the same way; its figures must equal ours.

The last line is one JSON object: ``events``, per tile ``{p95_ms, cold_ms, chdb_p95_ms}``, ``max_p95_ms``,
``worst_ratio_to_chdb`` (the largest ours/chdb p95 over the tiles), ``rollup_events_per_s``, ``chdb_equal``.
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

DB_NAME = "groupbuy_bench_dashboards"
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
      FROM generate_series(%(lo)s, %(hi)s) AS i
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
    for name, definition in constraints:
        conn.execute(f'ALTER TABLE stream_event ADD CONSTRAINT "{name}" {definition}')
    for _name, definition in indexes:
        conn.execute(definition)
    conn.execute("ANALYZE stream_event")
    conn.commit()


def timed(fn, reads: int) -> tuple[float, list[float], object]:
    """(first read ms, the next reads' ms, the value)."""
    started = time.perf_counter()
    value = fn()
    cold = (time.perf_counter() - started) * 1000
    warm = []
    for _ in range(reads):
        started = time.perf_counter()
        fn()
        warm.append((time.perf_counter() - started) * 1000)
    return cold, warm, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--communities", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--reads", type=int, default=20)
    parser.add_argument("--chdb-reads", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the generated database and export")
    args = parser.parse_args()

    url = bench_database_url(DB_NAME)
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
    from bi.metrics import METRICS
    from bi.scope import Scope
    from groupbuy import clock

    call_command("migrate", verbosity=0)
    today = clock.localdate()
    first_day = today - timedelta(days=args.days)
    t0 = clock.localtime().replace(year=first_day.year, month=first_day.month, day=first_day.day, hour=0, minute=0)
    t0 = t0.replace(second=0, microsecond=0)

    started = time.monotonic()
    with psycopg.connect(url) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        generate(conn, events=args.events, persons=args.persons, communities=args.communities, days=args.days, t0=t0)
        total = conn.execute("SELECT count(*) FROM stream_event").fetchone()[0]
    generate_s = time.monotonic() - started
    print(f"generated {total} events in {generate_s:.0f} s", flush=True)

    started = time.monotonic()
    passed = rollups.catch_up(settle=timedelta(0), max_batches=None)
    catch_up_s = time.monotonic() - started
    rate = passed / catch_up_s if catch_up_s else 0.0
    print(f"rollups caught up: {passed} events in {catch_up_s:.1f} s ({rate:,.0f} events/s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE bi_rollup_day, bi_rollup_day_all, bi_rollup_campaign, bi_rollup_order")

    def scope(days: int, communities=None, sessions=()) -> Scope:
        return Scope(today - timedelta(days=days - 1), today, communities, tuple(sessions), bool(sessions), "", {})

    scopes = {
        "7d_one_community": scope(7, (1,)),
        "30d_all": scope(30),
        "90d_ten_communities": scope(90, tuple(range(1, 11))),
        "365d_all": scope(365),
        "one_session": scope(1, sessions=(1 + (args.days - 10) * 2,)),
    }
    ours: dict[str, dict] = {}
    values: dict[tuple[str, str], object] = {}
    for key in clickhouse.TILES:
        colds, warms = [], []
        for name, s in scopes.items():
            connection.close()  # a new connection: the first read pays for it and its plans
            cold, warm, value = timed(lambda key=key, s=s: METRICS[key].compute(s), args.reads)
            colds.append(cold)
            warms += warm
            values[(key, name)] = value
        ours[key] = {"p95_ms": round(percentile(warms, 95), 2), "cold_ms": round(max(colds), 2)}
        print(f"{key}: p95 {ours[key]['p95_ms']} ms, cold {ours[key]['cold_ms']} ms", flush=True)

    out = Path(os.environ.get("BENCH_TMP", "/tmp/groupbuy-bench")) / "dashboards-export"
    shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    written = stream_export.export(out)
    export_s = time.monotonic() - started
    print(f"exported {sum(written.values())} events in {len(written)} day partitions in {export_s:.0f} s", flush=True)

    from chdb import session as chdb_session

    ch = chdb_session.Session()
    started = time.monotonic()
    clickhouse.load(ch, str(out))
    load_s = time.monotonic() - started
    print(f"chdb loaded the export in {load_s:.0f} s", flush=True)
    equal = True
    for key in clickhouse.TILES:
        warms = []
        for name, s in scopes.items():
            _cold, warm, value = timed(lambda key=key, s=s: clickhouse.tile(ch, key, s), args.chdb_reads)
            warms += warm
            if value != values[(key, name)]:
                equal = False
                print(f"DIFFERENT {key} {name}: ours {values[(key, name)]} chdb {value}", flush=True)
        ours[key]["chdb_p95_ms"] = round(percentile(warms, 95), 2)
        print(f"{key}: chdb p95 {ours[key]['chdb_p95_ms']} ms", flush=True)
    ch.close()
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)

    result = {
        "events": total,
        "tiles": ours,
        "max_p95_ms": max(t["p95_ms"] for t in ours.values()),
        "worst_ratio_to_chdb": round(max(t["p95_ms"] / t["chdb_p95_ms"] for t in ours.values()), 3),
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
