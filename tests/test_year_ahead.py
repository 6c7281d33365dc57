"""The date-sensitive tests pass a year from now too.

A test that writes a literal date near today passes until that day comes (ours went off on 2026-11-30).
This runs the modules whose rules depend on the date once more in a child pytest with the whole session
moved a year ahead (``GROUPBUY_CLOCK_SHIFT_DAYS``, see ``tests/conftest.py``), so such a date fails
today instead of on its day. Browser tests are left out (their servers run on the real clock) and the
child gets a database of its own, so it never touches this run's test database.
"""

import os
import subprocess
import sys
from urllib.parse import quote

from django.conf import settings

from tests.conftest import CLOCK_SHIFT_ENV

DATE_SENSITIVE_MODULES = [
    "tests/community/test_rhythm.py",  # the content calendar, slots, the scheduler
    "tests/livestream/test_warmup*.py",  # the warm-up schedule before a live
    "tests/jielong/join/test_join.py",  # joining: campaign deadlines and opening times
    "tests/jielong/services/test_campaigns.py",  # opening later, closing
    "tests/jielong/test_builder.py",
    "tests/jielong/test_ops_pages.py",
    "tests/test_member_login.py",  # sign-in code expiry
    "tests/community/test_signin_throttle.py",
    "tests/community/test_feed.py",  # feed and live dates
]


def _database_url(suffix: str) -> str:
    """This run's database with ``suffix`` on its name (the child's test database is ``test_<that>``)."""
    db = settings.DATABASES["default"]
    name = db["NAME"]
    test_name = (db.get("TEST") or {}).get("NAME")
    # Once this run has set up its test database, NAME is the test database's: take the original back.
    if name == test_name or (not test_name and name.startswith("test_")):
        name = name.removeprefix("test_")
    user, password = quote(db["USER"], safe=""), quote(db["PASSWORD"], safe="")
    return f"postgres://{user}:{password}@{db['HOST']}:{db['PORT']}/{name}{suffix}"


def _paths() -> dict[str, list[str]]:
    """Each entry of the list (a path or a glob, so a module split in two stays covered) and what it matches."""
    base = settings.BASE_DIR
    return {
        pattern: sorted(str(path.relative_to(base)) for path in base.glob(pattern))
        for pattern in DATE_SENSITIVE_MODULES
    }


def test_the_date_sensitive_modules_are_where_this_list_says():
    # A module that moved would otherwise end the child run with "file not found" at best.
    assert [pattern for pattern, paths in _paths().items() if not paths] == []


def test_the_date_sensitive_modules_pass_with_the_clock_a_year_ahead():
    env = {**os.environ, CLOCK_SHIFT_ENV: "365", "DATABASE_URL": _database_url("_year_ahead")}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += [path for paths in _paths().values() for path in paths]
    command += ["-m", "not browser"]

    result = subprocess.run(
        command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=600, check=False
    )

    exit_code, tail = result.returncode, "\n".join((result.stdout + result.stderr).splitlines()[-60:])
    assert exit_code == 0, f"with the clock a year ahead:\n{tail}"
