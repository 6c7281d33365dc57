"""Writes at the same moment (PostgreSQL, ``django_db(transaction=True)``): each in a thread and a transaction of its
own, started together, each holding its write a moment before committing, so the others write meanwhile and none
sees the others' rows when it writes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connection, transaction


def held_writes(writes: list[tuple[Callable[[], object], float]], *, hold: float = 0.3) -> None:
    """Run each ``(write, delay)``: after ``delay`` seconds from the common start, ``write()`` in a transaction held
    ``hold`` seconds before its commit. Fails with the first error any of them raised."""
    start = threading.Barrier(len(writes))
    failed: list[BaseException] = []

    def run(write: Callable[[], object], delay: float) -> None:
        try:
            start.wait(timeout=30)
            time.sleep(delay)
            with transaction.atomic():
                write()
                time.sleep(hold)  # the other transactions write meanwhile
        except BaseException as exc:  # pragma: no cover - reported below
            failed.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in writes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failed == []
