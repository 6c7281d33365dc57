"""Writes of the media pipeline that people make: the stream key (推流密钥) and the push destinations (多端推流).

What nginx-rtmp asks (may this key publish, the stream ended, a recording is done) is in ``ingest``.
"""

from __future__ import annotations

import ipaddress
import secrets
from functools import partial
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from community.inputs import unstorable
from community.models import User
from groupbuy import clock, events
from groupbuy.errors import DomainError
from livestream import broadcast, selectors
from livestream.models import LiveSession

from . import config
from . import events as media_events
from .models import Destination, Stream

MAX_DESTINATIONS = 6


class StreamPermissionError(DomainError):
    pass


class DestinationInvalid(DomainError):
    def __init__(self, message: str, *, field: str = "", code: str = "invalid") -> None:
        super().__init__(message, code=code)
        self.field = field


def _new_key() -> str:
    return secrets.token_urlsafe(18)


def stream_for(*, session: LiveSession) -> Stream:
    """The session's stream, made on first use with a random public name and a fresh key."""
    stream = Stream.objects.filter(session=session).first()
    if stream is not None:
        return stream
    try:
        with transaction.atomic():
            return Stream.objects.create(session=session, name=f"s{secrets.token_hex(6)}", key=_new_key())
    except IntegrityError:
        return Stream.objects.get(session=session)


def require_control(*, session: LiveSession, by: User) -> None:
    """The session's hosts and operators manage its stream (assistants see it)."""
    if not selectors.user_may_control(user=by, session=session):
        raise StreamPermissionError(_("Only this session's hosts may do that."))


def stream_key_rotate(*, session: LiveSession, by: User) -> Stream:
    """A new key for the session: the old one is refused from now on, and an encoder still publishing with it
    is cut off at nginx's next update call (within MEDIA_UPDATE_SECONDS)."""
    require_control(session=session, by=by)
    stream = stream_for(session=session)
    with transaction.atomic():
        stream = Stream.objects.select_for_update().get(pk=stream.pk)
        stream.key = _new_key()
        stream.key_created_at = clock.now()
        stream.save(update_fields=["key", "key_created_at"])
        events.publish(media_events.StreamKeyRotated(live_session_id=session.pk, user_id=by.pk))
    return stream


# --- destinations ----------------------------------------------------------------------------------------


def _check_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise DestinationInvalid(_("Enter the push URL."), field="url")
    if unstorable(url) or any(c.isspace() for c in url) or len(url) > 300:
        raise DestinationInvalid(_("Enter the push URL as the platform shows it (rtmp://…)."), field="url")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("rtmp", "rtmps") or not parts.hostname:
        raise DestinationInvalid(_("Only RTMP push URLs (rtmp:// or rtmps://) can be used."), field="url")
    try:
        port = parts.port
    except ValueError:
        raise DestinationInvalid(_("The port in the push URL is not valid."), field="url") from None
    host = parts.hostname.lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if config.is_own_ingest(host, port) or (address is not None and address.is_unspecified):
        raise DestinationInvalid(
            _("That URL points at this platform's own server; enter the other platform's."), field="url"
        )
    return url


def _check_fields(*, kind: str, label: str, url: str, stream_key: str) -> tuple[str, str, str, str]:
    if kind not in Destination.Kind.values:
        raise DestinationInvalid(_("Choose where to push."), field="kind")
    label = (label or "").strip() or str(Destination.Kind(kind).label)
    if unstorable(label) or len(label) > 40:
        raise DestinationInvalid(_("Give the destination a shorter name (at most 40 characters)."), field="label")
    url = _check_url(url)
    stream_key = (stream_key or "").strip()
    if unstorable(stream_key) or any(c.isspace() for c in stream_key) or len(stream_key) > 300:
        raise DestinationInvalid(_("The stream key contains characters that cannot be used."), field="stream_key")
    if kind == Destination.Kind.CHANNELS and not stream_key:
        raise DestinationInvalid(
            _("Enter the stream key that WeChat Channels Assistant shows beside the push URL."), field="stream_key"
        )
    return kind, label, url, stream_key


def destination_add(
    *, session: LiveSession, by: User, kind: str, label: str, url: str, stream_key: str = ""
) -> Destination:
    require_control(session=session, by=by)
    kind, label, url, stream_key = _check_fields(kind=kind, label=label, url=url, stream_key=stream_key)
    if session.status in (LiveSession.Status.ENDED, LiveSession.Status.CANCELLED):
        raise DestinationInvalid(_("This session is over."), code="state")
    if Destination.objects.filter(session=session).count() >= MAX_DESTINATIONS:
        raise DestinationInvalid(
            _("A session pushes to at most %(count)s destinations.") % {"count": MAX_DESTINATIONS}, code="limit"
        )
    return Destination.objects.create(
        session=session, kind=kind, label=label, url=url, stream_key=stream_key, created_by=by, is_enabled=True
    )


def destination_set_enabled(*, destination: Destination, by: User, enabled: bool) -> Destination:
    """Turn a destination on or off; the relay supervisor starts or stops its push within a couple of seconds."""
    require_control(session=destination.session, by=by)
    with transaction.atomic():
        destination = Destination.objects.select_for_update().get(pk=destination.pk)
        destination.is_enabled = enabled
        fields = ["is_enabled"]
        if not enabled:
            destination.status, destination.reason, destination.failures = Destination.Status.WAITING, "", 0
            destination.status_changed_at = clock.now()
            fields += ["status", "reason", "failures", "status_changed_at"]
        destination.save(update_fields=fields)
    return destination


def destination_remove(*, destination: Destination, by: User) -> None:
    require_control(session=destination.session, by=by)
    destination.delete()


def destination_report(*, destination_id: int, status: str, reason: str = "", now=None) -> Destination | None:
    """The relay supervisor reports a push's status (connecting, live, retrying, failed, waiting)."""
    if status not in Destination.Status.values:
        return None
    now = now or clock.now()
    with transaction.atomic():
        destination = Destination.objects.select_for_update().filter(pk=destination_id).first()
        if destination is None:
            return None
        if destination.status == status and destination.reason == reason[:300]:
            return destination
        destination.status, destination.reason = status, reason[:300]
        destination.status_changed_at = now
        if status == Destination.Status.LIVE:
            destination.failures = 0
        elif status in (Destination.Status.RETRYING, Destination.Status.FAILED):
            destination.failures += 1
        destination.save(update_fields=["status", "reason", "status_changed_at", "failures"])
        events.publish(
            media_events.DestinationStatusChanged(
                live_session_id=destination.session_id, destination_id=destination.pk, status=status
            )
        )
        transaction.on_commit(partial(broadcast.metrics_changed, destination.session_id))
    return destination
