"""The one thread per process that sends real-time messages after commit.

Apps schedule jobs (``call_at``); a job runs on this thread, reads what it needs through the ORM and
returns the ``(group, message)`` pairs to send through the channel layer. One thread with its own
event loop keeps the channel layer's Redis connections and the database connection reused, and
keeps the sending off the request path. ``start()`` runs with the server process (see
``groupbuy/asgi.py``): the first start imports the channel layer's client and connects, which done
lazily would stall the server's event loop in the middle of the first burst of traffic.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

from channels.layers import get_channel_layer
from django.db import close_old_connections

logger = logging.getLogger(__name__)

Job = Callable[[], list[tuple[str, dict]]]


class Broadcaster:
    """Jobs run in due order (ties in the order they were queued)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Job]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._layer = get_channel_layer()
        self._thread = threading.Thread(target=self._run, name="broadcaster", daemon=True)
        self._thread.start()

    def call_at(self, due: float, job: Job) -> None:
        """Run ``job`` at ``due`` (``time.monotonic()`` clock) and send what it returns."""
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._seq), job))
            self._cond.notify()

    def call_soon(self, job: Job) -> None:
        self.call_at(time.monotonic(), job)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                _, _, job = heapq.heappop(self._heap)
            try:
                close_old_connections()
                for group, message in job():
                    self._loop.run_until_complete(self._layer.group_send(group, message))
            except Exception:
                logger.exception("broadcast job %r failed", job)
            try:
                close_old_connections()
            except Exception:  # the one sender thread must outlive any failure, or nothing is broadcast again
                logger.exception("broadcaster could not close its connection")


_instance: Broadcaster | None = None
_instance_lock = threading.Lock()


def broadcaster() -> Broadcaster:
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = Broadcaster()
        return _instance


def start() -> None:
    broadcaster()
