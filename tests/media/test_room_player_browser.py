"""On a phone, the member room switches from the waiting card to the playing stream when the host's encoder
connects, without a reload (the room snapshot over the socket), through a real nginx-rtmp."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from livestream import services as live_services
from media import services
from tests import factories
from tests.browser import launch, phone_page, session_cookies

from .conftest import SECRET, ffmpeg_publish, running_media_server, stop

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.django_db(transaction=True)]

RTMP_PORT, HTTP_PORT = 19352, 18352
SHOTS = Path(os.environ.get("GROUPBUY_SHOTS", "/tmp/shots/c"))


@pytest.fixture
def media_env(monkeypatch):
    """The app server process reads the media settings from its environment."""
    monkeypatch.setenv("MEDIA_RTMP_PORT", str(RTMP_PORT))
    monkeypatch.setenv("MEDIA_HTTP_PORT", str(HTTP_PORT))
    monkeypatch.setenv("MEDIA_SERVER_HOST", "127.0.0.1")
    monkeypatch.setenv("MEDIA_CALLBACK_SECRET", SECRET)


def test_the_room_switches_from_the_waiting_card_to_the_player_when_the_stream_starts(media_env, asgi_server):
    community = factories.community()
    member = factories.member()
    factories.membership(user=member, community=community)
    host = factories.host()
    session = factories.live_session(hosts=[host], starts_in=timedelta(minutes=-1))
    session.communities.set([community])
    live_services.session_go_live(session=session, by=host)
    stream = services.stream_for(session=session)
    cookies = session_cookies(asgi_server, member, language="zh-hans")

    with (
        running_media_server(rtmp_port=RTMP_PORT, http_port=HTTP_PORT, callback_url=asgi_server) as media,
        sync_playwright() as p,
    ):
        browser = launch(p)
        encoder = None
        try:
            page = phone_page(browser, cookies)
            page.goto(f"{asgi_server}/m/live/{session.pk}/")
            waiting = page.locator("#live-waiting")
            expect(waiting).to_be_visible()
            expect(page.locator("#live-player")).to_be_hidden()
            expect(page.locator("#live-room")).to_have_attribute("data-live", "connected", timeout=15000)
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "room-waiting-375.png"), full_page=True)

            encoder = ffmpeg_publish(media.publish_url(stream.name, stream.key), seconds=25)
            expect(page.locator("#live-player")).to_be_visible(timeout=15000)
            expect(waiting).to_be_hidden()
            # Polled with evaluate: wait_for_function's string predicate is an eval, which the page's policy refuses.
            deadline = time.monotonic() + 25
            while page.evaluate("document.getElementById('live-player').currentTime") <= 1:
                assert time.monotonic() < deadline, "the player did not play past 1 s"
                page.wait_for_timeout(200)
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            page.screenshot(path=str(SHOTS / "room-playing-375.png"), full_page=True)
        finally:
            if encoder is not None:
                stop(encoder)
            browser.close()
