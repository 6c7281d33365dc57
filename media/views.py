"""HTTP faces of the media pipeline.

- ``/internal/media/*``: nginx-rtmp's callbacks and the relay supervisor's. Internal: each request must carry
  the callback secret (``config.callback_secret``); anything else is refused with 403 before it is read.
- ``/host/sessions/<pk>/stream/*``: the host panel's stream card (rotate the key, destinations, live status).
- ``/live/<pk>/replay/<recording>.mp4``: a recording for members of the session's communities and its staff,
  with HTTP range requests (players seek by asking for byte ranges; Safari plays nothing without them).
"""

from __future__ import annotations

import hmac
import logging
import mimetypes
import os
import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from community import selectors as community_selectors
from groupbuy.access import host_required
from groupbuy.errors import DomainError
from livestream import selectors as live_selectors
from livestream.models import LiveSession

from . import config, ingest, room, services
from .models import Destination, Recording

logger = logging.getLogger(__name__)


# --- nginx-rtmp and relay callbacks ----------------------------------------------------------------------


def _internal(view):
    def wrapped(request: HttpRequest, *args, **kwargs):
        given = request.GET.get("secret", "")
        if not hmac.compare_digest(given.encode(), config.callback_secret().encode()):
            return HttpResponseForbidden("forbidden")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return csrf_exempt(wrapped)


@_internal
@require_POST
def callback_publish(request: HttpRequest) -> HttpResponse:
    """on_publish: 2xx lets the encoder in, anything else drops it."""
    data = request.POST
    try:
        ingest.publish_admit(
            name=data.get("name", ""),
            key=data.get("key", ""),
            client_id=data.get("clientid", ""),
            addr=data.get("addr", ""),
        )
    except ingest.IngestRefused as exc:
        logger.info("media: publish of %r from %s refused: %s", data.get("name"), data.get("addr"), exc.message)
        return HttpResponseForbidden(exc.message)
    return HttpResponse("ok")


@_internal
@require_POST
def callback_update(request: HttpRequest) -> HttpResponse:
    """on_update (every MEDIA_UPDATE_SECONDS while publishing): non-2xx cuts the encoder off."""
    data = request.POST
    if data.get("call") != "update_publish":
        return HttpResponse("ok")  # players (the relays) are not checked
    if ingest.update_check(name=data.get("name", ""), key=data.get("key", ""), client_id=data.get("clientid", "")):
        return HttpResponse("ok")
    logger.info("media: stream %r cut off (key rotated, or the session is over)", data.get("name"))
    return HttpResponseForbidden("stop")


@_internal
@require_POST
def callback_publish_done(request: HttpRequest) -> HttpResponse:
    ingest.publish_done(name=request.POST.get("name", ""), client_id=request.POST.get("clientid", ""))
    return HttpResponse("ok")


@_internal
@require_POST
def callback_record_done(request: HttpRequest) -> HttpResponse:
    data = request.POST
    ingest.record_done(name=data.get("name", ""), client_id=data.get("clientid", ""), path=data.get("path", ""))
    return HttpResponse("ok")


@_internal
@require_GET
def callback_relays(request: HttpRequest) -> HttpResponse:
    """The relay supervisor asks what to push now."""
    return JsonResponse(ingest.relay_plan(name=request.GET.get("name", "")))


@_internal
@require_POST
def callback_relay_status(request: HttpRequest) -> HttpResponse:
    try:
        destination_id = int(request.POST.get("destination", ""))
    except ValueError:
        return HttpResponse("bad destination", status=400)
    services.destination_report(
        destination_id=destination_id, status=request.POST.get("status", ""), reason=request.POST.get("reason", "")
    )
    return HttpResponse("ok")


# --- the host panel's stream card -------------------------------------------------------------------------


