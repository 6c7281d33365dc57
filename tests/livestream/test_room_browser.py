"""A phone-sized live room: the page's script sends a heartbeat and shows the online count."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect, sync_playwright

from livestream.models import Comment, LiveSession, WatchRecord
from tests import factories
from tests.browser import launch, phone_page, session_cookies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_live_room_sends_heartbeats_and_shows_who_is_online(live_server):
    community = factories.community()
    member = factories.member()
    factories.membership(user=member, community=community)
    session = factories.live_session(
        status=LiveSession.Status.LIVE,
        starts_in=timedelta(minutes=-5),
        channels_live_url="https://channels.weixin.qq.com/live/example",
    )
    session.communities.set([community])
    cookies = session_cookies(live_server.url, member)

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = phone_page(browser, cookies)
            page.goto(f"{live_server.url}/m/live/{session.pk}/")
            expect(page.locator("#live-online")).to_have_text("1", timeout=15000)
            expect(page.get_by_role("link", name="Watch on WeChat Channels")).to_be_visible()
        finally:
            browser.close()

    assert WatchRecord.objects.filter(session=session, user=member).count() == 1


def test_when_the_socket_cannot_connect_the_room_says_so_and_comments_still_post(live_server):
    """The WSGI live server has no WebSocket endpoint: the socket is refused, as with Redis away."""
    community = factories.community()
    member = factories.member(nickname="小王")
    factories.membership(user=member, community=community)
    session = factories.live_session(status=LiveSession.Status.LIVE, starts_in=timedelta(minutes=-5))
    session.communities.set([community])
    cookies = session_cookies(live_server.url, member)

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = phone_page(browser, cookies)
            page.goto(f"{live_server.url}/m/live/{session.pk}/")
            notice = page.locator("#live-unavailable")
            expect(notice).to_be_visible(timeout=15000)
            expect(notice).to_have_text("Live interaction is unavailable right now; please refresh later.")

            page.fill("#live-text", "还能发吗")
            page.click("#live-send")  # the form posts the classic way
            expect(page.locator("#live-comments li")).to_have_text(["小王还能发吗"], timeout=10000)
        finally:
            browser.close()

    assert Comment.objects.filter(session=session, user=member, text="还能发吗").count() == 1
