"""Issue 11: the room before the start at phone size: a running countdown, the invite link with a copy
button, and tap targets of at least 44 px on the live pages."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect, sync_playwright

from tests import factories
from tests.browser import launch, phone_page, session_cookies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TAP_TARGETS = "a.btn, button:not([hidden]), input[type=text], #live-room a"


def _small_targets(page, scope: str) -> list[str]:
    return page.eval_on_selector_all(
        f"{scope} :is({TAP_TARGETS})",
        """els => els.filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
                  .map(e => e.outerHTML.slice(0, 80))""",
    )


def test_before_the_start_the_room_counts_down_and_copies_the_invite_link(live_server):
    community = factories.community()
    member = factories.member()
    factories.membership(user=member, community=community)
    session = factories.live_session(starts_in=timedelta(days=1, hours=2))
    session.communities.set([community])
    cookies = session_cookies(live_server.url, member)

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = phone_page(browser, cookies)
            page.goto(f"{live_server.url}/m/live/{session.pk}/")
            countdown = page.locator("#live-countdown [data-countdown]")
            expect(countdown).to_have_text(re.compile(r"^1 day 0[12]:\d\d:\d\d$"))
            first = countdown.text_content()
            page.wait_for_timeout(1100)
            assert countdown.text_content() != first  # it runs
            expect(page.locator("#share-copy")).to_be_visible()
            page.locator("#share-copy").click()
            expect(page.locator("#share-copy")).to_have_text("Copied")
            assert _small_targets(page, "#live-room") == []
            page.screenshot(path="/tmp/gb_live3_room_before.png", full_page=True)

            page.goto(f"{live_server.url}/m/")
            expect(page.locator("#live")).to_contain_text(session.title)
            assert _small_targets(page, "#live") == []
        finally:
            browser.close()
