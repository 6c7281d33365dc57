"""What nginx-rtmp asks the app about a stream (its callbacks, ``views.callback_*``), and the answers.

- ``publish_admit``: only the current key of a session that may go live (scheduled or live) is let in;
  the connection is remembered, the room is told the stream is on, and its recording is opened.
- ``update_check``: every MEDIA_UPDATE_SECONDS while it publishes; a rotated key, an ended, cancelled or
  deleted session answers "no", and nginx drops the encoder.
- ``publish_done``: the encoder went away. The session stays live: going live and ending are the host's
  decisions, and an encoder that reconnects carries on (a new recording part).
- ``record_done``: the FLV is complete; the worker turns it into an MP4 (``recordings``).
- ``relay_plan``: what the stream's relay supervisor should push now (only while the session is live).
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from functools import partial

from django.db import transaction

from groupbuy import clock, events
from groupbuy.errors import DomainError
from livestream import broadcast
from livestream.models import LiveSession

from . import config
from . import events as media_events
from .models import Destination, Recording, Stream

MAY_PUBLISH = (LiveSession.Status.SCHEDULED, LiveSession.Status.LIVE)


class IngestRefused(DomainError):
    pass


def _stream(name: str) -> Stream | None:
    return Stream.objects.select_related("session").filter(name=name).first() if name else None


def _key_matches(stream: Stream, key: str) -> bool:
    return bool(key) and hmac.compare_digest(stream.key.encode(), key.encode())


def _connection_alive(stream: Stream, now) -> bool:
    if not stream.is_connected or stream.seen_at is None:
        return False
    from django.conf import settings

    return now - stream.seen_at < timedelta(seconds=3 * settings.MEDIA_UPDATE_SECONDS + 5)


def publish_admit(*, name: str, key: str, client_id: str, addr: str = "") -> Stream:
    """Let an encoder publish, or raise ``IngestRefused`` with the reason (nginx then drops it)."""
    now = clock.now()
    with transaction.atomic():
        stream = _stream(name)
        if stream is None:
            raise IngestRefused("unknown stream", code="unknown")
        stream = Stream.objects.select_for_update().select_related("session").get(pk=stream.pk)
        if not _key_matches(stream, key):
            raise IngestRefused("wrong or old key", code="key")
        if stream.session.status not in MAY_PUBLISH:
            raise IngestRefused(f"session is {stream.session.status}", code="state")
        if stream.client_id != client_id and _connection_alive(stream, now):
            raise IngestRefused("another encoder is publishing with this key", code="busy")
        stream.is_connected, stream.client_id, stream.encoder_addr = True, client_id, addr[:64]
        stream.connected_at = stream.seen_at = now
        stream.save(update_fields=["is_connected", "client_id", "encoder_addr", "connected_at", "seen_at"])
        Recording.objects.create(session_id=stream.session_id, client_id=client_id, started_at=now)
        events.publish(media_events.StreamConnected(live_session_id=stream.session_id))
        transaction.on_commit(partial(broadcast.room_changed, stream.session_id))
    return stream


def update_check(*, name: str, key: str, client_id: str) -> bool:
    """Whether the publishing encoder may carry on (nginx's periodic ``on_update``)."""
    stream = _stream(name)
    if stream is None or not _key_matches(stream, key) or stream.session.status not in MAY_PUBLISH:
        return False
    if stream.client_id and stream.client_id != client_id:
        return False  # a connection the app no longer knows as the session's encoder
    Stream.objects.filter(pk=stream.pk, client_id=client_id).update(seen_at=clock.now(), is_connected=True)
    return True


def publish_done(*, name: str, client_id: str) -> None:
    """The encoder stopped publishing (or was cut off). The session itself stays as it is."""
    now = clock.now()
    with transaction.atomic():
        stream = Stream.objects.select_for_update().filter(name=name).first()
        if stream is None:
            return
        Recording.objects.filter(session_id=stream.session_id, client_id=client_id, ended_at__isnull=True).update(
            ended_at=now
        )
        if stream.client_id != client_id or not stream.is_connected:
            return  # a refused second encoder, or an old connection: the current one is unaffected
        stream.is_connected = False
        stream.disconnected_at = now
        stream.save(update_fields=["is_connected", "disconnected_at"])
        Destination.objects.filter(session_id=stream.session_id).exclude(status=Destination.Status.WAITING).update(
            status=Destination.Status.WAITING, reason="", status_changed_at=now
        )
        events.publish(media_events.StreamDisconnected(live_session_id=stream.session_id))
        transaction.on_commit(partial(broadcast.room_changed, stream.session_id))


def record_done(*, name: str, client_id: str, path: str) -> Recording | None:
    """nginx closed a recording file: remember it and have the worker make the MP4."""
    from . import tasks

    now = clock.now()
    with transaction.atomic():
        stream = Stream.objects.filter(name=name).first()
        if stream is None or not path:
            return None
        recording = (
            Recording.objects.select_for_update()
            .filter(session_id=stream.session_id, client_id=client_id)
            .order_by("-started_at", "-pk")
            .first()
        )
        if recording is None:
            recording = Recording.objects.create(session_id=stream.session_id, client_id=client_id, started_at=now)
        if recording.source_path and recording.source_path != path:
            return recording  # heard already, for another file: keep the first
        recording.source_path = path
        recording.ended_at = recording.ended_at or now
        if recording.status == Recording.Status.RECORDING:
            recording.status = Recording.Status.PROCESSING
        recording.save(update_fields=["source_path", "ended_at", "status"])
        transaction.on_commit(partial(tasks.remux_recording.delay, recording.pk))
    return recording


def relay_plan(*, name: str) -> dict:
    """What the relay supervisor of stream ``name`` should push now: nothing unless the session is live."""
    stream = _stream(name)
    if stream is None:
        return {"live": False, "destinations": [], "gone": True}
    live = stream.session.status == LiveSession.Status.LIVE
    destinations = []
    if live:
        for d in Destination.objects.filter(session_id=stream.session_id, is_enabled=True).order_by("pk"):
            destinations.append({"id": d.pk, "target": d.target})
    return {
        "live": live,
        "gone": stream.session.status not in MAY_PUBLISH,
        "source": config.rtmp_internal_url(stream.name),
        "destinations": destinations,
    }
