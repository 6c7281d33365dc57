"""Tests run against a real PostgreSQL and a real Redis (the CI script starts both)."""

import os
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("DATABASE_URL", "postgres://groupbuy:groupbuy@127.0.0.1:5432/groupbuy")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
# Under pytest-xdist each worker (gw0, gw1, …) gets its own test database (pytest-django suffixes the name)
# and, here, its own Redis database: the next numbers after the configured one. Set in the environment so the
# servers and workers the tests start inherit it.
# The mark keeps those children (which load these settings too) from moving it once more.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "").removeprefix("gw")
if _worker and os.environ.get("GROUPBUY_TEST_REDIS_MOVED") != _worker:
    os.environ["GROUPBUY_TEST_REDIS_MOVED"] = _worker

    _redis = urlsplit(os.environ["REDIS_URL"])
    _db = int(_redis.path.strip("/") or 0) + int(_worker)
    os.environ["REDIS_URL"] = urlunsplit(_redis._replace(path=f"/{_db}"))

from .base import *  # noqa: E402, F403
from .base import DATABASES  # noqa: E402

DEBUG = False
SECRET_KEY = "test-only"
SMS_SHOW_CODE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LANGUAGE_CODE = "zh-hans"
# Each test database gets its own short-lived pool; keep it small so parallel runs fit.
DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": 20, "timeout": 10}
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# No collected static files in tests: Django's static handlers (the live server's, tests/jielong/browser_asgi.py)
# serve static/ itself. Without a root, whitenoise does not warn on each handler it starts (1,280 warnings a run).
STATIC_ROOT = None
# The read replica as Django's test mirror of the default database: the same test database under another alias
# (its own connection, no pool, so the test database can be dropped). Reads stay on the primary unless a test
# turns the routing on (DATABASE_REPLICA_ALIAS = "replica", tests/ops/test_replica_routing.py): tests in a
# rolled-back transaction could not see their own rows through a second connection.
DATABASES["replica"] = {
    **DATABASES["default"],
    "OPTIONS": {k: v for k, v in DATABASES["default"]["OPTIONS"].items() if k != "pool"},
    "CONN_MAX_AGE": 0,
    "TEST": {"MIRROR": "default"},
}
DATABASE_REPLICA_ALIAS = ""
