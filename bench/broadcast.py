"""Broadcast benchmark: W WebSocket clients watch one campaign while members join it.

    .venv/bin/python bench/broadcast.py [--watchers 1000] [--joins 300] [--rate 60] [--workers 2]
    .venv/bin/python bench/broadcast.py --room [--viewers 250] [--clients 200] [--storm 1500]

Every join goes through the real HTTP API and returns the campaign version it committed; every
watcher records when each snapshot arrives. A join's latency at a watcher is the time from the
join's commit (its HTTP response, an upper bound on the commit time) to the first snapshot at that
watcher whose version includes it.

``--room``: the live room during the join storm. V members watch a live session's room
(``/ws/live/<id>/``) and its host is connected too. The host first pins a product (no storm: the
reference), then presses 发布接龙; at that moment C clients start joining the campaign the session
launches (each retries until the campaign is open, then joins for one member after another). A
viewer's latency is the time from the host's action to the first room snapshot carrying the pinned
product, or the jielong link. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import secrets
import sys
import time
from urllib.parse import urlsplit

import redis
import websockets

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._harness import (
    RawHTTPConnection,
    app_env,
    bench_database_url,
    build_static,
    manage,
    percentile,
    recreate_database,
    server_cpu_seconds,
    uvicorn_server,
    warm_up,
)
from bench.join import prepare, run_clients

DB_NAME = "groupbuy_bench_broadcast"


_VERSION = re.compile(r'"version":\s*(\d+)')
_JOINED = re.compile(r'"joined":\s*(\d+)')


def _progress(message: str) -> dict:
    """The two numbers a watcher checks, read without parsing the whole snapshot: with 1,000
    watchers in this one process, json.loads of every message would make the client the bottleneck."""
    return {"version": int(_VERSION.search(message)[1]), "joined": int(_JOINED.search(message)[1])}


async def watch(
    url: str, session_key: str, received: list[tuple[float, dict]], ready: asyncio.Event, done: asyncio.Event
) -> None:
    # Only signed-in members of the campaign's community may watch (the snapshot names joiners).
    headers = {"Cookie": f"sessionid={session_key}"}
    async with websockets.connect(
        url, origin="http://127.0.0.1", additional_headers=headers, open_timeout=60, max_queue=None
    ) as ws:
        received.append((time.perf_counter(), _progress(await ws.recv())))
        ready.set()
        while not done.is_set():
            try:
                message = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            received.append((time.perf_counter(), _progress(message)))


async def run(base_url: str, campaign_id: int, item_id: int, sessions: list[str], args) -> dict:
    ws_url = base_url.replace("http://", "ws://") + f"/ws/jielong/{campaign_id}/"
    done = asyncio.Event()
    watchers: list[list[tuple[float, dict]]] = []
    tasks = []
    readies = []
    # Connect in waves so the accept backlog is not flooded.
    for start in range(0, args.watchers, 100):
        for index in range(start, min(start + 100, args.watchers)):
            received: list[tuple[float, dict]] = []
            ready = asyncio.Event()
            watchers.append(received)
            readies.append(ready)
            tasks.append(asyncio.create_task(watch(ws_url, sessions[index % len(sessions)], received, ready, done)))
        await asyncio.gather(*(r.wait() for r in readies[start : start + 100]))
    print(f"{len(watchers)} watchers connected", flush=True)

    csrf = secrets.token_hex(16)
    cpu_before = server_cpu_seconds()
    commits: dict[int, float] = {}
    started = time.perf_counter()
    parts = urlsplit(base_url)
    body = json.dumps({"items": [{"item": item_id, "quantity": 1}]}).encode()

    async def join(key: str) -> None:
        connection = RawHTTPConnection(parts.hostname, parts.port)
        try:
            status, payload = await connection.request(
                "POST",
                f"/api/jielong/campaigns/{campaign_id}/join/",
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "X-CSRFToken": csrf,
                    "Cookie": f"sessionid={key}; csrftoken={csrf}",
                },
            )
        finally:
            await connection.close()
        if status == 201:
            commits[json.loads(payload)["campaign_version"]] = time.perf_counter()

    pending = []
    for i, key in enumerate(sessions[: args.joins]):
        # A steady stream of joins at --rate per second, each in flight on its own.
        await asyncio.sleep(max(0.0, started + i / args.rate - time.perf_counter()))
        pending.append(asyncio.create_task(join(key)))
    await asyncio.gather(*pending)
    final_version = max(commits) if commits else 0
    # Give the last coalesced broadcast time to arrive, then stop.
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and any(not w or w[-1][1]["version"] < final_version for w in watchers):
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - started
    server_cpu = server_cpu_seconds() - cpu_before
    done.set()
    await asyncio.gather(*tasks, return_exceptions=True)

    latencies = []
    for received in watchers:
        versions = sorted(commits)
        index = 0
        for arrived, snapshot in received:
            while index < len(versions) and versions[index] <= snapshot["version"]:
                latencies.append((arrived - commits[versions[index]]) * 1000)
                index += 1
    messages = sum(len(w) - 1 for w in watchers)  # not counting each watcher's initial snapshot
    missed = sum(1 for w in watchers if not w or w[-1][1]["version"] < final_version)
    return {
        "latencies": latencies,
        "messages": messages,
        "elapsed": elapsed,
        "missed": missed,
        "joins": len(commits),
        "final_joined": max((w[-1][1]["joined"] for w in watchers if w), default=0),
        "server_cpu": server_cpu,
    }


def prepare_room(env: dict[str, str], *, members: int, stock: int) -> tuple[int, int, int, list[str], str]:
    """``prepare``'s members and campaign, made the draft a live session launches, plus the session
    (live, aimed at the members' community) and its host: (session, campaign, item, members' sessions,
    the host's session)."""
    campaign_id, item_id, sessions, sku_id = prepare(env, members=members, stock=stock)
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connections

    from community.models import Community, User
    from groupbuy import clock
    from jielong.models import Campaign
    from livestream.models import LiveSeries, LiveSession

    campaign = Campaign.objects.get(pk=campaign_id)
    host = User.objects.create(phone="+8613900000001", nickname="主播", role=User.Role.HOST)
    series = LiveSeries.objects.create(brand=campaign.brand, title="农场主来了")
    now = clock.now()
    session = LiveSession.objects.create(
        series=series,
        title="压测直播",
        status=LiveSession.Status.LIVE,
        scheduled_start=now - timedelta(minutes=30),
        scheduled_end=now + timedelta(hours=1),
        started_at=now - timedelta(minutes=30),
    )
    session.hosts.add(host)
    session.communities.add(*Community.objects.filter(slug="bench"))
    Campaign.objects.filter(pk=campaign_id).update(status=Campaign.Status.DRAFT, live_session=session)
    store = SessionStore()
    store[SESSION_KEY] = str(host.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = host.get_session_auth_hash()
    store.create()
    connections.close_all()
    return session.pk, campaign_id, item_id, sessions, store.session_key, sku_id


_ROOM = re.compile(r'"type":\s*"room"')
_PINNED = re.compile(r'"pinned":\s*\{')
_LINK = re.compile(r'"jielong":\s*\{')


async def view_room(
    url: str,
    session_key: str,
    seen: dict[str, float],
    ready: asyncio.Event,
    done: asyncio.Event,
    *,
    host: list | None = None,
    tap: str | None = None,
) -> None:
    """A room watcher: records when it first sees a room snapshot with a pinned product and with the
    jielong link (regexes, not json.loads: the client must not become the bottleneck). With ``tap``
    (the campaign's page), it then does what a member does: leaves the room, opens the jielong page
    and watches the campaign's progress socket."""
    headers = {"Cookie": f"sessionid={session_key}"}
    async with websockets.connect(
        url, origin="http://127.0.0.1", additional_headers=headers, open_timeout=60, max_queue=None
    ) as ws:
        if host is not None:
            host.append(ws)
        ready.set()
        while not done.is_set():
            try:
                message = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            if not _ROOM.search(message):
                continue
            now = time.perf_counter()
            if "pinned" not in seen and _PINNED.search(message):
                seen["pinned"] = now
            if "link" not in seen and _LINK.search(message):
                seen["link"] = now
                if tap:
                    break
    if tap and not done.is_set():
        parts = urlsplit(url)
        page = RawHTTPConnection(parts.hostname, parts.port)
        try:
            await page.request("GET", tap, headers=headers)
        finally:
            await page.close()
        campaign_url = url.split("/ws/")[0] + "/ws/jielong/" + tap.rstrip("/").rsplit("/", 1)[1] + "/"
        async with websockets.connect(
            campaign_url, origin="http://127.0.0.1", additional_headers=headers, open_timeout=60, max_queue=None
        ) as ws:
            while not done.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ws.recv(), timeout=0.5)


async def run_room(base_url: str, session_id: int, campaign_id: int, item_id: int, sessions, host_key, sku_id, args):
    ws_url = base_url.replace("http://", "ws://") + f"/ws/live/{session_id}/"
    viewers, storm = sessions[: args.viewers], sessions[args.viewers :]
    done = asyncio.Event()
    seen: list[dict[str, float]] = []
    tasks, readies = [], []
    page = f"/m/jielong/{campaign_id}/"
    for start in range(0, len(viewers), 100):
        for index in range(start, min(start + 100, len(viewers))):
            seen.append({})
            readies.append(asyncio.Event())
            # Most viewers tap 去接龙 when the link arrives (--tap of them); the rest stay in the room.
            tap = page if index % 100 < args.tap * 100 else None
            tasks.append(asyncio.create_task(view_room(ws_url, viewers[index], seen[-1], readies[-1], done, tap=tap)))
        await asyncio.gather(*(r.wait() for r in readies[start : start + 100]))
    host_seen: dict[str, float] = {}
    host_socket: list = []
    host_ready = asyncio.Event()
    tasks.append(asyncio.create_task(view_room(ws_url, host_key, host_seen, host_ready, done, host=host_socket)))
    await host_ready.wait()
    print(f"{len(viewers)} viewers and the host connected", flush=True)
    await asyncio.sleep(1.0)

    async def wait_for(what: str, limit: float) -> None:
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline and not all(what in s for s in [*seen, host_seen]):
            await asyncio.sleep(0.05)

    # The reference: a product pinned with no storm.
    pinned_at = time.perf_counter()
    await host_socket[0].send(json.dumps({"action": "pin", "data": {"sku_id": sku_id}}))
    await wait_for("pinned", 10)
    await asyncio.sleep(1.0)

    # 发布接龙, and the storm starts at the same moment.
    published_at = time.perf_counter()
    await host_socket[0].send(json.dumps({"action": "publish_jielong"}))
    storm_task = asyncio.create_task(
        run_clients(base_url, campaign_id, item_id, storm, args.clients, retry_until_open=True)
    )
    await wait_for("link", 60)
    storm_result = await storm_task
    done.set()
    await asyncio.gather(*tasks, return_exceptions=True)

    def latencies(what: str, since: float) -> list[float]:
        return [(s[what] - since) * 1000 for s in seen if what in s]

    return {
        "pin": latencies("pinned", pinned_at),
        "link": latencies("link", published_at),
        "host_link_ms": (host_seen["link"] - published_at) * 1000 if "link" in host_seen else None,
        "storm": storm_result,
    }


def main_room(args) -> None:
    database_url = bench_database_url(DB_NAME)
    recreate_database(database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    env = app_env(database_url, args.redis_url, pool_max=args.pool)
    manage(env, "migrate", "--noinput")
    build_static(env)
    session_id, campaign_id, item_id, sessions, host_key, sku_id = prepare_room(
        env, members=args.viewers + args.storm, stock=args.storm
    )
    with uvicorn_server(env, workers=args.workers) as base_url:
        warm_up(base_url, join_path=f"/api/jielong/campaigns/{campaign_id}/join/")
        result = asyncio.run(run_room(base_url, session_id, campaign_id, item_id, sessions, host_key, sku_id, args))

    storm = result["storm"]
    joins = storm["outcomes"].get(201, 0)
    print(f"storm: status codes {dict(sorted(storm['outcomes'].items()))} over {storm['elapsed']:.1f} s")

    def summary(values: list[float]) -> dict:
        return {
            "got": len(values),
            "within_1s": sum(1 for v in values if v <= 1000),
            "p50_ms": round(percentile(values, 50), 1),
            "p99_ms": round(percentile(values, 99), 1),
        }

    print(
        json.dumps(
            {
                "bench": "broadcast-room",
                "viewers": args.viewers,
                "tap": args.tap,
                "storm_clients": args.clients,
                "pin": summary(result["pin"]),
                "jielong_link": summary(result["link"]),
                "host_link_ms": round(result["host_link_ms"], 1) if result["host_link_ms"] is not None else None,
                "storm_joins": joins,
                "storm_joins_per_s": round(joins / storm["elapsed"], 1),
                "storm_join_p99_ms": round(percentile(storm["latencies"], 99), 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--room", action="store_true", help="the live room's jielong link during a join storm")
    parser.add_argument("--viewers", type=int, default=250, help="--room: members watching the room")
    parser.add_argument("--clients", type=int, default=200, help="--room: concurrent joining clients")
    parser.add_argument("--storm", type=int, default=1500, help="--room: members who join in the storm")
    parser.add_argument("--tap", type=float, default=0.6, help="--room: share of viewers who open the jielong")
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--joins", type=int, default=300)
    parser.add_argument("--rate", type=float, default=60.0, help="joins per second")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool", type=int, default=4)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"))
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    if args.room:
        main_room(args)
        return
    database_url = bench_database_url(DB_NAME)
    recreate_database(database_url)
    # The channel layer, cache and throttles live in this Redis db: start from nothing, so groups
    # and pending-broadcast keys left by an earlier run cannot leak into this one.
    redis.Redis.from_url(args.redis_url).flushdb()
    env = app_env(database_url, args.redis_url, pool_max=args.pool)
    manage(env, "migrate", "--noinput")
    build_static(env)
    campaign_id, item_id, sessions, _ = prepare(env, members=args.joins, stock=args.joins * 2)

    with uvicorn_server(env, workers=args.workers) as base_url:
        warm_up(base_url)
        result = asyncio.run(run(base_url, campaign_id, item_id, sessions, args))

    print(
        f"{result['joins']} joins over {result['elapsed']:.1f} s; {result['messages']} snapshot messages delivered; "
        f"final count seen {result['final_joined']}"
    )
    print(
        json.dumps(
            {
                "bench": "broadcast",
                "clients": args.watchers,
                "p50_ms": round(percentile(result["latencies"], 50), 1),
                "p99_ms": round(percentile(result["latencies"], 99), 1),
                "messages_per_s": round(result["messages"] / result["elapsed"], 1),
                "missed_final_state": result["missed"],
                # The app server's CPU time per 1,000 snapshot messages delivered (joins included).
                "server_cpu_ms_per_1k_messages": round(result["server_cpu"] * 1e6 / max(1, result["messages"]), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