def _panel_session(request: HttpRequest, pk: int) -> LiveSession:
    # another brand's session answers 404 to a brand's staff, as if it did not exist
    session = get_object_or_404(live_selectors.sessions_of_staff_brands(request.user).select_related("series"), pk=pk)
    if not live_selectors.user_may_open_panel(user=request.user, session=session):
        raise PermissionDenied
    return session


def _back(session: LiveSession) -> HttpResponse:
    return redirect(reverse("livestream:host-panel", args=[session.pk]) + "#stream")


@require_POST
@host_required
def host_rotate_key(request: HttpRequest, pk: int) -> HttpResponse:
    session = _panel_session(request, pk)
    try:
        services.stream_key_rotate(session=session, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("A new stream key is ready. Paste it into your encoder; the old key no longer works.")
        )
    return _back(session)


@require_POST
@host_required
def host_destination_add(request: HttpRequest, pk: int) -> HttpResponse:
    session = _panel_session(request, pk)
    try:
        destination = services.destination_add(
            session=session,
            by=request.user,
            kind=request.POST.get("kind", ""),
            label=request.POST.get("label", ""),
            url=request.POST.get("url", ""),
            stream_key=request.POST.get("stream_key", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("“%(name)s” is added; it is pushed to while you are live.") % {"name": destination.label}
        )
    return _back(session)


def _destination(request: HttpRequest, pk: int, destination_pk: int) -> Destination:
    session = _panel_session(request, pk)
    return get_object_or_404(Destination.objects.select_related("session"), pk=destination_pk, session=session)


@require_POST
@host_required
def host_destination_toggle(request: HttpRequest, pk: int, destination_pk: int) -> HttpResponse:
    destination = _destination(request, pk, destination_pk)
    try:
        services.destination_set_enabled(
            destination=destination, by=request.user, enabled=request.POST.get("enabled") == "1"
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back(destination.session)


@require_POST
@host_required
def host_destination_remove(request: HttpRequest, pk: int, destination_pk: int) -> HttpResponse:
    destination = _destination(request, pk, destination_pk)
    try:
        services.destination_remove(destination=destination, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The destination is removed."))
    return _back(destination.session)


@require_GET
@host_required
def host_stream_status(request: HttpRequest, pk: int) -> HttpResponse:
    """What the stream card shows, polled every couple of seconds while the panel is open."""
    session = _panel_session(request, pk)
    return JsonResponse(room.panel_status(session=session))


# --- replay files -----------------------------------------------------------------------------------------

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


def _may_watch(request: HttpRequest, session: LiveSession) -> bool:
    user = request.user
    if not user.is_authenticated:
        return False
    if live_selectors.user_may_open_panel(user=user, session=session):
        return True
    if user.role != user.Role.MEMBER:
        return False
    community_ids = community_selectors.member_active_community_ids(user=user)
    return live_selectors.member_session(user=user, session_id=session.pk, community_ids=community_ids) is not None


def _file_part(path: str, start: int, length: int):
    with open(path, "rb") as f:
        f.seek(start)
        while length > 0:
            chunk = f.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


@require_GET
def replay_file(request: HttpRequest, pk: int, recording_pk: int) -> HttpResponse:
    recording = get_object_or_404(
        Recording.objects.select_related("session"), pk=recording_pk, session_id=pk, status=Recording.Status.READY
    )
    if not _may_watch(request, recording.session):
        raise Http404
    try:
        path = recording.mp4.path
        size = os.path.getsize(path)
    except (ValueError, OSError):
        raise Http404 from None
    content_type = mimetypes.guess_type(path)[0] or "video/mp4"
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if not match or (not match[1] and not match[2]):
        response = FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115 (FileResponse closes it)
        response["Accept-Ranges"] = "bytes"
        return response
    if match[1]:
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
    else:  # the last N bytes
        start, end = max(0, size - int(match[2])), size - 1
    if start >= size or start > end:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    response = StreamingHttpResponse(_file_part(path, start, end - start + 1), status=206, content_type=content_type)
    response["Content-Length"] = str(end - start + 1)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response
