"""A domain event → its stream row (``stream.Event``), and the context that fills what the event
itself does not know: the device id of an anonymous visitor, the channel, a historical time.

The mapping is small on purpose, so the apps' events need no changes to be recorded well:

- ``user_id``, ``community_id``, ``live_session_id``, ``campaign_id`` are columns and leave the
  properties (as the stream always stored them); everything else stays in ``properties``;
- ``order_id`` is copied to its column, and so is the amount: ``amount_fen``, else ``total_fen``;
- the distinct id is ``user:<id>`` for a signed-in person, else ``device:<id>`` from the context;
- the source is the context's, else the channel the event's app belongs to (``SOURCES``);
- the uuid is random, unless the event class declares ``key`` fields (``events.event(name, key=...)``):
  then it is derived from them (``key_uuid``), so a retried write of the same fact is one row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any

from groupbuy import clock

if TYPE_CHECKING:
    from groupbuy.events import DomainEvent

    from .models import Event

COLUMNS = ("user_id", "community_id", "live_session_id", "campaign_id")
AMOUNT_FIELDS = ("amount_fen", "total_fen")
# The channel (直播 / 社群 / 商城) an app's events come through, when the context does not say.
SOURCES = {"livestream": "live", "community": "community"}
DEFAULT_SOURCE = "mall"


@dataclasses.dataclass(frozen=True)
class Context:
    """What the code around a publish knows: set by middleware, a task, or the demo's history."""

    device_id: str = ""  # the anonymous device cookie (analytics' middleware)
    source: str = ""
    occurred_at: datetime | None = None  # a historical time (the demo tells history through services)
    properties: Mapping[str, Any] | None = None  # merged into every row (the demo's seed mark)
    recording: bool = True  # False: publish dispatches handlers but writes no row


_EMPTY = Context()
_context: ContextVar[Context | None] = ContextVar("groupbuy_stream_context", default=None)


def current() -> Context:
    return _context.get() or _EMPTY


@contextmanager
def context(**changes: Any) -> Iterator[Context]:
    """Publish with these context values inside the block (nested blocks override field by field)."""
    token = _context.set(dataclasses.replace(current(), **changes))
    try:
        yield current()
    finally:
        _context.reset(token)


def key_uuid(name: str, key: tuple[Any, ...]) -> uuid.UUID:
    """The event id of the fact ``name`` identified by ``key`` — the same in SQL: ``md5(text)::uuid``
    of ``name:part1:part2`` (the join's statement writes its rows with it, ``jielong.join.sql``)."""
    text = ":".join([name, *(str(part) for part in key)])
    return uuid.UUID(hashlib.md5(text.encode()).hexdigest())


def distinct_id_of_user(user_id: int) -> str:
    return f"user:{user_id}"


def distinct_id_of_device(device_id: str) -> str:
    return f"device:{device_id}"


def default_source(name: str) -> str:
    return SOURCES.get(name.partition(".")[0], DEFAULT_SOURCE)


def row(event: DomainEvent, *, context: Context | None = None, now: datetime | None = None) -> Event:
    """The unsaved stream row for ``event`` (see the module docstring for the mapping)."""
    from .models import Event

    context = context or current()
    payload = json.loads(json.dumps(event.payload, default=str))  # JSON as stored: a tuple comes back a list
    columns = {key: payload.pop(key) for key in COLUMNS if key in payload}
    amount = next((payload[f] for f in AMOUNT_FIELDS if type(payload.get(f)) is int), None)
    order_id = payload.get("order_id")
    user_id = columns.get("user_id")
    if user_id:
        distinct_id = distinct_id_of_user(user_id)
    elif context.device_id:
        distinct_id = distinct_id_of_device(context.device_id)
    else:
        distinct_id = ""
    key_fields = type(event).stream_key
    received = now or clock.now()
    return Event(
        uuid=key_uuid(event.name, tuple(getattr(event, f) for f in key_fields)) if key_fields else uuid.uuid4(),
        name=event.name,
        occurred_at=context.occurred_at or received,
        received_at=received,
        distinct_id=distinct_id,
        source=context.source or default_source(event.name),
        order_id=order_id if type(order_id) is int else None,
        amount_fen=amount,
        properties={**payload, **(context.properties or {})},
        **columns,
    )


def record(batch: list[DomainEvent]) -> list[Event]:
    """Write ``batch``'s rows in the current transaction (one INSERT; a row whose uuid is already in
    the stream is skipped). Nothing when the context says not to record."""
    from .models import Event

    context = current()
    if not context.recording or not batch:
        return []
    now = clock.now()
    return Event.objects.bulk_create([row(event, context=context, now=now) for event in batch], ignore_conflicts=True)
