"""What the live room and the host's panel show of the media pipeline (registered as livestream hooks).

``room_media`` is the ``media`` part of the room snapshot every watcher gets over the socket: whether an
encoder is on air (the room switches from the waiting card to the player without a reload), the HLS URL,
whether the media server answers, and the replays with their chapters once recordings are ready.
``panel_media`` renders the host panel's stream card; ``panel_status`` is what that card polls.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from livestream import selectors as live_selectors
from livestream.models import LiveSession

from . import chapters, config, server, services
from .models import Destination, Recording, Stream

PREVIEW_SKIP_AFTER = 2.0  # seconds of encoder preview before going live worth skipping


def replays(*, session_id: int) -> list[dict]:
    """The session's ready recordings, oldest first, with their chapters as offsets.

    An encoder connected before the host went live recorded the preview too: the replay starts where the live
    did (``url`` carries a ``#t=`` media fragment), and the file keeps every frame (clips and chapters count
    from its start)."""
    went_live = LiveSession.objects.filter(pk=session_id).values_list("started_at", flat=True).first()
    result = []
    for recording in Recording.objects.filter(session_id=session_id, status=Recording.Status.READY).order_by(
        "started_at", "pk"
    ):
        url = reverse("media:replay-file", args=[session_id, recording.pk])
        start = recording.offset(went_live) if went_live else 0.0
        if PREVIEW_SKIP_AFTER < start < (recording.duration_seconds or 0):
            url += f"#t={start:.1f}"
        result.append(
            {
                "id": recording.pk,
                "url": url,
                "duration": recording.duration_seconds,
                "chapters": chapters.recording_chapters(recording),
            }
        )
    return result


def room_media(live_session_id: int) -> dict | None:
    stream = Stream.objects.filter(session_id=live_session_id).first()
    return {
        "server_up": server.is_running(),
        "on_air": bool(stream and stream.is_connected),
        "hls_url": config.hls_url(stream.name) if stream else "",
        "replays": replays(session_id=live_session_id),
    }


# ffmpeg's words for the usual failures, said the way a host can act on them (the raw text follows).
_REASONS = (
    (("connection refused",), gettext_lazy("The platform refused the connection: check the push URL.")),
    (("timed out", "timeout"), gettext_lazy("The platform did not answer in time.")),
    (("403", "forbidden", "auth", "unauthorized", "401"), gettext_lazy("The platform refused the stream key.")),
    (
        ("name or service not known", "resolve", "no address"),
        gettext_lazy("The push URL's server name does not exist."),
    ),
    (("input/output error", "broken pipe", "reset by peer", "end of file"), gettext_lazy("The connection broke off.")),
)


def reason_text(reason: str) -> str:
    """A failed push's reason for the host: what it means, then ffmpeg's own words."""
    if not reason:
        return ""
    lowered = reason.lower()
    for needles, meaning in _REASONS:
        if any(n in lowered for n in needles):
            return f"{meaning} ({reason.replace('<destination>: ', '')})"
    return reason


def _destination_data(destination: Destination) -> dict:
    return {
        "id": destination.pk,
        "status": destination.status,
        "status_label": str(destination.get_status_display()),
        "reason": reason_text(destination.reason) if destination.status in ("retrying", "failed") else "",
        "is_enabled": destination.is_enabled,
    }


def panel_status(*, session: LiveSession) -> dict:
    stream = services.stream_for(session=session)
    return {
        "server_up": server.is_running(),
        "connected": stream.is_connected,
        "session_status": session.status,
        "hls_url": config.hls_url(stream.name),
        "destinations": [_destination_data(d) for d in Destination.objects.filter(session=session).order_by("pk")],
        "recordings": [
            {"id": r.pk, "status": r.status, "status_label": str(r.get_status_display())}
            for r in Recording.objects.filter(session=session).order_by("started_at", "pk")
        ],
    }


def panel_media(request, session: LiveSession) -> str:
    may_control = live_selectors.user_may_control(user=request.user, session=session)
    stream = services.stream_for(session=session)
    server_url = config.rtmp_public_url()
    key = f"{stream.name}?key={stream.key}"
    context = {
        "session": session,
        "stream": stream,
        "may_control": may_control,
        "server_up": server.is_running(),
        "server_url": server_url,
        "stream_key": key,
        "full_url": f"{server_url.rstrip('/')}/{key}",
        "hls_url": config.hls_url(stream.name),
        "destinations": [
            (d, _destination_data(d)["reason"]) for d in Destination.objects.filter(session=session).order_by("pk")
        ],
        "kinds": Destination.Kind.choices,
        "recordings": list(Recording.objects.filter(session=session).order_by("started_at", "pk")),
        "replays": replays(session_id=session.pk),
        "is_over": session.status in (LiveSession.Status.ENDED, LiveSession.Status.CANCELLED),
        "fragment_seconds": settings.MEDIA_HLS_FRAGMENT_SECONDS,
    }
    # Rendered by Django templates (autoescaped) into the panel.
    return mark_safe(render_to_string("host/_stream.html", context, request=request))
