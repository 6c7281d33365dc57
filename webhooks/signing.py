"""Signing webhook bodies, and checking a signature as a receiver does (docs/webhooks.md shows integrators
the same check in a few lines of any language).

The header ``X-Groupbuy-Signature: t=<unix seconds>,v1=<hex>`` carries the time of signing and
HMAC-SHA256(secret, ``"<t>." + body``) in hex. While a rotated secret is still honoured, a second ``v1=``
signed with the old secret follows. A receiver recomputes the HMAC over the raw body bytes with its secret,
compares in constant time against every ``v1``, and refuses a ``t`` more than ``tolerance`` seconds away
from its own clock (a captured request replayed later is refused). ``X-Groupbuy-Event-Id`` is the same for
every attempt and replay of an event: a receiver that has seen it should answer 2xx and do nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as random_secrets
from collections.abc import Iterable, Mapping

from groupbuy import clock

SIGNATURE_HEADER = "X-Groupbuy-Signature"
EVENT_ID_HEADER = "X-Groupbuy-Event-Id"
EVENT_TYPE_HEADER = "X-Groupbuy-Event-Type"
DELIVERY_HEADER = "X-Groupbuy-Delivery"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300
SECRET_PREFIX = "whsec_"


class SignatureError(ValueError):
    """The request is not a genuine, fresh webhook from this platform; ``code`` says why."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def new_secret() -> str:
    return SECRET_PREFIX + random_secrets.token_urlsafe(32)


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else bytes(body)


def signature(secret: str, timestamp: int, body: bytes | str) -> str:
    """HMAC-SHA256 of ``"<timestamp>." + body`` with ``secret``, in hex."""
    message = f"{timestamp}.".encode() + _as_bytes(body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: Iterable[str], timestamp: int, body: bytes | str) -> str:
    """``t=<timestamp>,v1=<sig>[,v1=<sig with an older secret>]``."""
    parts = [f"t={timestamp}"] + [f"{SCHEME}={signature(s, timestamp, body)}" for s in secrets if s]
    return ",".join(parts)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return value


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> int:
    """Check a received webhook: the signature over the raw ``body`` with ``secret``, and its age.

    Returns the signed timestamp; raises ``SignatureError`` (``code``: ``missing``, ``malformed``,
    ``too_old`` / ``in_future`` — outside ``tolerance`` seconds — or ``mismatch``)."""
    header = _header(headers, SIGNATURE_HEADER)
    if not header:
        raise SignatureError(f"no {SIGNATURE_HEADER} header", code="missing")
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("the timestamp is not a number", code="malformed") from None
        elif key == SCHEME and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("the signature header needs t= and v1=", code="malformed")
    current = clock.now().timestamp() if now is None else now
    if timestamp < current - tolerance:
        raise SignatureError("the signature is too old (a replayed request?)", code="too_old")
    if timestamp > current + tolerance:
        raise SignatureError("the signature's time is in the future", code="in_future")
    expected = signature(secret, timestamp, body)
    # compare_digest against every candidate (no early exit on the first mismatch).
    matched = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    if not any(matched):
        raise SignatureError("the signature does not match the body", code="mismatch")
    return timestamp
