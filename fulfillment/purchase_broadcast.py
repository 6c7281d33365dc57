"""Coalesced real-time broadcasts of a brand's purchase summary (采购汇总), the way jielong's progress goes.

Any change that moves the summary (joins, cancellations, a split, a supplier's confirmation) calls
``summary_changed`` after commit. The first change in a window claims a cache key (atomic ``add``, shared by
every process through Redis) and schedules one flush on the broadcaster thread ``COALESCE_SECONDS`` later;
changes inside the window ride along. When the window closes, a thread of its own (a big brand's summary
reads for a while; the broadcaster thread must stay free for every other push) deletes the key *before*
reading the snapshot, so a commit landing after the read opens a new window and is never lost, and hands
the snapshot to the broadcaster to send. The window grows for a summary that reads slowly (reading at most a
third of the time). One group per brand; every message is the whole, versioned snapshot (the channel layer
delivers at most once; a page re-syncs on reconnect).

Redis down costs the push, never the change that caused it: the failure is logged, and for a few seconds
this process stops trying (each try would wait for the connect timeout on the request's path). The page
still renders from the database and catches up when its socket reconnects.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from functools import partial

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections

from groupbuy.broadcaster import broadcaster

logger = logging.getLogger(__name__)

# A summary reads every live order line of a brand: heavier than a campaign's progress, and an operator
# needs it within a second, not within 100 ms.
COALESCE_SECONDS = 1.0
# A brand whose summary reads slowly waits longer between pushes, up to this (under the pending key's life).
MAX_WINDOW_SECONDS = 8.0
# After Redis failed, skip this long before trying again (the joins keep their speed meanwhile).
BACKOFF_SECONDS = 5.0

# Per brand: the coalescing window, grown for a brand whose summary reads slowly.
_windows: dict[int, float] = {}

_down_until = 0.0
_down_lock = threading.Lock()


def summary_group(brand_id: int) -> str:
    return f"fulfillment.purchase.{brand_id}"


def _pending_key(brand_id: int) -> str:
    return f"fulfillment:purchase-pending:{brand_id}"


def summary_changed(brand_id: int) -> bool:
    """Call after commit whenever something in a brand's purchase summary changed; returns whether a flush
    is scheduled or already pending (False: Redis is down, nothing will be pushed for this change)."""
    global _down_until
    if time.monotonic() < _down_until:
        return False
    try:
        if cache.add(_pending_key(brand_id), 1, timeout=10):
            broadcaster().call_at(
                time.monotonic() + _windows.get(brand_id, COALESCE_SECONDS), partial(_flush, brand_id)
            )
    except Exception:
        with _down_lock:
            _down_until = time.monotonic() + BACKOFF_SECONDS
        logger.warning("purchase summary of brand %s not pushed (Redis unreachable?)", brand_id, exc_info=True)
        return False
    return True


def snapshot_message(snapshot: dict) -> dict:
    """The channel-layer message for a snapshot, serialised once for every watcher."""
    text = json.dumps({"type": "snapshot", "snapshot": snapshot}, cls=DjangoJSONEncoder, ensure_ascii=False)
    return {"type": "purchase.snapshot", "text": text}


def _flush(brand_id: int) -> list[tuple[str, dict]]:
    """The window closed: hand the brand to the reader thread. Runs on the broadcaster thread, which sends
    every app's real-time messages — a summary of a big brand reads for a while, so it is read elsewhere."""
    _reader().queue.put(brand_id)
    return []


def _send(group: str, message: dict) -> list[tuple[str, dict]]:
    return [(group, message)]


class _Reader:
    """One thread per process reads summaries (one at a time) and gives them to the broadcaster to send."""

    def __init__(self) -> None:
        self.queue: queue.Queue[int] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="purchase-summary", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from . import purchase

        while True:
            brand_id = self.queue.get()
            try:
                close_old_connections()
                # Before reading: a change committed after the read opens a new window, never lost.
                cache.delete(_pending_key(brand_id))
                started = time.monotonic()
                message = snapshot_message(purchase.purchase_summary(brand_id=brand_id))
                # A summary that takes long to read is pushed less often (at most a third of the time reading).
                _windows[brand_id] = min(max(COALESCE_SECONDS, 2 * (time.monotonic() - started)), MAX_WINDOW_SECONDS)
                broadcaster().call_soon(partial(_send, summary_group(brand_id), message))
            except Exception:
                logger.exception("purchase summary of brand %s not pushed", brand_id)
            try:
                close_old_connections()
            except Exception:  # the one reader thread must outlive any failure, or no summary is pushed again
                logger.exception("purchase summary reader could not close its connection")


_reader_instance: _Reader | None = None
_reader_lock = threading.Lock()


def _reader() -> _Reader:
    global _reader_instance
    with _reader_lock:
        if _reader_instance is None:
            _reader_instance = _Reader()
        return _reader_instance


def reset_backoff() -> None:
    """Forget a Redis failure (tests)."""
    global _down_until
    _down_until = 0.0
