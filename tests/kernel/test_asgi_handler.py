"""groupbuy.asgi_handler: a page served over ASGI crosses between the event loop and a thread a few times,
not once per middleware — and answers exactly as Django's own ASGI handler does."""

import asyncio

import pytest
from asgiref.sync import AsyncToSync, SyncToAsync
from django.core.handlers.asgi import ASGIHandler

from groupbuy.asgi_handler import OneCrossingASGIHandler
from tests import factories as f
from tests.jielong.gateway_client import http_scope, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def _get(app, path: str, cookie: str = "") -> tuple[int, bytes, int]:
    """GET ``path`` through ``app``; returns the status, the body and how many times it crossed between the
    event loop and a thread (either way)."""
    crossings = 0
    to_thread, to_loop = SyncToAsync.__call__, AsyncToSync.__call__

    async def counted_to_thread(self, *args, **kwargs):
        nonlocal crossings
        crossings += 1
        return await to_thread(self, *args, **kwargs)

    def counted_to_loop(self, *args, **kwargs):
        nonlocal crossings
        crossings += 1
        return to_loop(self, *args, **kwargs)

    scope = http_scope("GET", path, {"Cookie": cookie} if cookie else {})
    messages = []
    sent = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if sent:
            return sent.pop(0)
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message):
        messages.append(message)

    SyncToAsync.__call__, AsyncToSync.__call__ = counted_to_thread, counted_to_loop
    try:
        asyncio.run(app(scope, receive, send))
    finally:
        SyncToAsync.__call__, AsyncToSync.__call__ = to_thread, to_loop
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], body, crossings


def test_a_member_page_crosses_to_its_thread_once_and_answers_as_django_does():
    scenario = f.open_campaign()
    campaign = scenario.campaign
    cookie = f"sessionid={session_cookie(scenario.members[0])}"
    path = f"/m/jielong/{campaign.pk}/"

    status, body, crossings = _get(OneCrossingASGIHandler(), path, cookie)
    stock_status, stock_body, stock_crossings = _get(ASGIHandler(), path, cookie)

    assert status == stock_status == 200
    assert campaign.title.encode() in body and campaign.title.encode() in stock_body
    # request_started, the middleware chain with the view, and closing the response; Django's handler
    # takes 9 here (to and fro around each run of sync-only middleware, and for the view).
    assert crossings <= 3
    assert stock_crossings >= 2 * crossings


def test_errors_are_answered_by_the_chain_as_before():
    status, body, _crossings = _get(OneCrossingASGIHandler(), "/no-such-page/")
    assert b"<html" in body.lower()
    stock_status, _stock_body, _ = _get(ASGIHandler(), "/no-such-page/")
    assert status == stock_status == 404
