"""A small in-process domain-event bus.

Upstream apps publish (``livestream`` says "the session ended"); downstream apps subscribe in their
``AppConfig.ready`` (``jielong`` opens the prepared campaign). That keeps imports pointing one way:
the publisher never imports the subscriber. Handlers run after the publishing transaction commits,
so nothing reacts to a change that was rolled back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[["DomainEvent"], None]
BatchHandler = Callable[[list["DomainEvent"]], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
# Handlers that take a list: a burst of events (a batch of joins) costs them one call, not one per event.
_batch_handlers: dict[str, list[BatchHandler]] = defaultdict(list)


@dataclass(frozen=True)
class DomainEvent:
    name: str
    payload: dict[str, Any] = field(default_factory=dict)


def subscribe(name: str, handler: Handler) -> None:
    """Register ``handler`` for events called ``name`` ("*" receives every event)."""
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def subscribe_many(name: str, handler: BatchHandler) -> None:
    """Register ``handler`` to receive events called ``name`` ("*": all) as lists, in publishing order."""
    if handler not in _batch_handlers[name]:
        _batch_handlers[name].append(handler)


def unsubscribe(name: str, handler: Handler | BatchHandler) -> None:
    for registry in (_handlers, _batch_handlers):
        if handler in registry[name]:
            registry[name].remove(handler)


def publish(name: str, **payload: Any) -> None:
    """Publish an event; subscribers run once the current transaction commits."""
    event = DomainEvent(name=name, payload=payload)
    transaction.on_commit(partial(_dispatch, event))


def publish_many(published: list[tuple[str, dict[str, Any]]]) -> None:
    """Publish several events at once (after commit, like ``publish``)."""
    if published:
        batch = [DomainEvent(name=name, payload=payload) for name, payload in published]
        transaction.on_commit(partial(_dispatch_many, batch))


def _dispatch(event: DomainEvent) -> None:
    _dispatch_many([event])


def _dispatch_many(batch: list[DomainEvent]) -> None:
    for event in batch:
        for handler in [*_handlers.get(event.name, []), *_handlers.get("*", [])]:
            _call(handler, event, event.name)
    names = {event.name for event in batch}
    for name in [*names, "*"]:
        for handler in _batch_handlers.get(name, []):
            selected = batch if name == "*" else [event for event in batch if event.name == name]
            _call(handler, selected, name)


def _call(handler, argument, name: str) -> None:
    try:
        handler(argument)
    except Exception:
        # One failing subscriber must not keep the others from hearing the event.
        logger.exception("domain event handler %r failed for %s", handler, name)
