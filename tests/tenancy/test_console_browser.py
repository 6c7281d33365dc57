"""The console as 邻家鲜's operator, in a browser at 1280 px: the dashboard, the campaigns and the BI board show
邻家鲜's rows and nothing of 源味集's (screenshots in /tmp/shots/tenancy/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.browser import launch, session_cookies, staff_page
from tests.tenancy.world import make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/tenancy")


def test_linjias_operator_sees_only_linjia_in_the_console(live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    world = make_world()
    a, b = world.a, world.b
    theirs = [a.community.name, a.campaign.title, a.session.title]
    cookies = session_cookies(live_server.url, world.op_b, language="zh-hans")
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, admin_requests = staff_page(browser, cookies)
            for path, shot, ours in (
                ("/ops/", "dashboard", b.session.title),
                ("/ops/jielong/", "campaigns", b.campaign.title),
                ("/ops/bi/", "bi-board", b.community.name),
            ):
                page.goto(f"{live_server.url}{path}")
                page.screenshot(path=str(SHOTS / f"linjia-{shot}-1280.png"), full_page=True)
                text = page.locator("body").inner_text()
                html = page.content()
                assert ours in html, path
                assert not [name for name in theirs if name in html], path
                assert "邻家鲜" in page.locator(".ops-brand").inner_text()
                assert page.evaluate("document.documentElement.scrollWidth") <= 1280
                assert text
            assert admin_requests == []
        finally:
            browser.close()
