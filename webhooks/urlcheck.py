"""Which URLs a webhook may be sent to: http(s) only, and — unless ``WEBHOOKS_ALLOW_PRIVATE_URLS`` — no
loopback, private, link-local or otherwise internal address, checked when the endpoint is saved (the
literal host) and again before every send (what the name resolves to then).

The send then goes to the address that was checked (``Pinned``), not to the name: resolving it a second
time, as the HTTP client would, lets a name that answered with a public address for the check answer with
an internal one for the connection (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

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


@dataclass(frozen=True)
class Pinned:
    """Where a send connects: the URL with the checked address in place of the name; the name goes in the
    Host header and is what TLS asks for and checks the certificate against."""

    url: str
    host_header: str
    server_name: str


def send_check(url: str) -> tuple[str | None, Pinned | None]:
    """Whether to POST to ``url`` now: (why not, for the attempt log; None) or (None, where to connect —
    None when the URL is to be used as it is: private addresses allowed, or a literal address)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL", None
    if _allowed_private():
        return None, None
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError as exc:
        return f"cannot resolve {parts.hostname}: {exc}", None
    if not found:
        return f"cannot resolve {parts.hostname}", None
    for *_rest, sockaddr in found:
        if _internal(sockaddr[0]):
            return f"{parts.hostname} resolves to an internal address ({sockaddr[0]})", None
    if _is_address(parts.hostname):
        return None, None
    address = found[0][4][0]
    userinfo, _at, host_port = parts.netloc.rpartition("@")
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    return None, Pinned(
        url=urlunsplit(parts._replace(netloc=netloc)), host_header=host_port, server_name=parts.hostname
    )


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
