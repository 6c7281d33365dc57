"""The README's run command works: ``bin/dev`` sets up, seeds and serves the app on the embedded default.

Runs the real script in its own process group with a fresh data folder and no DATABASE_URL/REDIS_URL,
as a first-time user would, then stops it the way Ctrl-C would.
"""

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 180
ACCESS_LOG_LINE = re.compile(r'^INFO: +127\.0\.0\.1:\d+ - "')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dev_server(tmp_path):
    port = free_port()
    log = tmp_path / "dev.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    for name in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"):
        env.pop(name, None)
    env.update(PORT=str(port), GROUPBUY_DATA_DIR=str(tmp_path / "data"))
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(BASE_DIR / "bin" / "dev")],
            cwd=tmp_path,  # the script must find its own way home
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"bin/dev exited with {process.returncode}:\n{log.read_text()[-6000:]}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no answer from {base_url} within {STARTUP_TIMEOUT} s:\n{log.read_text()[-6000:]}")
            time.sleep(0.5)
        yield base_url, log, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_bin_dev_serves_the_seeded_demo(dev_server, tmp_path):
    base_url, log, process = dev_server

    # the embedded default: an SQLite file in the data folder, no servers
    assert httpx.get(f"{base_url}/healthz").json() == {"ok": True, "database": "ok", "redis": "not configured"}
    assert (tmp_path / "data" / "groupbuy.sqlite3").is_file()
    landing = httpx.get(f"{base_url}/")
    assert landing.status_code == 200
    assert "text/html; charset=utf-8" in landing.headers["content-type"]
    assert httpx.get(f"{base_url}/static/vendor/htmx.min.js").status_code == 200

    # the demo operator signs in and sees the seeded dashboard
    with httpx.Client(base_url=base_url, follow_redirects=True) as client:
        form = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        dashboard = client.post(
            "/accounts/login/",
            data={"username": "linfeng", "password": "yuanweiji2026", "csrfmiddlewaretoken": token},
        )
        assert dashboard.status_code == 200
        assert dashboard.url.path == "/ops/"
        assert "源味集" in dashboard.text

    # the Celery worker with embedded beat came up next to the web server (its log is a file in the data folder)
    worker_log = tmp_path / "data" / "celery.log"
    deadline = time.monotonic() + 30
    while "ready." not in worker_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    worker_text = worker_log.read_text()
    assert "celery@" in worker_text and "ready." in worker_text, worker_text[-4000:]
    assert "beat: Starting..." in worker_text

    # then the address and the demo logins are the last thing printed (the web server's access log aside),
    # with no known-harmless warning or translation statistics around them
    deadline = time.monotonic() + 30
    while "Demo logins:" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    text = log.read_text()
    url = f"http://127.0.0.1:{base_url.rsplit(':', 1)[1]}/"
    assert f"Groupbuy: {url}" in text, text[-4000:]
    after = [
        line
        for line in text[text.index(f"Groupbuy: {url}") :].splitlines()[1:]
        if line.strip() and not ACCESS_LOG_LINE.match(line)
    ]
    assert after[0] == "Demo logins:", text[-4000:]
    # the second operator is the demo's second brand's (demo.brands: 邻家鲜 only)
    roles = ["operator", "operator", "host", "assistant", "member"]
    assert [line.split()[0] for line in after[1:]] == roles, text[-4000:]
    assert all(url in line for line in after[1:])
    for noise in ("SecurityWarning", "No hostname was supplied", "% translated)", "StreamingHttpResponse"):
        assert noise not in text

    # Ctrl-C stops the whole thing: the web server, the worker and its beat
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=30)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base_url}/healthz", timeout=2)
    deadline = time.monotonic() + 15
    while (running := live_members(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert running == [], f"processes left running: {running}"


def live_members(pgid: int) -> list[str]:
    """Processes of the group that are still alive (zombies waiting to be reaped do not count)."""
    ps = subprocess.run(["ps", "-o", "pid=,stat=,args=", "-g", str(pgid)], capture_output=True, text=True)
    return [line.strip() for line in ps.stdout.splitlines() if line.split()[1][0] != "Z"]
