"""Fulfilment benchmark: one brand's delivery day of 100,000 orders, split, documented and picked up.

    .venv/bin/python bench/fulfilment.py [--orders 100000] [--campaigns 50] [--suppliers 20] [--points 500]
                                         [--routes 25] [--leaders 50] [--codes-per-leader 20]

It makes a PostgreSQL database of its own (``gb_bench`` on the server of DATABASE_URL), migrates it and
generates the day with set-based SQL (``generate_series``): ~300,000 order lines over 50 formed campaigns,
20 suppliers' SKUs in three temperature zones, 500 pickup points on 25 routes from 2 city warehouses. Then:

- ``split_s``: ``fulfillment.split.split_day`` on the day, a first split (the day's tables empty);
- ``floor_s``: the plain SQL GROUP BYs that give the same pick, route and hand-out lists, written into a
  scratch table (no ORM, no codes, no parcels, no documents); ``split_ratio = split_s / floor_s``.
  On a shared machine one pair of timings can be ±15 % apart from the next for the same work, so the
  split and the floor are timed ``--pairs`` times (3), each split a first split again (the day's split
  tables emptied before it) right before its floor: ``split_s``, ``floor_s`` and ``split_ratio`` are the
  medians (the ratio's of the pairs), every sample is printed too (``split_samples``, ``floor_samples``),
  and ``split_first_s`` is the very first split, right after the day was generated. Each timing starts
  after a CHECKPOINT (``checkpointed``: false when the role may not), so that neither pays for the dirty
  pages of what ran before it;
- ``documents_s`` / ``documents_peak_mb``: every xlsx of the day (pick list per supplier, inbound per
  warehouse, loading list and crate labels per route, hand-out list and hand-out labels per point), shared
  by ``--document-workers`` child processes at once (2: the app's worker processes, serving the day's
  downloads), after the statistics refresh a big split queues; the slowest child's wall time, and the
  largest peak RSS (``getrusage``) of a child; ``documents_cpu_s`` is their CPU time together;
- ``verify_p99_ms``: 50 leaders at 50 points verify distinct codes at the same time
  (``fulfillment.pickup.verify_pickup``), a thread each with its own connection, spread over 2 processes as
  over the app's 2 worker processes; each leader pauses ``--think-ms`` (3 s ± half) between members — a
  real counter takes 10 s or more per member; ``--think-ms 0`` verifies back to back. p50/p99 are of the
  warm verifications: each leader's first one (its thread opens its database connection; the process loads
  translations, URLs, the task queue's connection — what an app worker has done by its first few requests)
  is reported apart as ``verify_cold_p50_ms`` / ``verify_cold_max_ms``;
- ``double_verifications``: leaders and their 核销员 race on the same codes (4 phones per code, released
  together); a code verified more than once counts.

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta

import psycopg

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._harness import PYTHON, ROOT, app_env, bench_database_url, manage, percentile, recreate_database

# BENCH_DB_NAME: another name, so two runs (or two checkouts) on one server keep out of each other's way.
DB_NAME = os.environ.get("BENCH_DB_NAME", "gb_bench")
ZONES = ("ambient", "chilled", "frozen")
MEMBER_BASE = 100_000  # member user ids start here; the operator is 1, leaders and verifiers follow it


def generate(database_url: str, args, delivery_date: date) -> dict:
    """The day, in set-based SQL on a fresh database (explicit ids, sequences moved past them at the end)."""
    p = {
        "orders": args.orders,
        "campaigns": args.campaigns,
        "suppliers": args.suppliers,
        "skus": args.suppliers * 10,
        "points": args.points,
        "routes": args.routes,
        "members": args.members,
        "day": delivery_date,
        "mb": MEMBER_BASE,
    }
    statements = [
        "INSERT INTO community_brand (id, name, slogan, created_at) VALUES (1, '源味集', '', now())",
        """INSERT INTO community_user (id, password, is_superuser, username, nickname, email, role, is_staff, is_active,
               date_joined, privacy_notice_version, session_epoch) VALUES (1, '!', false, 'bench-operator', '运营', '', 'operator', false, true, now(), '', 0)""",
        # one leader per point (ids 2..), one 核销员 per point (ids 2 + points ..)
        """INSERT INTO community_user (id, password, is_superuser, phone, nickname, email, role, is_staff, is_active,
               date_joined, privacy_notice_version, session_epoch)
           SELECT 1 + n, '!', false, '+86136' || lpad(n::text, 8, '0'), '团长' || n, '', 'member', false, true, now(), '', 0
           FROM generate_series(1, %(points)s) n""",
        """INSERT INTO community_user (id, password, is_superuser, phone, nickname, email, role, is_staff, is_active,
               date_joined, privacy_notice_version, session_epoch)
           SELECT 1 + %(points)s + n, '!', false, '+86135' || lpad(n::text, 8, '0'), '核销员' || n, '', 'member', false,
                  true, now(), '', 0
           FROM generate_series(1, %(points)s) n""",
        """INSERT INTO community_user (id, password, is_superuser, phone, nickname, email, role, is_staff, is_active,
               date_joined, privacy_notice_version, session_epoch)
           SELECT %(mb)s + n, '!', false, '+86139' || lpad(n::text, 8, '0'), '邻居' || n, '', 'member', false, true, now(), '', 0
           FROM generate_series(1, %(members)s) n""",
        """INSERT INTO community_community (id, name, slug, positioning, capacity, join_gate, is_active, created_at, brand_id)
           SELECT c, '社群' || c, 'bench-' || c, '', 500, 'open', true, now(), 1
           FROM generate_series(1, (%(points)s + 9) / 10) c""",
        """INSERT INTO community_pickuppoint (id, name, address, opening_hours, capacity, is_active, community_id, leader_id)
           SELECT p, '自提点' || p, '幸福小区' || p || '号楼', '10:00–20:00', 500, true, (p - 1) / 10 + 1, 1 + p
           FROM generate_series(1, %(points)s) p""",
        """INSERT INTO fulfillment_pointverifier (pickup_point_id, user_id, added_by_id, added_at)
           SELECT p, 1 + %(points)s + p, 1, now() FROM generate_series(1, %(points)s) p""",
        """INSERT INTO catalogue_supplier (id, name, region, contact_name, contact_phone, story, brand_id, cutoff_time,
               lead_time_days)
           SELECT s, '农场' || s, '', '', '', '', 1, '22:00', 1 FROM generate_series(1, %(suppliers)s) s""",
        """INSERT INTO catalogue_product (id, name, description, storage, image, is_active, supplier_id)
           SELECT k, '商品' || k, '', (ARRAY['ambient','chilled','frozen'])[k %% 3 + 1], '', true, (k - 1) / 10 + 1
           FROM generate_series(1, %(skus)s) k""",
        """INSERT INTO catalogue_sku (id, code, spec, list_price_fen, stock, is_active, product_id, unit, pack_unit,
               units_per_pack, zone)
           SELECT k, 'B' || lpad(k::text, 4, '0'), '{"规格": "500g"}', 1290, 1000000, true, k, '份', '箱',
                  (ARRAY[6, 10, 12, 20, 24])[k %% 5 + 1], (ARRAY['ambient','chilled','frozen'])[k %% 3 + 1]
           FROM generate_series(1, %(skus)s) k""",
        """INSERT INTO fulfillment_warehouse (id, name, city, address, is_active, brand_id)
           VALUES (1, '浦东城市仓', '上海', '浦东新区', true, 1), (2, '闵行城市仓', '上海', '闵行区', true, 1)""",
        """INSERT INTO fulfillment_route (id, name, driver_name, driver_phone, vehicle_plate, zones, departs_at, is_active,
               brand_id, warehouse_id)
           SELECT r, '线路' || r, '司机' || r, '+86137' || lpad(r::text, 8, '0'), '沪A' || r,
                  '["ambient", "chilled", "frozen"]', '06:00', true, 1, 1 + r %% 2
           FROM generate_series(1, %(routes)s) r""",
        """INSERT INTO fulfillment_routestop (id, position, pickup_point_id, route_id)
           SELECT p, (p - 1) / %(routes)s + 1, p, (p - 1) %% %(routes)s + 1 FROM generate_series(1, %(points)s) p""",
        """INSERT INTO jielong_campaign (id, title, story, status, group_threshold, perk_limit, perk_description,
               closes_at, delivery_note, joined_count, perk_taken, next_seq, version, created_at, brand_id,
               payment_method, koc_early_minutes, min_spend_fen, replay_url, formed_at)
           SELECT c, '接龙' || c, '', 'formed', 10, 0, '', now() - interval '1 hour', '', 0, 0, 1, 1, now(), 1,
                  'pay_at_pickup', 0, 0, '', now() - interval '2 hours'
           FROM generate_series(1, %(campaigns)s) c""",
        """INSERT INTO jielong_campaign_communities (campaign_id, community_id)
           SELECT c, m FROM generate_series(1, %(campaigns)s) c, generate_series(1, (%(points)s + 9) / 10) m""",
        # six items per campaign, six distinct SKUs
        """INSERT INTO jielong_campaignitem (id, price_fen, per_member_limit, position, campaign_id, sku_id)
           SELECT (c - 1) * 6 + k + 1, 990, 0, k, c, ((c - 1) * 6 + k * 7) %% %(skus)s + 1
           FROM generate_series(1, %(campaigns)s) c, generate_series(0, 5) k""",
        "INSERT INTO fulfillment_campaigndelivery (campaign_id, delivery_date, split_version) "
        "SELECT c, %(day)s, 0 FROM generate_series(1, %(campaigns)s) c",
        # order i: campaign (i-1) %% C + 1, its k-th joiner; members distinct within a campaign (31 ⟂ members);
        # a member always collects at the same point, so orders of several campaigns merge into one hand-out.
        """INSERT INTO jielong_order (id, seq, status, payment_status, is_perk, total_fen, note, idempotency_key,
               created_at, campaign_id, community_id, user_id, leader_note, refunded_fen, pickup_point_id)
           SELECT i, k + 1, 'joined', 'paid', false, 0, '', '', now() - interval '3 hours', c,
                  (pt - 1) / 10 + 1, u, '', 0, pt
           FROM (SELECT i, (i - 1) %% %(campaigns)s + 1 AS c, (i - 1) / %(campaigns)s AS k FROM generate_series(1, %(orders)s) i) o
           CROSS JOIN LATERAL (SELECT %(mb)s + 1 + ((k * 31 + c * 1009) %% %(members)s) AS u) m
           CROSS JOIN LATERAL (SELECT (u %% %(points)s) + 1 AS pt) q""",
        # 1..5 lines per order (3 on average), distinct items, 1..3 units each
        """INSERT INTO jielong_orderline (quantity, unit_price_fen, item_id, order_id)
           SELECT 1 + (i * 13 + j * 5) %% 3, 990, ((i - 1) %% %(campaigns)s) * 6 + (i + j) %% 6 + 1, i
           FROM generate_series(1, %(orders)s) i CROSS JOIN LATERAL generate_series(0, (i * 7) %% 5) j""",
    ]
    with psycopg.connect(database_url, autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql, p)
        for table in (
            "community_brand", "community_user", "community_community", "community_pickuppoint",
            "fulfillment_pointverifier", "catalogue_supplier", "catalogue_product", "catalogue_sku",
            "fulfillment_warehouse", "fulfillment_route", "fulfillment_routestop", "jielong_campaign",
            "jielong_campaignitem", "jielong_order", "jielong_orderline",
        ):  # fmt: skip
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.execute("VACUUM ANALYZE")
        orders, lines, units = conn.execute(
            "SELECT count(DISTINCT order_id), count(*), sum(quantity) FROM jielong_orderline"
        ).fetchone()
    return {"orders": orders, "lines": lines, "units": int(units)}


# The floor: the same three lists as the split's GROUP BYs, from the same joins, into one scratch table.
FLOOR = [
    "DROP TABLE IF EXISTS bench_floor",
    # A plain (logged) table without indexes: the split writes logged tables too, with indexes and keys.
    """CREATE TABLE bench_floor (kind char(1), a bigint, b bigint, c bigint, zone varchar(16), quantity bigint)""",
    """CREATE TEMP TABLE floor_src AS
       SELECT o.id AS order_id, o.user_id, o.pickup_point_id, ci.sku_id, s.zone, p.supplier_id, ol.quantity
       FROM fulfillment_campaigndelivery cd
       JOIN jielong_campaign c ON c.id = cd.campaign_id
       JOIN jielong_order o ON o.campaign_id = c.id
       JOIN jielong_orderline ol ON ol.order_id = o.id
       JOIN jielong_campaignitem ci ON ci.id = ol.item_id
       JOIN catalogue_sku s ON s.id = ci.sku_id
       JOIN catalogue_product p ON p.id = s.product_id
       WHERE cd.delivery_date = %(d)s AND c.brand_id = %(b)s AND c.status IN ('formed', 'completed')
         AND o.status <> 'cancelled' AND o.pickup_point_id IS NOT NULL""",
    # pick list: per supplier SKU
    "INSERT INTO bench_floor SELECT 'P', supplier_id, sku_id, NULL, NULL, sum(quantity) FROM floor_src GROUP BY 1, 2, 3",
    # loading list: per point, SKU and zone, on the route whose stop serves the point and carries the zone
    """INSERT INTO bench_floor
       SELECT 'L', f.pickup_point_id, f.sku_id, rt.route_id, f.zone, sum(f.quantity)
       FROM floor_src f
       LEFT JOIN (
           SELECT rs.pickup_point_id, z.zone, min(rs.route_id) AS route_id
           FROM fulfillment_routestop rs JOIN fulfillment_route r ON r.id = rs.route_id
           CROSS JOIN LATERAL jsonb_array_elements_text(r.zones) z(zone)
           WHERE r.brand_id = %(b)s AND r.is_active GROUP BY 1, 2
       ) rt ON rt.pickup_point_id = f.pickup_point_id AND rt.zone = f.zone
       GROUP BY 1, 2, 3, 4, 5""",
    # hand-out list: per point, member and SKU
    """INSERT INTO bench_floor SELECT 'H', pickup_point_id, user_id, sku_id, NULL, sum(quantity)
       FROM floor_src GROUP BY 1, 2, 3, 4""",
    "DROP TABLE floor_src",
]


def checkpoint(database_url: str) -> bool:
    """Flush the server's dirty pages before a timing, so that it does not pay for what came before it (the
    generator's rows, the previous split's): a checkpoint then would write them while the timed statements
    write their WAL. Needs a superuser or pg_checkpoint (PostgreSQL 15); without, False and no checkpoint."""
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
        return True
    except psycopg.errors.InsufficientPrivilege:
        return False


def measure_floor(database_url: str, delivery_date: date) -> tuple[float, int]:
    with psycopg.connect(database_url) as conn:
        started = time.perf_counter()
        with conn.transaction():
            for sql in FLOOR:
                conn.execute(sql, {"d": delivery_date, "b": 1})
        elapsed = time.perf_counter() - started
        rows = conn.execute("SELECT count(*) FROM bench_floor").fetchone()[0]
        conn.execute("DROP TABLE bench_floor")
        conn.commit()
    return elapsed, rows


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


# What a first split of the day finds: none of its rows (nothing else of the day exists yet in the bench).
_SPLIT_TABLES = (
    "fulfillment_pickline, fulfillment_loadline, fulfillment_handoutline, fulfillment_handout, fulfillment_parcel"
)


def measure_split(delivery_date: date, *, fresh: bool = False) -> tuple[float, object]:
    from django.db import connection

    from fulfillment.split import split_day

    if fresh:
        with connection.cursor() as cur:
            cur.execute(f"TRUNCATE {_SPLIT_TABLES} CASCADE")  # and what hangs off them: none yet here
            cur.execute("UPDATE fulfillment_campaigndelivery SET split_version = 0, split_at = NULL")
    started = time.perf_counter()
    result = split_day(brand_id=1, delivery_date=delivery_date)
    return time.perf_counter() - started, result


# --- documents: a child process, so its peak RSS is the documents' own -------------------------------------


def documents_child(delivery_date: date, shard: int = 0, shards: int = 1) -> None:
    """Write this shard's share of the day's xlsx (every ``shards``-th file from ``shard``), each into a
    temporary file; print time, files, bytes and peak RSS."""
    import tempfile

    from fulfillment.documents import (
        crate_labels_xlsx,
        handout_labels_xlsx,
        handouts_xlsx,
        inbound_xlsx,
        pick_list_xlsx,
        route_xlsx,
    )
    from fulfillment.models import LoadLine, Parcel, PickLine

    day = {"brand_id": 1, "delivery_date": delivery_date}
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu_started = time.perf_counter(), time.process_time()
    suppliers = sorted(set(PickLine.objects.filter(**day).values_list("supplier_id", flat=True)))
    routes = sorted(set(LoadLine.objects.filter(**day, route__isnull=False).values_list("route_id", flat=True)))
    warehouses = sorted(
        set(LoadLine.objects.filter(**day, route__isnull=False).values_list("route__warehouse_id", flat=True))
    )
    points = sorted(set(Parcel.objects.filter(**day).values_list("pickup_point_id", flat=True)))
    jobs = (
        [(pick_list_xlsx, s) for s in suppliers]
        + [(inbound_xlsx, w) for w in warehouses]
        + [(job, r) for r in routes for job in (route_xlsx, crate_labels_xlsx)]
        + [(job, p) for p in points for job in (handouts_xlsx, handout_labels_xlsx)]
    )
    jobs = jobs[shard::shards]
    written, per_kind = 0, {}
    for job, target in jobs:
        began = time.perf_counter()
        with tempfile.TemporaryFile() as out:
            job(target, delivery_date, out)
            written += out.seek(0, os.SEEK_END)
        per_kind[job.__name__] = per_kind.get(job.__name__, 0) + time.perf_counter() - began
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "cpu_s": time.process_time() - cpu_started,
                "files": len(jobs),
                "bytes": written,
                "peak_mb": peak_mb,
                "baseline_mb": baseline_mb,
                "per_kind": {kind: round(seconds, 2) for kind, seconds in per_kind.items()},
            }
        )
    )


def measure_documents(env: dict[str, str], delivery_date: date, workers: int) -> dict:
    """Every xlsx of the day written by ``workers`` processes at once, as the app's worker processes serve
    the day's downloads (suppliers, drivers and 500 leaders fetch theirs); wall time of the slowest."""
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [PYTHON, __file__, "--documents-child", f"{delivery_date.isoformat()}:{shard}:{workers}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for shard in range(workers)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=1800)
        if child.returncode:
            raise RuntimeError(f"documents child failed: {err[-2000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    per_kind: dict[str, float] = {}
    for result in results:
        for kind, seconds in result["per_kind"].items():
            per_kind[kind] = round(per_kind.get(kind, 0) + seconds, 2)
    return {
        "seconds": time.perf_counter() - started,
        "cpu_s": sum(r["cpu_s"] for r in results),
        "files": sum(r["files"] for r in results),
        "bytes": sum(r["bytes"] for r in results),
        "peak_mb": max(r["peak_mb"] for r in results),
        "baseline_mb": max(r["baseline_mb"] for r in results),
        "per_kind": per_kind,
    }


# --- 核销: 50 leaders at once, then phones racing on the same codes ----------------------------------------


def _codes(point_ids: list[int], per_point: int) -> dict[int, list[str]]:
    from fulfillment.models import Handout

    codes: dict[int, list[str]] = {p: [] for p in point_ids}
    for point, code in (
        Handout.objects.filter(pickup_point_id__in=point_ids, verified_at__isnull=True)
        .order_by("pickup_point_id", "code")
        .values_list("pickup_point_id", "code")
    ):
        if len(codes[point]) < per_point:
            codes[point].append(code)
    return codes


def verify_child(spec: dict) -> None:
    """One app process's share of the leaders: a thread per leader, each verifying its point's codes one
    after another with a pause between members (``think_ms`` ± half); prints the latencies."""
    import random

    from django.db import connections

    from community.models import User
    from fulfillment.pickup import PickupRefused, verify_pickup

    leaders = User.objects.in_bulk([leader for _p, leader, _codes in spec["leaders"]])
    latencies: list[float] = []
    cold: list[float] = []  # each leader's first verification: its connection opens, the process warms up
    refused: list[str] = []
    rng = random.Random(spec["seed"])
    pauses = {point: rng.random() for point, _l, _c in spec["leaders"]}  # leaders start out of step

    def leader_at(point_id: int, leader: User, codes: list[str]) -> None:
        try:
            time.sleep(pauses[point_id] * spec["think_ms"] / 1000)
            for n, code in enumerate(codes):
                began = time.perf_counter()
                try:
                    verify_pickup(code=code, pickup_point_id=point_id, by=leader)
                except PickupRefused as exc:
                    refused.append(exc.code)
                (latencies if n else cold).append((time.perf_counter() - began) * 1000)
                time.sleep(spec["think_ms"] * (0.5 + rng.random()) / 1000)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=leader_at, args=(point, leaders[leader], codes))
        for point, leader, codes in spec["leaders"]
    ]
    time.sleep(max(0.0, spec["start_at"] - time.time()))  # every process starts together
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"latencies": latencies, "cold": cold, "refused": refused}))


