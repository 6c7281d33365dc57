"""Which URLs a webhook may be sent to: http(s) only, and — unless ``WEBHOOKS_ALLOW_PRIVATE_URLS`` — no
loopback, private, link-local or otherwise internal address, checked when the endpoint is saved (the
literal host) and again before every send (what the name resolves to then)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


def _internal(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return not ip.is_global or ip.is_multicast


def _allowed_private() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_URLS", False))


def save_problem(url: str) -> str | None:
    """Why ``url`` may not be an endpoint (a message for the operator), or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("Enter an http:// or https:// address.")
    if _allowed_private():
        return None
    host = parts.hostname.lower()
    if host == "localhost" or host.endswith(".localhost") or _internal(host):
        return _("This address is on a private network; webhooks are sent only to addresses on the internet.")
    return None


def send_problem(url: str) -> str | None:
    """Why not to POST to ``url`` now (for the attempt log), or None: the saved checks, and where it resolves."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL"
    if _allowed_private():
        return None
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError as exc:
        return f"cannot resolve {parts.hostname}: {exc}"
    for *_rest, sockaddr in found:
        if _internal(sockaddr[0]):
            return f"{parts.hostname} resolves to an internal address ({sockaddr[0]})"
    return None
