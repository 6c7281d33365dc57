import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

# Playwright's sync API runs an event loop in the test thread; Django must still allow ORM calls there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# GROUPBUY_CLOCK_SHIFT_DAYS=365 runs the session that many days ahead (tests/test_year_ahead.py does): a test
# that hides a literal date near today fails there, and so does a query that lets PostgreSQL's now() judge
# (the database's clock is not shifted; Python's is, for groupbuy.clock and everything else in this process).
CLOCK_SHIFT_ENV = "GROUPBUY_CLOCK_SHIFT_DAYS"
_clock_shift = pytest.StashKey()


def pytest_configure(config):
    """Start the shifted clock before any test database is created, so every row is written in the
    shifted present. Tests that pin the time themselves (``time_machine``) travel on top of it."""
    shift = os.environ.get(CLOCK_SHIFT_ENV)
    if shift:
        import time_machine

        destination = datetime.now(UTC) + timedelta(days=float(shift))
        traveller = time_machine.travel(destination, tick=True)
        traveller.start()
        config.stash[_clock_shift] = traveller


# Files of a minute or so: collected first, so that under xdist (bin/test) they start while the other worker
# goes through the rest, instead of one worker running them alone at the end.
LONG_FILES = ("tests/test_year_ahead.py", "tests/hardening/test_csp_browser.py", "tests/bi/test_demo_browser.py")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in LONG_FILES)


def pytest_unconfigure(config):
    traveller = config.stash.get(_clock_shift, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config):
    if config.stash.get(_clock_shift, None) is not None:
        return f"clock shifted {os.environ[CLOCK_SHIFT_ENV]} days ahead: now is {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    return None


@pytest.fixture
def password():
    from tests.factories import DEFAULT_PASSWORD

    return DEFAULT_PASSWORD


@pytest.fixture(autouse=True)
def _isolated_redis_state_and_language():
    """Redis is not rolled back with the test database: clear the sign-in throttle counters around
    every test. And a page rendered in English leaves English active in the thread; reset it."""
    from django.conf import settings
    from django.utils import translation

    from community import throttle

    throttle.clear_all()
    yield
    throttle.clear_all()
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def asgi_server():
    """uvicorn (HTTP and WebSockets) in its own process against the test database, on a free port.

    A process rather than a thread: its database connections end with it, so the test database
    can be flushed and dropped afterwards.
    """
    db = settings.DATABASES["default"]
    database_url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "groupbuy.settings.test"}
    env.pop(CLOCK_SHIFT_ENV, None)  # the server process is not shifted (the year-ahead run skips browser tests)
    command = [sys.executable, "-m", "uvicorn", "--factory", "tests.jielong.browser_asgi:make_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--ws", "websockets-sansio", "--lifespan", "on"]
    server = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "uvicorn exited"
            assert time.monotonic() < deadline, "uvicorn did not start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
