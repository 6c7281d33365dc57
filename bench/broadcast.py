"""Broadcast benchmark: W WebSocket clients watch one campaign while members join it.

    .venv/bin/python bench/broadcast.py [--watchers 1000] [--joins 300] [--rate 60] [--workers 2]

Every join goes through the real HTTP API and returns the campaign version it committed; every
watcher records when each snapshot arrives. A join's latency at a watcher is the time from the
join's commit (its HTTP response, an upper bound on the commit time) to the first snapshot at that
watcher whose version includes it. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
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
    manage,
    percentile,
    recreate_database,
    uvicorn_server,
    warm_up,
)
from bench.join import prepare

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
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--joins", type=int, default=300)
    parser.add_argument("--rate", type=float, default=60.0, help="joins per second")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool", type=int, default=4)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"))
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    database_url = bench_database_url(DB_NAME)
    recreate_database(database_url)
    # The channel layer, cache and throttles live in this Redis db: start from nothing, so groups
    # and pending-broadcast keys left by an earlier run cannot leak into this one.
    redis.Redis.from_url(args.redis_url).flushdb()
    env = app_env(database_url, args.redis_url, pool_max=args.pool)
    manage(env, "migrate", "--noinput")
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
            }
        )
    )


if __name__ == "__main__":
    main()
