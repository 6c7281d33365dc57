"""Rate limits (phone sign-in here; live comments use them too) and sign-in lock-outs, kept in the
cache (Redis in production).

Windows are fixed: the first hit opens a window of ``seconds`` and the counter lives as long as it.
A refused request leaves the counters as they were. Two ways to count:

* ``is_exhausted`` then ``hit`` (read, then count what was let through): fine where a few extra under
  a burst do no harm (wrong staff passwords, live comments);
* ``claim`` then ``refund``: count first, atomically (Redis ``INCR``), and hand the unit back if the
  request is refused after all. A limit counted this way holds under any concurrency: of 30 parallel
  requests against a limit of 1, exactly one sees the counter at 1. Sending texts costs money, so the
  sign-in code limits are claimed.

When the cache (Redis) cannot be reached the functions raise :class:`Unavailable`; callers decide
whether to refuse (sign-in codes do: no limits, no texts) or carry on.

The limits come from settings so an installation can tune them without a deploy of code.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

PREFIX = "signin:"


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    seconds: int
    prefix: str = PREFIX  # the key space of the limit's owner (``clear_all`` clears one space)


def _limit(name: str, default_count: int, default_seconds: int) -> Limit:
    count, seconds = getattr(settings, f"SIGNIN_{name.upper()}", (default_count, default_seconds))
    return Limit(name=name, count=count, seconds=seconds)


class Unavailable(Exception):
    """The cache holding the counters cannot be reached."""


def send_limits_per_phone() -> list[Limit]:
    """Codes texted to one number: 1 a minute, 5 an hour, 10 a day."""
    return [_limit("phone_minute", 1, 60), _limit("phone_hour", 5, 3600), _limit("phone_day", 10, 86400)]


def send_limit_per_ip() -> Limit:
    """Codes sent from one address to numbers that have not signed in since: past this, a challenge."""
    return _limit("ip_hour", 20, 3600)


def send_cap_per_ip() -> Limit:
    """Codes sent from one address to numbers that have not signed in since: past this, refused."""
    return _limit("ip_unverified_hour", 100, 3600)


def sms_budget() -> Limit:
    """Sign-in texts the whole installation sends in an hour (the bill's ceiling)."""
    return _limit("sms_hour", 3000, 3600)


def failure_limit() -> Limit:
    """This many wrong codes within the window lock the phone for ``lockout_seconds()``."""
    return _limit("failures", 5, 15 * 60)


def lockout_seconds() -> int:
    return getattr(settings, "SIGNIN_LOCKOUT_SECONDS", 15 * 60)


def _key(limit: Limit, subject: str) -> str:
    return f"{limit.prefix}{limit.name}:{subject}"


def is_exhausted(limit: Limit, subject: str) -> bool:
    return (cache.get(_key(limit, subject)) or 0) >= limit.count


def hit(limit: Limit, subject: str) -> int:
    """Count one use in the current window and return the new count (atomic on Redis)."""
    key = _key(limit, subject)
    cache.add(key, 0, timeout=limit.seconds)
    try:
        return cache.incr(key)
    except ValueError:
        # The window closed between add and incr.
        cache.set(key, 1, timeout=limit.seconds)
        return 1


def claim(limit: Limit, subject: str) -> bool:
    """Count one use first and say whether it fits the limit; a use that does not fit is refunded."""
    try:
        if hit(limit, subject) <= limit.count:
            return True
        refund(limit, subject)
    except RedisError as exc:
        raise Unavailable(str(exc)) from exc
    return False


def refund(limit: Limit, subject: str) -> None:
    """Hand back one use counted by :func:`claim` (the request was refused later on)."""
    try:
        cache.decr(_key(limit, subject))
    except ValueError:
        pass  # the window closed meanwhile: nothing left to hand back to
    except RedisError as exc:
        raise Unavailable(str(exc)) from exc


def count(limit: Limit, subject: str) -> int:
    try:
        return cache.get(_key(limit, subject)) or 0
    except RedisError as exc:
        raise Unavailable(str(exc)) from exc


def reset(limit: Limit, subject: str) -> None:
    cache.delete(_key(limit, subject))


def _lock_key(phone: str) -> str:
    return f"{PREFIX}locked:{phone}"


def lock(phone: str) -> None:
    cache.set(_lock_key(phone), 1, timeout=lockout_seconds())


def is_locked(phone: str) -> bool:
    return bool(cache.get(_lock_key(phone)))


def clear_all(prefix: str = PREFIX) -> None:
    """Forget every counter and lock of a key space (tests; an operator unlocking everyone)."""
    backend = getattr(cache, "_cache", None)
    if hasattr(backend, "get_client"):
        # Django's Redis backend: delete only our keys, not the rest of the database.
        client = backend.get_client(write=True)
        keys = list(client.scan_iter(match=cache.make_key(f"{prefix}*")))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()
