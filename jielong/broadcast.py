"""Coalesced real-time broadcasts of campaign snapshots.

A join storm must not become a message storm: the first change in a window claims a cache key
(atomic ``add``, shared by every app process through Redis) and schedules one flush
``COALESCE_SECONDS`` later; changes inside the window only ride along. The flush deletes the key
*before* reading the snapshot, so a commit that lands after the read claims a new window and is
never lost. Each campaign thus gets at most ~1/COALESCE_SECONDS messages per second, each one a
full, versioned snapshot.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import threading
import time

from channels.layers import get_channel_layer
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections

logger = logging.getLogger(__name__)

COALESCE_SECONDS = 0.1


def campaign_group(campaign_id: int) -> str:
    return f"jielong.campaign.{campaign_id}"


def _pending_key(campaign_id: int) -> str:
    return f"jielong:broadcast-pending:{campaign_id}"


def snapshot_changed(campaign_id: int) -> None:
    """Call after commit whenever a campaign's visible state changed."""
    if cache.add(_pending_key(campaign_id), 1, timeout=10):
        _broadcaster().schedule(campaign_id, time.monotonic() + COALESCE_SECONDS)


def _flush(campaign_id: int) -> None:
    """Send the current snapshot to everyone watching the campaign. Runs on the broadcaster thread."""
    from .selectors import campaign_snapshot

    cache.delete(_pending_key(campaign_id))
    snapshot = campaign_snapshot(campaign_id=campaign_id)
    if snapshot is None:
        return
    text = json.dumps({"type": "snapshot", "snapshot": snapshot}, cls=DjangoJSONEncoder, ensure_ascii=False)
    _broadcaster().send(campaign_group(campaign_id), {"type": "campaign.snapshot", "text": text})


class _Broadcaster:
    """One thread per process with its own event loop, so the channel layer's Redis pools are reused."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._layer = get_channel_layer()
        self._thread = threading.Thread(target=self._run, name="jielong-broadcaster", daemon=True)
        self._thread.start()

    def schedule(self, campaign_id: int, due: float) -> None:
        with self._cond:
            heapq.heappush(self._heap, (due, campaign_id))
            self._cond.notify()

    def send(self, group: str, message: dict) -> None:
        # Only from the broadcaster thread: the loop belongs to it.
        self._loop.run_until_complete(self._layer.group_send(group, message))

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                _, campaign_id = heapq.heappop(self._heap)
            try:
                close_old_connections()
                _flush(campaign_id)
            except Exception:
                logger.exception("broadcast of campaign %s failed", campaign_id)
                cache.delete(_pending_key(campaign_id))
            finally:
                close_old_connections()


_instance: _Broadcaster | None = None
_instance_lock = threading.Lock()


def start() -> None:
    """Start this process's broadcaster now rather than at the first change: its first start imports
    the channel layer's Redis client and connects, which would otherwise stall the server's event
    loop for a few hundred milliseconds in the middle of the first join storm."""
    _broadcaster()


def _broadcaster() -> _Broadcaster:
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = _Broadcaster()
        return _instance
