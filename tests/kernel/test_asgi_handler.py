"""groupbuy.asgi_handler: a page served over ASGI crosses between the event loop and a thread a few times,
not once per middleware — and answers exactly as Django's own ASGI handler does; a streamed response goes out
chunk by chunk instead of being read whole first."""

import asyncio
import tempfile

import pytest
from asgiref.sync import AsyncToSync, SyncToAsync
from django.core.handlers.asgi import ASGIHandler
from django.http import FileResponse, StreamingHttpResponse
from django.test import override_settings
from django.urls import path

from groupbuy.asgi_handler import OneCrossingASGIHandler
from tests import factories as f
from tests.jielong.gateway_client import http_scope, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def _get(app, path: str, cookie: str = "", *, log: list | None = None) -> tuple[int, bytes, int]:
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
        if log is not None and message.get("body"):
            log.append(("sent", message["body"]))

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


LOG: list = []


def _streamed(request):
    def chunks():
        for i in range(3):
            LOG.append(("made", i))
            yield f"chunk {i};".encode()

    return StreamingHttpResponse(chunks())


FILE_BYTES = bytes(range(256)) * 800  # 200 kB: four blocks of the handler's 64 kB


def _file(request):
    file = tempfile.TemporaryFile()  # noqa: SIM115 - the FileResponse closes it
    file.write(FILE_BYTES)
    file.seek(0)
    return FileResponse(file, content_type="application/octet-stream")


urlpatterns = [path("streamed/", _streamed), path("file/", _file)]


@override_settings(ROOT_URLCONF=__name__)
def test_a_streamed_response_goes_out_as_it_is_made_not_read_whole_first():
    LOG.clear()
    status, body, _crossings = _get(OneCrossingASGIHandler(), "/streamed/", log=LOG)
    assert (status, body) == (200, b"chunk 0;chunk 1;chunk 2;")
    assert LOG == [
        ("made", 0), ("sent", b"chunk 0;"), ("made", 1), ("sent", b"chunk 1;"), ("made", 2), ("sent", b"chunk 2;")
    ]  # fmt: skip

    LOG.clear()
    with pytest.warns(Warning, match="must consume synchronous iterators"):
        _get(ASGIHandler(), "/streamed/", log=LOG)
    assert [event for event, _ in LOG[:3]] == ["made", "made", "made"]  # Django's own: all of it, then sent


@override_settings(ROOT_URLCONF=__name__)
def test_a_file_goes_out_whole_in_the_handlers_64_kb_blocks():
    sent: list = []
    status, body, _crossings = _get(OneCrossingASGIHandler(), "/file/", log=sent)
    assert (status, body) == (200, FILE_BYTES)
    assert [len(chunk) for _, chunk in sent] == [65536, 65536, 65536, 8192]
