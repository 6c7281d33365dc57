"""Durable consumers of the event stream: work that must happen after a commit and must not be lost
reads the stream by id from its own cursor (``stream.Cursor``), instead of (or as well as) hearing the
in-process event, which a crash between the commit and the handler would lose.

A consumer is ``handle(rows)`` over ``stream.Event`` rows in id order; it runs in the transaction that
moves its cursor, so its database writes and the cursor commit together (exactly once); its other
effects must be idempotent. ``reset`` (optional) clears what the consumer derived, for a rebuild from
the raw stream (``manage.py stream_rebuild``).

Ids come from a sequence, so a row can commit after a row with a higher id; the relay only reads rows
received more than ``SETTLE`` ago, longer than any transaction that writes the stream is allowed to run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from groupbuy import clock

from .models import Cursor, Event

logger = logging.getLogger(__name__)

SETTLE = timedelta(seconds=60)
BATCH = 2000


@dataclass(frozen=True)
class Consumer:
    name: str
    handle: Callable[[list[Event]], None]
    reset: Callable[[], None] | None = None


consumers: dict[str, Consumer] = {}


def register(name: str, handle: Callable[[list[Event]], None], *, reset: Callable[[], None] | None = None) -> None:
    """Register a durable consumer (from an ``AppConfig.ready``)."""
    consumers[name] = Consumer(name, handle, reset)


def consume(
    name: str, *, now: datetime | None = None, settle: timedelta = SETTLE, batch: int = BATCH, max_batches: int = 50
) -> int:
    """Hand ``name`` the rows after its cursor, a batch per transaction; returns how many it handled.
    Safe to run concurrently (the cursor row is locked) and again (it resumes after the last commit)."""
    consumer = consumers[name]
    until = (now or clock.now()) - settle
    Cursor.objects.get_or_create(name=name)
    handled = 0
    for _ in range(max_batches):
        with transaction.atomic():
            cursor = Cursor.objects.select_for_update().get(name=name)
            rows = list(Event.objects.filter(pk__gt=cursor.position, received_at__lte=until).order_by("pk")[:batch])
            if not rows:
                break
            consumer.handle(rows)
            Cursor.objects.filter(name=name).update(position=rows[-1].pk, updated_at=clock.now())
        handled += len(rows)
        if len(rows) < batch:
            break
    return handled


def relay(*, now: datetime | None = None, settle: timedelta = SETTLE) -> dict[str, int]:
    """Run every registered consumer from its cursor (the periodic task). One failing consumer is
    logged, keeps its cursor, and does not stop the others."""
    done = {}
    for name in list(consumers):
        try:
            done[name] = consume(name, now=now, settle=settle)
        except Exception:
            logger.exception("stream consumer %s failed; it resumes from its cursor next time", name)
    return done


def rebuild(name: str) -> int:
    """Clear what consumer ``name`` derived and replay the whole stream through it."""
    consumer = consumers[name]
    with transaction.atomic():
        if consumer.reset is not None:
            consumer.reset()
        Cursor.objects.update_or_create(name=name, defaults={"position": 0, "updated_at": clock.now()})
    return consume(name, settle=timedelta(0), max_batches=10**9)
