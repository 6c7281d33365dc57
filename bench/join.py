"""Join benchmark: C concurrent clients join one hot campaign through the real HTTP/ASGI stack.

    .venv/bin/python bench/join.py [--clients 200] [--members 3000] [--stock 2000] [--workers 2] [--page-loaders 4]
        [--page-joiners 4]

It makes a PostgreSQL database of its own, migrates it, creates members with signed-in sessions,
starts uvicorn, and fires the joins (fewer units in stock than members who want one). It then
measures ``pg_limit_tps``: the smallest transaction any correct join needs (a guarded decrement of
one stock row plus one order insert) as raw SQL over as many connections as the app's pool has.
The last line is one JSON object; ``ratio = joins_per_s / pg_limit_tps``.

During the storm a few more clients (``--page-loaders``) open the member's jielong page
(``GET /m/jielong/<id>/``, signed in) one load after another: ``page_p50_ms``/``page_p99_ms``; and
``--page-joiners`` clients join through the member page's form (``POST /m/jielong/<id>/join/``, members
of their own, the redirect not followed): ``page_join_p50_ms``/``page_join_p99_ms``. The members have
their personal invitation codes, as memberships made through the services do (the page's share link
shows it; a membership without one gets it made on its first page view).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import sys
import threading
import time
from urllib.parse import urlsplit

import psycopg
import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._harness import (
    RawHTTPConnection,
    app_env,
    bench_database_url,
    build_static,
    manage,
    percentile,
    recreate_database,
    uvicorn_server,
    warm_up,
)

DB_NAME = "groupbuy_bench_join"


def prepare(env: dict[str, str], *, members: int, stock: int) -> tuple[int, int, list[str], str]:
    """Create the campaign and the members' sessions inside the app's own models (in-process Django)."""
    os.environ.update(env)
    import django

    django.setup()
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from catalogue.models import SKU, Product, Supplier
    from community.models import Brand, Community, Membership, PickupPoint, User
    from groupbuy import clock
    from jielong.models import Campaign, CampaignItem

    brand = Brand.objects.create(name="源味集")
    community = Community.objects.create(brand=brand, name="压测群", slug="bench", capacity=100000)
    point = PickupPoint.objects.create(community=community, name="自提点", address="1号楼")
    supplier = Supplier.objects.create(brand=brand, name="老李有机农场")
    product = Product.objects.create(supplier=supplier, name="上海青")
    sku = SKU.objects.create(product=product, code="BENCH-1", spec={"规格": "500g"}, list_price_fen=1990, stock=stock)
    campaign = Campaign.objects.create(
        brand=brand,
        title="压测接龙",
        status=Campaign.Status.OPEN,
        group_threshold=50,
        perk_limit=50,
        closes_at=clock.now() + timedelta(hours=2),
    )
    campaign.communities.add(community)
    item = CampaignItem.objects.create(campaign=campaign, sku=sku, price_fen=1590, perk_price_fen=1272)

    users = User.objects.bulk_create(
        [User(phone=f"+86137{n:08d}", nickname=f"压测{n}", role=User.Role.MEMBER) for n in range(members)]
    )
    Membership.objects.bulk_create([Membership(user=u, community=community, default_pickup_point=point) for u in users])
    from community.services import invitations_personal_ensure

    invitations_personal_ensure(community=community, user_ids=[u.pk for u in users])
    cookies = []
    for user in users:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        cookies.append(store.session_key)
    from django.db import connections

    connections.close_all()
    return campaign.pk, item.pk, cookies, sku.pk


async def run_clients(
    base_url: str, campaign_id: int, item_id: int, sessions: list[str], clients: int, *, retry_until_open: bool = False
) -> dict:
    """Each of ``clients`` connections joins for one member after another until every member has tried.

    ``retry_until_open``: the storm starts before the campaign opens; a member refused with "closed"
    or "not open yet" tries again every 20 ms, and only attempts after the first join are timed."""
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    queue: asyncio.Queue[str] = asyncio.Queue()
    for key in sessions:
        queue.put_nowait(key)
    latencies: list[float] = []
    outcomes: dict[int, int] = {}
    opened: list[bool] = []
    csrf = secrets.token_hex(16)  # 32 characters: Django accepts the unmasked secret in the header
    body = json.dumps({"items": [{"item": item_id, "quantity": 1}]}).encode()

    async def worker() -> None:
        connection = RawHTTPConnection(host, port)
        try:
            while True:
                try:
                    key = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                status, payload = await connection.request(
                    "POST",
                    f"/api/jielong/campaigns/{campaign_id}/join/",
                    body=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-CSRFToken": csrf,
                        "Idempotency-Key": key[:32],
                        "Cookie": f"sessionid={key}; csrftoken={csrf}",
                    },
                )
                if retry_until_open and not opened and re.search(rb'"code":\s*"(closed|not_open_yet)"', payload):
                    queue.put_nowait(key)
                    await asyncio.sleep(0.02)
                    continue
                if status < 300 and not opened:
                    opened.append(True)
                latencies.append((time.perf_counter() - started) * 1000)
                outcomes[status] = outcomes.get(status, 0) + 1
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {"latencies": latencies, "outcomes": outcomes, "elapsed": elapsed}


async def load_pages(base_url: str, campaign_id: int, sessions: list[str], loaders: int, stop: asyncio.Event) -> dict:
    """``loaders`` connections open the campaign's member page for one member after another until ``stop``."""
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    latencies: list[float] = []
    outcomes: dict[int, int] = {}

    async def loader(offset: int) -> None:
        connection = RawHTTPConnection(host, port)
        try:
            n = offset
            while not stop.is_set():
                key = sessions[n % len(sessions)]
                n += loaders
                started = time.perf_counter()
                status, _ = await connection.request(
                    "GET", f"/m/jielong/{campaign_id}/", headers={"Cookie": f"sessionid={key}"}
                )
                latencies.append((time.perf_counter() - started) * 1000)
                outcomes[status] = outcomes.get(status, 0) + 1
        finally:
            await connection.close()

    await asyncio.gather(*(loader(i) for i in range(loaders)))
    return {"latencies": latencies, "outcomes": outcomes}


