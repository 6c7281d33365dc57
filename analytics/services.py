from typing import Any

from .models import Event

# Payload keys that map onto Event columns; everything else goes into ``properties``.
_COLUMNS = ("user_id", "community_id", "live_session_id", "campaign_id")


def event_record(*, name: str, occurred_at=None, **payload: Any) -> Event:
    """Append one event to the stream."""
    columns = {key: payload.pop(key) for key in _COLUMNS if key in payload}
    event = Event(name=name, properties=payload, **columns)
    if occurred_at is not None:
        event.occurred_at = occurred_at
    event.save()
    return event
