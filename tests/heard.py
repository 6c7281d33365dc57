"""What a test heard published: the domain events of the given topics, in order, while the block runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from groupbuy import events


@contextmanager
def heard(*topics) -> Iterator[list]:
    got: list = []
    for topic in topics:
        events.subscribe(topic, got.append)
    try:
        yield got
    finally:
        for topic in topics:
            events.unsubscribe(topic, got.append)