async def join_by_page(
    base_url: str, campaign_id: int, item_id: int, sessions: list[str], joiners: int, stop: asyncio.Event
) -> dict:
    """``joiners`` connections each join through the member page's form for one member after another
    (members no other client uses) until ``stop``: the POST the form sends, answered by a redirect
    (joined) or the page again with the refusal (sold out, say)."""
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    latencies: list[float] = []
    outcomes: dict[int, int] = {}
    csrf = secrets.token_hex(16)
    pending = list(sessions)

    async def joiner() -> None:
        connection = RawHTTPConnection(host, port)
        try:
            while not stop.is_set() and pending:
                key = pending.pop()
                body = (
                    f"csrfmiddlewaretoken={csrf}&idempotency_key={key[:32]}&qty_{item_id}=1&pickup_point=&note="
                ).encode()
                started = time.perf_counter()
                status, _ = await connection.request(
                    "POST",
                    f"/m/jielong/{campaign_id}/join/",
                    body=body,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Cookie": f"sessionid={key}; csrftoken={csrf}",
                    },
                )
                latencies.append((time.perf_counter() - started) * 1000)
                outcomes[status] = outcomes.get(status, 0) + 1
        finally:
            await connection.close()

    await asyncio.gather(*(joiner() for _ in range(joiners)))
    return {"latencies": latencies, "outcomes": outcomes}


