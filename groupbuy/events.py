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
_handlers: dict[str, list[Handler]] = defaultdict(list)


@dataclass(frozen=True)
class DomainEvent:
    name: str
    payload: dict[str, Any] = field(default_factory=dict)


def subscribe(name: str, handler: Handler) -> None:
    """Register ``handler`` for events called ``name`` ("*" receives every event)."""
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def unsubscribe(name: str, handler: Handler) -> None:
    if handler in _handlers[name]:
        _handlers[name].remove(handler)


def publish(name: str, **payload: Any) -> None:
    """Publish an event; subscribers run once the current transaction commits."""
    event = DomainEvent(name=name, payload=payload)
    transaction.on_commit(partial(_dispatch, event))


def _dispatch(event: DomainEvent) -> None:
    for handler in [*_handlers.get(event.name, []), *_handlers.get("*", [])]:
        try:
            handler(event)
        except Exception:
            # One failing subscriber must not keep the others from hearing the event.
            logger.exception("domain event handler %r failed for %s", handler, event.name)
