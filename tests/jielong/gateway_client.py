"""Drive the ASGI join fast path (jielong.join.asgi) like a browser or app would, for tests."""

from __future__ import annotations

import asyncio
import json
import secrets

from django.conf import settings
from django.test import Client

from jielong.join.asgi import JoinGateway


class GatewayResponse:
    def __init__(self, status_code: int, body: bytes, headers: dict[str, str]) -> None:
        self.status_code, self.content, self.headers = status_code, body, headers

    def json(self):
        return json.loads(self.content)


def _not_django(scope, receive, send):  # pragma: no cover - fails the test if reached
    raise AssertionError(f"the gateway passed {scope['method']} {scope['path']} on to Django")


def http_scope(method: str, path: str, headers: dict[str, str]) -> dict:
    """The ASGI scope of a request from 127.0.0.1 to testserver."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in ({"Host": "testserver"} | headers).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def call(
    gateway: JoinGateway,
    path: str,
    body: bytes,
    headers: dict[str, str],
    *,
    content_type: str = "application/json",
) -> GatewayResponse:
    scope = http_scope("POST", path, headers | {"Content-Type": content_type})
    sent = [{"type": "http.request", "body": body, "more_body": False}]
    messages = []

    async def receive():
        if sent:
            return sent.pop(0)
        await asyncio.sleep(3600)  # the client stays until the answer (Django listens for a disconnect)
        return {"type": "http.disconnect"}

    async def send(message):
        messages.append(message)

    await gateway(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body_out = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return GatewayResponse(start["status"], body_out, {k.decode(): v.decode() for k, v in start["headers"]})


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def cookie_headers(session_key: str | None, *, csrf: bool = True, language: str | None = None) -> dict[str, str]:
    token = secrets.token_hex(16)
    cookies = []
    if session_key:
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session_key}")
    if csrf:
        cookies.append(f"{settings.CSRF_COOKIE_NAME}={token}")
    if language:
        cookies.append(f"{settings.LANGUAGE_COOKIE_NAME}={language}")
    headers = {"Cookie": "; ".join(cookies)} if cookies else {}
    if csrf:
        headers["X-CSRFToken"] = token
    return headers


class GatewayClient:
    """The subset of DRF's APIClient the API tests use: POSTs go through the gateway, as a signed-in
    browser would send them (session cookie and CSRF token); GETs go to Django."""

    def __init__(self, user, django_client) -> None:
        self.session_key = session_cookie(user)
        self.django_client = django_client

    def post(self, path, data=None, format="json", **extra):
        headers = cookie_headers(self.session_key)
        for key, value in extra.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").title()] = value
        return post_many([(path, json.dumps(data).encode(), headers)])[0]

    def get(self, path, *args, **kwargs):
        return self.django_client.get(path, *args, **kwargs)


def post_many(requests: list[tuple[str, bytes, dict[str, str]]]) -> list[GatewayResponse]:
    """Send the requests concurrently through one gateway (as one app process would receive them)."""

    async def go():
        gateway = JoinGateway(_not_django)
        try:
            return await asyncio.gather(*(call(gateway, path, body, headers) for path, body, headers in requests))
        finally:
            await gateway.aclose()

    return asyncio.run(go())
