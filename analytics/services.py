"""Direct writes to the event stream, for producers that are not domain events (the Celery task below;
domain events are written by ``groupbuy.events.publish`` through ``groupbuy.stream.envelope``)."""

from typing import Any

from .models import Event

# Payload keys that map onto Event columns; everything else goes into ``properties``.
_COLUMNS = ("user_id", "community_id", "live_session_id", "campaign_id")


def _event(name: str, payload: dict[str, Any], occurred_at=None) -> Event:
    columns = {key: payload.pop(key) for key in _COLUMNS if key in payload}
    event = Event(name=name, properties=payload, **columns)
    if occurred_at is not None:
        event.occurred_at = occurred_at
    return event


def event_record(*, name: str, occurred_at=None, **payload: Any) -> Event:
    """Append one event to the stream."""
    event = _event(name, payload, occurred_at)
    event.save()
    return event


def events_record(batch: list[tuple[str, dict[str, Any]]]) -> list[Event]:
    """Append several events in one INSERT."""
    return Event.objects.bulk_create([_event(name, dict(payload)) for name, payload in batch])
