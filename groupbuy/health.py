"""The state of each dependency, for /healthz, /readyz and the pages that depend on one.

PostgreSQL is always required. Redis is required when configured (``REDIS_URL``): it carries the cache
(sign-in limits), the real-time layer and the task queue. On the embedded default there is no Redis
to be down.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)

UP, DOWN, NOT_CONFIGURED = "ok", "down", "not configured"


def database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        logger.warning("health: the database does not answer", exc_info=True)
        return DOWN
    return UP


def redis() -> str:
    if not settings.REDIS_URL:
        return NOT_CONFIGURED
    backend = getattr(cache, "_cache", None)
    try:
        backend.get_client(write=True).ping()
    except Exception:
        logger.warning("health: Redis does not answer", exc_info=True)
        return DOWN
    return UP


def redis_is_up() -> bool:
    """False only when Redis is configured and does not answer (pages use this to say what is unavailable)."""
    return redis() != DOWN


def check_all() -> dict[str, str]:
    return {"database": database(), "redis": redis()}


def all_up(checks: dict[str, str]) -> bool:
    return DOWN not in checks.values()