def measure_verify(env: dict[str, str], args) -> dict:
    """``args.leaders`` leaders at as many points verify distinct codes at once, spread over
    ``args.processes`` processes (the app's worker processes: one Python interpreter lock each)."""
    from community.models import PickupPoint

    points = list(PickupPoint.objects.order_by("pk").values_list("pk", "leader_id")[: args.leaders])
    codes = _codes([p for p, _leader in points], args.codes_per_leader)
    start_at = time.time() + 3  # time for the children to start Django
    specs = [
        {
            "leaders": [(p, leader, codes[p]) for p, leader in points[n :: args.processes]],
            "think_ms": args.think_ms,
            "start_at": start_at,
            "seed": n,
        }
        for n in range(args.processes)
    ]
    children = [
        subprocess.Popen(
            [PYTHON, __file__, "--verify-child", json.dumps(spec)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for spec in specs
    ]
    latencies: list[float] = []
    cold: list[float] = []
    refused: list[str] = []
    for child in children:
        out, _err = child.communicate(timeout=600)
        if child.returncode:
            raise RuntimeError("a verification process failed")
        result = json.loads(out.strip().splitlines()[-1])
        latencies += result["latencies"]
        cold += result["cold"]
        refused += result["refused"]
    return {"latencies": latencies, "cold": cold, "refused": refused, "elapsed": time.time() - start_at}


def measure_races(args) -> dict:
    """Each racing point's leader and 核销员 verify the same codes from 4 phones released together."""
    from django.db import connections
    from django.db.models import Count

    from community.models import PickupPoint, User
    from fulfillment.models import PointVerifier, Verification
    from fulfillment.pickup import PickupRefused, verify_pickup

    racing = list(
        PickupPoint.objects.order_by("pk").values_list("pk", "leader_id")[
            args.leaders : args.leaders + args.race_points
        ]
    )
    verifier_of = dict(
        PointVerifier.objects.filter(pickup_point_id__in=[p for p, _l in racing]).values_list(
            "pickup_point_id", "user_id"
        )
    )
    codes = _codes([p for p, _l in racing], args.race_codes)
    users = User.objects.in_bulk([u for _p, u in racing] + list(verifier_of.values()))
    wins: dict[tuple[int, str], int] = {}
    lock = threading.Lock()
    threads = []

    def phone(point_id: int, user: User, barrier: threading.Barrier) -> None:
        try:
            for code in codes[point_id]:
                barrier.wait()
                try:
                    verify_pickup(code=code, pickup_point_id=point_id, by=user)
                except PickupRefused:
                    continue
                with lock:
                    wins[(point_id, code)] = wins.get((point_id, code), 0) + 1
        finally:
            connections.close_all()

    for point_id, leader_id in racing:
        barrier = threading.Barrier(4)
        for user_id in (leader_id, leader_id, verifier_of[point_id], verifier_of[point_id]):
            threads.append(threading.Thread(target=phone, args=(point_id, users[user_id], barrier)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    raced = sum(len(c) for c in codes.values())
    doubled_calls = sum(1 for n in wins.values() if n > 1)
    doubled_rows = (
        Verification.objects.filter(undone_at__isnull=True, handout__pickup_point_id__in=[p for p, _l in racing])
        .values("handout_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    return {"codes": raced, "verified": len(wins), "doubles": max(doubled_calls, doubled_rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--suppliers", type=int, default=20)
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--routes", type=int, default=25)
    parser.add_argument("--members", type=int, default=60_000, help="distinct members (coprime with 31)")
    parser.add_argument("--leaders", type=int, default=50, help="leaders verifying at once, one point each")
    parser.add_argument("--codes-per-leader", type=int, default=20)
    parser.add_argument(
        "--think-ms", type=int, default=3000, help="a leader's pause between two members (± half), 0: back to back"
    )
    parser.add_argument("--processes", type=int, default=2, help="processes the leaders are spread over")
    parser.add_argument(
        "--document-workers", type=int, default=2, help="processes writing the day's xlsx at once (the app's workers)"
    )
    parser.add_argument("--pairs", type=int, default=3, help="split + floor timings, interleaved (medians)")
    parser.add_argument("--race-points", type=int, default=10, help="points whose phones race on the same codes")
    parser.add_argument("--race-codes", type=int, default=10, help="codes raced at each of those points")
    parser.add_argument(
        "--only",
        default="split,documents,verify",
        help="comma-separated parts to measure (split always runs: the others need it): split, documents, verify",
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--documents-child", metavar="DATE", help=argparse.SUPPRESS)
    parser.add_argument("--verify-child", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.documents_child:  # the child process of measure_documents (its env is set up already)
        import django

        django.setup()
        day, shard, shards = args.documents_child.split(":")
        documents_child(date.fromisoformat(day), int(shard), int(shards))
        return
    if args.verify_child:  # a child process of measure_verify
        import django

        django.setup()
        verify_child(json.loads(args.verify_child))
        return

    only = set(args.only.split(","))
    database_url = bench_database_url(DB_NAME)
    recreate_database(database_url)
    env = app_env(database_url, args.redis_url, pool_max=max(args.leaders, 4 * args.race_points) + 4)
    env["DB_POOL_MIN"] = "2"  # opened on demand: the server is shared
    manage(env, "migrate", "--noinput")
    setup_django(env)
    from groupbuy import clock

    delivery_date = clock.localdate() + timedelta(days=1)
    print(f"generating {args.orders} orders over {args.campaigns} campaigns …", flush=True)
    started = time.perf_counter()
    size = generate(database_url, args, delivery_date)
    print(f"generated {size} in {time.perf_counter() - started:.1f} s", flush=True)

    settled = checkpoint(database_url)
    split_s, result = measure_split(delivery_date)
    print(
        f"split: {result.orders} orders, {result.units} units, {result.handouts_created} hand-outs in {split_s:.2f} s",
        flush=True,
    )
    figures = {
        "bench": "fulfilment",
        "orders": size["orders"],
        "lines": size["lines"],
        "units": size["units"],
        "handouts": result.handouts_created,
        "split_s": round(split_s, 2),
    }
    if "split" in only:
        splits, floors = [], []
        for pair in range(args.pairs):
            if pair:
                settled &= checkpoint(database_url)
                split_s, again = measure_split(delivery_date, fresh=True)
                assert again.orders == result.orders and again.handouts_created == result.handouts_created
            settled &= checkpoint(database_url)
            floor_s, floor_rows = measure_floor(database_url, delivery_date)
            print(f"pair {pair + 1}: split {split_s:.2f} s, floor {floor_rows} rows in {floor_s:.2f} s", flush=True)
            splits.append(split_s)
            floors.append(floor_s)
        figures |= {
            "split_s": round(statistics.median(splits), 2),
            "floor_s": round(statistics.median(floors), 2),
            "split_ratio": round(statistics.median(s / f for s, f in zip(splits, floors, strict=True)), 2),
            "split_first_s": round(splits[0], 2),
            "split_samples": [round(s, 2) for s in splits],
            "floor_samples": [round(f, 2) for f in floors],
            "checkpointed": settled,
        }
    if "documents" in only:
        from fulfillment.split import analyze_split_tables

        # What fulfillment.tasks.analyze_split_tables does right after a big split (no worker runs here).
        analyze_split_tables()
        docs = measure_documents(env, delivery_date, args.document_workers)
        print(
            f"documents: {docs['files']} xlsx, {docs['bytes'] / 1e6:.1f} MB in {docs['seconds']:.1f} s, peak RSS {docs['peak_mb']:.0f} MB (after start-up {docs['baseline_mb']:.0f} MB)",
            flush=True,
        )
        figures |= {
            "documents_s": round(docs["seconds"], 1),
            "documents_files": docs["files"],
            "documents_peak_mb": round(docs["peak_mb"]),
            "documents_workers": args.document_workers,
            "documents_cpu_s": round(docs["cpu_s"], 1),
        }
    if "verify" in only:
        verify = measure_verify(env, args)
        print(
            f"verify: {len(verify['latencies']) + len(verify['cold'])} verifications by {args.leaders} leaders in {verify['elapsed']:.2f} s, refused {len(verify['refused'])}",
            flush=True,
        )
        races = measure_races(args)
        print(f"races: {races['codes']} codes × 4 phones, {races['verified']} verified", flush=True)
        figures |= {
            "verify_leaders": args.leaders,
            "verify_think_ms": args.think_ms,
            "verifications": len(verify["latencies"]) + len(verify["cold"]),
            "verify_p50_ms": round(percentile(verify["latencies"], 50), 1),
            "verify_p99_ms": round(percentile(verify["latencies"], 99), 1),
            "verify_cold_p50_ms": round(percentile(verify["cold"], 50), 1),
            "verify_cold_max_ms": round(max(verify["cold"]), 1),
            "verify_per_s": round((len(verify["latencies"]) + len(verify["cold"])) / verify["elapsed"], 1),
            "double_verifications": races["doubles"],
        }
    figures["load_avg"] = round(os.getloadavg()[0], 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
