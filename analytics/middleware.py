"""The anonymous device id (CDP): a long-lived cookie for someone who opens a share link or the live
room before signing in, so what they did then joins their person when they sign in
(``analytics.identity.identify``, on Django's ``user_logged_in``).

Every request's publishes carry the device id in their context (``groupbuy.stream.envelope``); events
of someone not signed in get it as their distinct id. An anonymous visit to a share link is itself an
event (``analytics.link_opened``).
"""

from __future__ import annotations

import re
import uuid

from django.http import HttpRequest, HttpResponse

from groupbuy import events
from groupbuy.stream import envelope

from .events import LinkOpened

COOKIE = "gb_device"
MAX_AGE = 2 * 365 * 24 * 3600
_VALID = re.compile(r"^[0-9a-f]{32}$")
# Share links a visitor may open before signing in: an invitation, a live room (its poster), a jielong.
_SHARED = re.compile(r"^/m/(?P<kind>join|live|jielong)/(?:(?P<pk>\d+)/$|(?P<slug>[\w-]+)/$|poster/(?P<poster>\d+)/$)")


def device_id(request: HttpRequest) -> str:
    """The request's device id (set by the middleware; a fresh one is sent back as a cookie)."""
    return getattr(request, "device_id", "") or ""


class DeviceIdMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        cookie = request.COOKIES.get(COOKIE, "")
        fresh = not _VALID.match(cookie)
        request.device_id = uuid.uuid4().hex if fresh else cookie
        with envelope.context(device_id=request.device_id):
            if request.method == "GET":
                _link_opened(request)
            response = self.get_response(request)
        if fresh and request.path.startswith("/m/"):
            response.set_cookie(
                COOKIE, request.device_id, max_age=MAX_AGE, httponly=True, samesite="Lax", secure=request.is_secure()
            )
        return response


def _link_opened(request: HttpRequest) -> None:
    match = _SHARED.match(request.path)
    if match is None or request.user.is_authenticated:
        return
    kind = match["kind"]
    live = match["pk"] or match["poster"]
    events.publish(
        LinkOpened(
            path=request.path[:200],
            kind=kind,
            ref=(request.GET.get("ref") or "")[:64],
            live_session_id=int(live) if kind == "live" and live else None,
        )
    )