async def storm_with_pages(base_url: str, campaign_id: int, item_id: int, sessions: list[str], args) -> dict:
    stop = asyncio.Event()
    # The page joiners' members (the last ones) are left out of the API storm.
    reserved = min(len(sessions) // 10, 300) if args.page_joiners else 0
    api_sessions, page_sessions = sessions[: len(sessions) - reserved], sessions[len(sessions) - reserved :]
    pages = asyncio.create_task(load_pages(base_url, campaign_id, sessions[::-1], args.page_loaders, stop))
    page_joins = asyncio.create_task(
        join_by_page(base_url, campaign_id, item_id, page_sessions, args.page_joiners, stop)
    )
    try:
        result = await run_clients(base_url, campaign_id, item_id, api_sessions, args.clients)
    finally:
        stop.set()
    result["pages"] = await pages
    result["page_joins"] = await page_joins
    return result


def pg_limit_tps(database_url: str, *, connections: int, seconds: float = 5.0) -> float:
    """Raw-SQL ceiling: guarded decrement of one hot stock row + one order insert, per transaction."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_stock, bench_order")
        conn.execute("CREATE TABLE bench_stock (id int PRIMARY KEY, stock int NOT NULL CHECK (stock >= 0))")
        conn.execute(
            "CREATE TABLE bench_order (id bigserial PRIMARY KEY, stock_id int NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute("INSERT INTO bench_stock VALUES (1, 1000000000)")
    counts = [0] * connections
    stop = time.monotonic() + seconds

    def loop(i: int) -> None:
        with psycopg.connect(database_url) as conn:
            while time.monotonic() < stop:
                with conn.transaction():
                    cur = conn.execute("UPDATE bench_stock SET stock = stock - 1 WHERE id = 1 AND stock >= 1")
                    if cur.rowcount == 1:
                        conn.execute("INSERT INTO bench_order (stock_id) VALUES (1)")
                counts[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE bench_stock, bench_order")
    return sum(counts) / elapsed


def verify(database_url: str, campaign_id: int, sku_id: int, stock: int) -> dict:
    with psycopg.connect(database_url) as conn:
        left = conn.execute("SELECT stock FROM catalogue_sku WHERE id = %s", [sku_id]).fetchone()[0]
        sold = conn.execute(
            "SELECT coalesce(sum(l.quantity), 0) FROM jielong_orderline l JOIN jielong_order o ON o.id = l.order_id "
            "WHERE o.campaign_id = %s AND o.status <> 'cancelled'",
            [campaign_id],
        ).fetchone()[0]
        duplicates = conn.execute(
            "SELECT count(*) FROM (SELECT user_id FROM jielong_order WHERE campaign_id = %s AND status <> 'cancelled' "
            "GROUP BY user_id HAVING count(*) > 1) d",
            [campaign_id],
        ).fetchone()[0]
        orders = conn.execute("SELECT count(*) FROM jielong_order WHERE campaign_id = %s", [campaign_id]).fetchone()[0]
    return {
        "orders": orders,
        "oversold": max(0, sold - stock) + (1 if left < 0 or left + sold != stock else 0),
        "duplicate_orders": duplicates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--stock", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--pool", type=int, default=4, help="database pool size per worker")
    parser.add_argument("--page-loaders", type=int, default=4, help="clients opening the jielong page meanwhile")
    parser.add_argument("--page-joiners", type=int, default=4, help="clients joining through the page's form meanwhile")
    parser.add_argument("--database", default=DB_NAME, help="name of the benchmark's own database (recreated)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"))
    args = parser.parse_args()

    database_url = bench_database_url(args.database)
    recreate_database(database_url)
    # The channel layer, cache and throttles live in this Redis db: start from nothing, so groups
    # and pending-broadcast keys left by an earlier run cannot leak into this one.
    redis.Redis.from_url(args.redis_url).flushdb()
    env = app_env(database_url, args.redis_url, pool_max=args.pool)
    manage(env, "migrate", "--noinput")
    build_static(env)
    print(f"preparing {args.members} members, stock {args.stock} …", flush=True)
    campaign_id, item_id, sessions, sku_id = prepare(env, members=args.members, stock=args.stock)

    with uvicorn_server(env, workers=args.workers) as base_url:
        # Warm each worker's pool and code paths before measuring.
        warm_up(
            base_url,
            join_path=f"/api/jielong/campaigns/{campaign_id}/join/",
            page_path=f"/m/jielong/{campaign_id}/" if args.page_loaders else None,
            page_session=sessions[0],
        )
        result = asyncio.run(storm_with_pages(base_url, campaign_id, item_id, sessions, args))

    checks = verify(database_url, campaign_id, sku_id, args.stock)
    connections = args.workers * args.pool
    limit = pg_limit_tps(database_url, connections=connections)
    joins = result["outcomes"].get(201, 0)
    joins_per_s = joins / result["elapsed"]
    print(f"status codes: {dict(sorted(result['outcomes'].items()))}; orders in database: {checks['orders']}")
    pages = result["pages"]
    print(f"page loads during the storm: status codes {dict(sorted(pages['outcomes'].items()))}")
    page_joins = result["page_joins"]
    print(f"page joins during the storm: status codes {dict(sorted(page_joins['outcomes'].items()))}")
    print(f"pg_limit_tps measured over {connections} connections (= {args.workers} workers × pool {args.pool})")
    print(
        json.dumps(
            {
                "bench": "join",
                "clients": args.clients,
                "attempts": len(result["latencies"]),
                "joins": joins,
                "joins_per_s": round(joins_per_s, 1),
                "p50_ms": round(percentile(result["latencies"], 50), 1),
                "p99_ms": round(percentile(result["latencies"], 99), 1),
                "oversold": checks["oversold"],
                "duplicate_orders": checks["duplicate_orders"],
                "pg_limit_tps": round(limit, 1),
                "ratio": round(joins_per_s / limit, 3) if limit else None,
                "page_loaders": args.page_loaders,
                "page_loads": len(pages["latencies"]),
                "page_p50_ms": round(percentile(pages["latencies"], 50), 1),
                "page_p99_ms": round(percentile(pages["latencies"], 99), 1),
                "page_joiners": args.page_joiners,
                "page_joins": len(page_joins["latencies"]),
                "page_join_p50_ms": round(percentile(page_joins["latencies"], 50), 1),
                "page_join_p99_ms": round(percentile(page_joins["latencies"], 99), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
