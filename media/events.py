"""Events the media app publishes: the encoder's connection, keys, pushes and recordings."""

from __future__ import annotations

from groupbuy import events


@events.event("media.stream_connected")
class StreamConnected(events.DomainEvent):
    live_session_id: int


@events.event("media.stream_disconnected")
class StreamDisconnected(events.DomainEvent):
    live_session_id: int


@events.event("media.stream_key_rotated")
class StreamKeyRotated(events.DomainEvent):
    live_session_id: int
    user_id: int


@events.event("media.destination_status_changed")
class DestinationStatusChanged(events.DomainEvent):
    live_session_id: int
    destination_id: int
    status: str


@events.event("media.recording_ready")
class RecordingReady(events.DomainEvent):
    """A recording's MP4 is ready (the highlights app cuts its clips from it)."""

    live_session_id: int
    recording_id: int
