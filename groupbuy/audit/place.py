"""Where an audited action came from, kept for the current request or task in a context variable.

``AuditPlaceMiddleware`` sets the client's address (``groupbuy.clientip``: forwarded headers count only from a
trusted proxy) and browser for every request; the API's token authentication adds ``api token <prefix>``
(:func:`via_api_token`). Outside a request the place is ``command <name>`` under ``manage.py <name>`` and
``system`` otherwise (Celery, the relay, a shell); :func:`place` overrides it for a block.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

SYSTEM = "system"
USER_AGENT_MAX = 255
# manage.py sub-commands that serve requests or run workers: their work is "system", or a request's place.
_SERVING = {"runserver", "runworker", "shell", "uvicorn", "celery"}


@dataclasses.dataclass(frozen=True)
class Place:
    ip: str | None = None
    user_agent: str = ""
    via: str = ""  # "" for a page; "api token gb_3f9a", "command seed_demo", "system"


_current: ContextVar[Place | None] = ContextVar("groupbuy_audit_place", default=None)


@cache
def _outside_request() -> Place:
    argv = sys.argv
    if len(argv) > 1 and os.path.basename(argv[0]) in ("manage.py", "django-admin") and argv[1] not in _SERVING:
        return Place(via=f"command {argv[1]}"[:80])
    return Place(via=SYSTEM)


def current() -> Place:
    return _current.get() or _outside_request()


@contextmanager
def place(*, ip: str | None = None, user_agent: str = "", via: str = "") -> Iterator[Place]:
    """Audit entries written inside the block come from this place."""
    token = _current.set(Place(ip=_valid_ip(ip), user_agent=user_agent[:USER_AGENT_MAX], via=via[:80]))
    try:
        yield current()
    finally:
        _current.reset(token)


def _valid_ip(ip: str | None) -> str | None:
    # The column is PostgreSQL's inet: a malformed address would fail the audited change's transaction.
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


def via_api_token(prefix: str) -> None:
    """The request was authenticated by an API token: entries say ``api token <prefix>`` (with the address).
    Call it from the token authentication; the middleware's block restores the place after the request."""
    _current.set(dataclasses.replace(current(), via=f"api token {prefix}"[:80]))
