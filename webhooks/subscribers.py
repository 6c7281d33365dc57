"""webhooks listens to every app's facts, only to fan them out sooner: the stream rows are committed already
and the periodic run (``tasks.run``) finds them without this."""

from __future__ import annotations

from groupbuy import events

from . import catalog, tasks

_NAMES = frozenset(catalog.STREAM_NAMES)


def kick_when_announced(batch: list[events.DomainEvent]) -> None:
    if any(event.name in _NAMES for event in batch):
        tasks.kick()


def register() -> None:
    events.subscribe_many(events.ALL, kick_when_announced)
