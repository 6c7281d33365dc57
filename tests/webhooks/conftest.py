"""A real HTTP receiver on 127.0.0.1 that checks every request with ``webhooks.signing.verify``, the way an
integrator's would, and endpoints pointed at it."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine

from community.models import Brand
from webhooks import catalog, fanout, sending, services, signing
from webhooks.models import Endpoint

# A fixed instant (no test depends on today's date); every test moves forward from here.
START = datetime.fromisoformat("2031-03-02T10:00:00+08:00")


@dataclass
class Received:
    headers: dict
    body: bytes
    verified: bool
    error: str = ""

    @property
    def event_id(self) -> str:
        return self.headers.get(signing.EVENT_ID_HEADER.lower(), "")

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    secret: str = ""
    # Status codes to answer, in order; 200 once they run out.
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    accepted: Counter = field(default_factory=Counter)  # event id -> 2xx answers given (what a receiver acts on)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict, body: bytes) -> int:
        try:
            signing.verify(self.secret, headers, body)
            verified, error = True, ""
        except signing.SignatureError as exc:
            verified, error = False, exc.code
        with self.lock:
            got = Received(headers=headers, body=body, verified=verified, error=error)
            self.received.append(got)
            status = self.answers.pop(0) if self.answers else 200
            if not verified:
                status = 400
            if 200 <= status < 300:
                if self.accepted[got.event_id]:
                    return 200  # a duplicate: acknowledged, not acted on again
                self.accepted[got.event_id] += 1
            return status

    def of_type(self, type_name: str) -> list[Received]:
        return [r for r in self.received if r.json.get("type") == type_name]


class Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: concurrent senders overflow it on a busy machine and the
    # kernel resets the extra connections (seen in CI as one delivery short). Real receivers listen wider.
    request_queue_size = 128


@pytest.fixture
def receiver():
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = state.answer(headers, body)
            reply = b'{"ok": true}' if status < 300 else b"receiver says no"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def pinned():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def endpoint_for(
    receiver: Receiver, *, brand: Brand, by, types: list[str] | None = None, description: str = ""
) -> Endpoint:
    endpoint = services.endpoint_create(
        by=by,
        brand=brand,
        data=services.EndpointInput(
            url=receiver.url, event_types=types or [t.name for t in catalog.TYPES], description=description
        ),
    )
    receiver.secret = endpoint.secret
    return endpoint


def drive() -> dict[str, int]:
    """What the periodic task does: fan out from the cursor, then send everything due."""
    return {"fanned_out": fanout.fanout(), "sent": sending.send_due()}
