"""A small in-process bus for typed domain events.

Each app declares the events it publishes as frozen dataclasses in its own ``events.py``::

    @events.event("jielong.campaign_opened")
    class CampaignOpened(events.DomainEvent):
        campaign_id: int
        live_session_id: int | None

Upstream apps publish (``livestream`` says "the session ended"); downstream apps subscribe in their
``AppConfig.ready`` (``jielong`` opens the prepared campaign). That keeps imports pointing one way: a
subscriber imports the publisher's ``events`` module, never the reverse. Handlers run after the
publishing transaction commits, so nothing reacts to a change that was rolled back; one failing
handler is logged and does not keep the others from hearing the event.

Publishing also writes the event to the durable stream (``groupbuy.stream``) at once, in the publishing
transaction (a transactional outbox): it commits or rolls back with the fact, and a crash between the
commit and the handlers loses nothing. Work that must not be lost reads the stream instead of
subscribing (``groupbuy.stream.relay``). ``key=("order_id",)`` on a declaration makes the stream row's id
follow from those fields, so publishing the same fact twice (a retry) writes one row.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, ClassVar, TypeVar

from django.db import transaction

logger = logging.getLogger(__name__)

ALL = "*"


@dataclasses.dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Base of every event. ``name`` is the stable wire name (the analytics stream stores it)."""

    name: ClassVar[str] = ""
    # Fields that identify the fact: its stream row's id is derived from them (idempotent on retry).
    stream_key: ClassVar[tuple[str, ...]] = ()

    @property
    def payload(self) -> dict[str, Any]:
        """The fields as a plain dict (what the event stream stores)."""
        return dataclasses.asdict(self)


E = TypeVar("E", bound=type[DomainEvent])

# name -> event class, filled by @event as each app's events module is imported.
registry: dict[str, type[DomainEvent]] = {}


def event(name: str, *, key: tuple[str, ...] = ()) -> Callable[[E], E]:
    """Declare an event class: a frozen, keyword-only dataclass registered under ``name``; ``key``
    names the fields that identify the fact (see the module docstring)."""

    def declare(cls: E) -> E:
        if name in registry and registry[name].__qualname__ != cls.__qualname__:
            raise ValueError(f"event {name!r} is declared twice ({registry[name]!r} and {cls!r})")
        cls.name = name
        cls.stream_key = tuple(key)
        declared = dataclasses.dataclass(frozen=True, kw_only=True)(cls)
        registry[name] = declared
        return declared

    return declare


Handler = Callable[[DomainEvent], None]
BatchHandler = Callable[[list[DomainEvent]], None]
Topic = type[DomainEvent] | str  # an event class, or ALL

_handlers: dict[str, list[Handler]] = defaultdict(list)
# Handlers that take a list: a burst of events (a batch of joins) costs them one call, not one per event.
_batch_handlers: dict[str, list[BatchHandler]] = defaultdict(list)


def _topic_name(topic: Topic) -> str:
    if topic == ALL:
        return ALL
    if isinstance(topic, type) and issubclass(topic, DomainEvent) and topic.name:
        return topic.name
    raise TypeError(f"subscribe to a declared event class or events.ALL, not {topic!r}")


def subscribe(topic: Topic, handler: Handler) -> None:
    """Register ``handler`` for events of class ``topic`` (``ALL`` receives every event)."""
    handlers = _handlers[_topic_name(topic)]
    if handler not in handlers:
        handlers.append(handler)


def subscribe_many(topic: Topic, handler: BatchHandler) -> None:
    """Register ``handler`` to receive events of ``topic`` (``ALL``: every event) as lists, in publishing order."""
    handlers = _batch_handlers[_topic_name(topic)]
    if handler not in handlers:
        handlers.append(handler)


def unsubscribe(topic: Topic, handler: Handler | BatchHandler) -> None:
    name = _topic_name(topic)
    for handlers in (_handlers, _batch_handlers):
        if handler in handlers[name]:
            handlers[name].remove(handler)


def _check(event: DomainEvent) -> DomainEvent:
    if not isinstance(event, DomainEvent) or registry.get(event.name) is not type(event):
        raise TypeError(f"publish an instance of a declared event class, not {event!r}")
    return event


def publish(event: DomainEvent, *, recorded: bool = False) -> None:
    """Publish an event: its stream row now, in the current transaction; subscribers once it commits.

    ``recorded``: the caller's own statement already wrote the row (the join's SQL); dispatch only."""
    publish_many([event], recorded=recorded)


def publish_many(batch: Iterable[DomainEvent], *, recorded: bool = False) -> None:
    """Publish several events at once (one INSERT into the stream; after commit, batch handlers get
    them in one call)."""
    checked = [_check(event) for event in batch]
    if not checked:
        return
    if not recorded:
        from groupbuy.stream import envelope

        envelope.record(checked)
    transaction.on_commit(partial(_dispatch_many, checked))


def _dispatch_many(batch: list[DomainEvent]) -> None:
    for event in batch:
        for handler in [*_handlers.get(event.name, []), *_handlers.get(ALL, [])]:
            _call(handler, event, event.name)
    names = list(dict.fromkeys(event.name for event in batch))
    for name in [*names, ALL]:
        for handler in _batch_handlers.get(name, []):
            selected = batch if name == ALL else [event for event in batch if event.name == name]
            _call(handler, selected, name)


def _call(handler, argument, name: str) -> None:
    try:
        handler(argument)
    except Exception:
        # One failing subscriber must not keep the others from hearing the event.
        logger.exception("domain event handler %r failed for %s", handler, name)
