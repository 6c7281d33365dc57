"""An operator goes from a member's console page to their identity page (laptop) and merges a second
account of the same neighbour into them; the merge shows in the record, in Chinese."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect, sync_playwright

from analytics.models import PersonMerge
from groupbuy import events
from groupbuy.stream import relay
from livestream import events as livestream_events
from tests import factories
from tests.browser import launch, session_cookies, staff_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_operator_merges_a_second_account_from_the_member_page(live_server):
    home = factories.community(name="阳光花园吃货群")
    kept = factories.member(nickname="王阿姨")
    other = factories.member(nickname="王阿姨（新号）")
    membership = factories.membership(user=kept, community=home)
    events.publish_many(
        [livestream_events.Entered(live_session_id=n, user_id=u.pk) for n, u in ((1, kept), (2, other), (3, kept))]
    )
    relay.consume("analytics.identity", settle=timedelta(0))  # the periodic relay has seen them
    cookies = session_cookies(live_server.url, factories.operator(), language=None)

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, admin_requests = staff_page(browser, cookies)
            page.goto(f"{live_server.url}/ops/communities/{home.slug}/members/{membership.pk}/")
            page.screenshot(path="/tmp/shots/e/ops-member-link.png")
            page.locator("#member-identity").click()
            expect(page.locator("#identity-ids")).to_contain_text("账号")
            page.locator('input[name="phone"]').fill(other.phone.removeprefix("+86"))
            page.locator('input[name="reason"]').fill("同一人换了手机号")
            page.get_by_role("button", name="合并").click()
            expect(page.locator(".messages")).to_contain_text("已合并")
            expect(page.locator("#identity-merges")).to_contain_text("同一人换了手机号")
            expect(page.locator("#identity-events h2")).to_contain_text("3")
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280
            page.screenshot(path="/tmp/shots/e/ops-identity.png", full_page=True)
            assert admin_requests == []
        finally:
            browser.close()

    assert PersonMerge.objects.get().reason == "同一人换了手机号"
