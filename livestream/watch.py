"""Watch time from the player's heartbeats, and the online count and peak concurrency.

The live room sends a heartbeat about every ``HEARTBEAT_SECONDS``. Each heartbeat credits the member
``min(gap, 2 × interval)`` seconds, where ``gap`` is the time since their previous heartbeat: the first
heartbeat credits nothing, a tab paused for ten minutes credits at most 20 s for the pause, and a
heartbeat arriving out of order credits nothing and does not move ``last_seen_at`` back.

Who is online lives in Redis (a sorted set of member → last heartbeat; members silent for longer than
two intervals drop out); peak concurrency and one sample per minute are saved to the database.
Without ``REDIS_URL`` (the embedded default, one process) the same is kept in the Django cache.

When Redis does not answer, watch time is still credited (it lives in PostgreSQL) and the heartbeat
answers normally with the online count and peak unknown (``None``); the room shows a dash.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from community.models import User
from groupbuy import clock, events
from groupbuy.commit import after_commit
from groupbuy.errors import DomainError

from . import broadcast
from . import events as livestream_events
from .models import LiveSession, ViewerSample, WatchRecord

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10
MAX_CREDIT_SECONDS = 2 * HEARTBEAT_SECONDS


class NotLiveError(DomainError):
    pass


def credit_for_gap(gap_seconds: float) -> int:
    """Seconds credited for one heartbeat that follows the previous one by ``gap_seconds``."""
    if gap_seconds <= 0:
        return 0
    return int(min(gap_seconds, MAX_CREDIT_SECONDS))


# --- online set ------------------------------------------------------------------------------------

_redis_client = None
_redis_url = ""
_redis_lock = threading.Lock()

_PEAK_SCRIPT = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('EXPIRE', KEYS[1], 86400)
local online = redis.call('ZCARD', KEYS[1])
local peak = tonumber(redis.call('GET', KEYS[2]) or '0')
if online > peak then
  peak = online
  redis.call('SET', KEYS[2], peak, 'EX', 86400)
end
return {online, peak}
"""


def _redis():
    global _redis_client, _redis_url
    if not settings.REDIS_URL:
        return None
    with _redis_lock:
        if _redis_client is None or _redis_url != settings.REDIS_URL:
            import redis

            # Fail fast like the cache: a Redis that is away costs a heartbeat a second, not a hang.
            _redis_client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
            _redis_url = settings.REDIS_URL
        return _redis_client


def _keys(session_id: int) -> tuple[str, str]:
    return f"live:{session_id}:online", f"live:{session_id}:peak"


def online_touch(*, session_id: int, user_id: int, at: float) -> tuple[int, int]:
    """Mark the member online at ``at`` (epoch seconds); returns (online now, peak so far)."""
    cutoff = at - MAX_CREDIT_SECONDS
    client = _redis()
    online_key, peak_key = _keys(session_id)
    if client is not None:
        online, peak = client.eval(_PEAK_SCRIPT, 2, online_key, peak_key, at, user_id, cutoff)
        return int(online), int(peak)
    with _redis_lock:  # one process only: the embedded default
        seen = {k: v for k, v in (cache.get(online_key) or {}).items() if v > cutoff}
        seen[user_id] = at
        peak = max(cache.get(peak_key) or 0, len(seen))
        cache.set(online_key, seen, 86400)
        cache.set(peak_key, peak, 86400)
        return len(seen), peak


def online_counts(*, session_id: int) -> tuple[int | None, int | None]:
    """(online now, peak) without touching anyone; (None, None) while Redis does not answer."""
    online_key, peak_key = _keys(session_id)
    cutoff = time.time() - MAX_CREDIT_SECONDS
    client = _redis()
    if client is not None:
        try:
            online = client.zcount(online_key, f"({cutoff}", "+inf")
            return int(online), int(client.get(peak_key) or 0)
        except Exception:
            logger.warning("online count of live %s: Redis does not answer", session_id, exc_info=True)
            return None, None
    seen = cache.get(online_key) or {}
    return len([v for v in seen.values() if v > cutoff]), int(cache.get(peak_key) or 0)


# --- heartbeat -------------------------------------------------------------------------------------


def heartbeat_record(*, session: LiveSession, user: User, now: datetime | None = None) -> dict[str, int | None]:
    """Credit one heartbeat; returns the seconds credited, the member's total, online now and the peak
    (``None`` for both while Redis does not answer).

    Analytics hear ``livestream.entered`` on the first heartbeat and ``livestream.heartbeat`` (with the
    running total) on the first credited heartbeat of each later minute.
    """
    now = now or clock.now()
    if session.status != LiveSession.Status.LIVE:
        raise NotLiveError(_("This session is not live."))
    with transaction.atomic():
        record, created = WatchRecord.objects.get_or_create(
            session=session, user=user, defaults={"first_seen_at": now, "last_seen_at": now}
        )
        credited = 0
        new_minute = False
        if not created:
            record = WatchRecord.objects.select_for_update().get(pk=record.pk)
            gap = (now - record.last_seen_at).total_seconds()
            credited = credit_for_gap(gap)
            if gap > 0:
                new_minute = _minute(now) != _minute(record.last_seen_at)
                WatchRecord.objects.filter(pk=record.pk).update(
                    seconds_watched=F("seconds_watched") + credited, last_seen_at=now
                )
        else:
            events.publish(livestream_events.Entered(live_session_id=session.pk, user_id=user.pk))
        total = WatchRecord.objects.values_list("seconds_watched", flat=True).get(pk=record.pk)
        if new_minute:
            # At most one analytics event per member and minute, not one per 10-second beat.
            events.publish(
                livestream_events.Heartbeat(live_session_id=session.pk, user_id=user.pk, seconds_watched=total)
            )
    try:
        online, peak = online_touch(session_id=session.pk, user_id=user.pk, at=now.timestamp())
    except Exception:
        # The watch time above is committed: the heartbeat succeeded, only the online count is unknown.
        logger.warning("heartbeat of live %s: Redis does not answer", session.pk, exc_info=True)
        online = peak = None
    else:
        _save_sample(session_id=session.pk, now=now, online=online, peak=peak)
    after_commit(broadcast.metrics_changed, session.pk)
    return {"credited": credited, "seconds_watched": total, "online": online, "peak": peak}


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def _save_sample(*, session_id: int, now: datetime, online: int, peak: int) -> None:
    minute = now.replace(second=0, microsecond=0)
    ViewerSample.objects.bulk_create(
        [ViewerSample(session_id=session_id, minute=minute, online=online)], ignore_conflicts=True
    )
    ViewerSample.objects.filter(session_id=session_id, minute=minute, online__lt=online).update(online=online)
    LiveSession.objects.filter(pk=session_id, peak_online__lt=peak).update(peak_online=peak)


def left_record(*, session_id: int, user_id: int, seconds_connected: int) -> None:
    """The member closed the live room (their socket went away): ``livestream.left`` for analytics."""
    if not WatchRecord.objects.filter(session_id=session_id, user_id=user_id).exists():
        return  # never watched (the session was not live): nothing to leave
    events.publish(
        livestream_events.Left(live_session_id=session_id, user_id=user_id, seconds_connected=seconds_connected)
    )
    transaction.on_commit(partial(broadcast.metrics_changed, session_id))
