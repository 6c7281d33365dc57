"""Shared harness for the benchmarks: a throwaway PostgreSQL database, demo-free fixtures and a
real ASGI server (uvicorn) started and stopped by the benchmark itself."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def bench_database_url(name: str) -> str:
    """A database of the benchmark's own on the server of DATABASE_URL (default: local PostgreSQL)."""
    base = (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or "postgres://postgres@127.0.0.1:5432/postgres"
    )
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(url: str) -> None:
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    name = parts.path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


BENCH_DIR = Path(os.environ.get("BENCH_TMP", "/tmp/groupbuy-bench"))


def _bench_settings() -> str:
    """Production settings with the static files built into a directory of the benchmark's own (the
    pages need the manifest; the shared tree's ``staticfiles/`` is left alone)."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))  # prepare() sets Django up in the benchmark's own process
    (BENCH_DIR / "bench_settings.py").write_text(
        f"from groupbuy.settings.production import *  # noqa: F403\nSTATIC_ROOT = {str(BENCH_DIR / 'staticfiles')!r}\n"
    )
    return "bench_settings"


def app_env(database_url: str, redis_url: str, *, pool_max: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=_bench_settings(),
        PYTHONPATH=os.pathsep.join(p for p in (str(BENCH_DIR), str(ROOT), os.environ.get("PYTHONPATH")) if p),
        SECRET_KEY="bench-only-secret",
        DEBUG="false",
        SECURE_COOKIES="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DB_POOL_MIN=str(pool_max),
        DB_POOL_MAX=str(pool_max),
        LOG_LEVEL="WARNING",
        # No texts are sent in a benchmark; production settings refuse the console provider otherwise.
        SMS_CONSOLE_ALLOWED="true",
    )
    return env


def build_static(env: dict[str, str]) -> None:
    """collectstatic into the benchmark's own STATIC_ROOT (the member pages need the manifest)."""
    manage(env, "collectstatic", "--noinput", "--clear", "-v", "0")


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


_server_pid: int | None = None


def server_cpu_seconds() -> float:
    """CPU time (user + system) used so far by the running app server's processes: a load-independent
    measure of what the server spent, to compare changes on a busy machine."""
    if _server_pid is None:
        return 0.0
    pids, total = [_server_pid], 0.0
    tick = os.sysconf("SC_CLK_TCK")
    while pids:
        pid = pids.pop()
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    pids += [int(child) for child in children.read().split()]
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@contextlib.contextmanager
def uvicorn_server(env: dict[str, str], *, workers: int):
    global _server_pid
    port = free_port()
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "uvicorn",
            "groupbuy.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
            # As the Dockerfile runs it: lifespan on (graceful shutdown), and no per-message deflate —
            # compressing each ~1 kB snapshot once per socket cost the fan-out more than it saved.
            "--lifespan",
            "on",
            "--ws-per-message-deflate",
            "false",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    _server_pid = proc.pid
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if proc.poll() is not None:
                raise RuntimeError("the app server exited during start-up")
            time.sleep(0.2)
        else:
            raise RuntimeError("the app server did not start within 60 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        _server_pid = None
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


class RawHTTPConnection:
    """A minimal keep-alive HTTP/1.1 client connection on asyncio streams.

    The benchmarks measure the server; a full-featured client such as httpx spends more CPU per
    request than the join itself on this 2-core machine, so the load generator would become the
    bottleneck. This speaks just enough HTTP: one request at a time, Content-Length bodies.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def warm_up(
    base_url: str,
    *,
    requests: int = 50,
    join_path: str | None = None,
    page_path: str | None = None,
    page_session: str = "",
) -> None:
    """Touch /healthz over several connections so every worker has imported its code and filled its
    pool; with ``join_path``, also post joins with an unknown session (refused with 403, nothing
    written) so the join path's own pool and code are warm too; with ``page_path``, open that page as
    ``page_session``'s member (a server that has been up renders its page templates compiled: the first
    render in a process compiles them)."""
    parts = urlsplit(base_url)
    bogus = {"Content-Type": "application/json", "Cookie": "sessionid=warmupwarmupwarmupwarmupwarmup00"}
    member = {"Cookie": f"sessionid={page_session}"}

    async def go() -> None:
        connections = [RawHTTPConnection(parts.hostname, parts.port) for _ in range(10)]
        for _ in range(requests // len(connections)):
            await asyncio.gather(*(c.request("GET", "/healthz") for c in connections))
            if join_path:
                await asyncio.gather(
                    *(c.request("POST", join_path, body=b'{"items": []}', headers=bogus) for c in connections)
                )
            if page_path:
                await asyncio.gather(*(c.request("GET", page_path, headers=member) for c in connections))
        for c in connections:
            await c.close()

    asyncio.run(go())
