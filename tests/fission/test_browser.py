"""At 375 px the help-seller finds their earnings from the member home: link, poster, sales, statements; at
1280 px the operator reaches commissions from the nav, settles the period, and opens a campaign's help-sellers."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from fission.models import Statement
from tests.browser import launch, phone_page, session_cookies, staff_page
from tests.fission.test_settlement import _history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/b")


def shoot(page, name: str, *, width: int) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} overflows {width} px"


def test_help_seller_phone_page_and_operator_settlement(live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    sold = _history()
    seller = sold.sellers[0]
    seller_cookies = session_cookies(live_server.url, seller.user, language="zh-hans")
    operator_cookies = session_cookies(live_server.url, sold.operator, language="zh-hans")
    with sync_playwright() as p:
        browser = launch(p)
        try:
            ops, admin_requests = staff_page(browser, operator_cookies)
            ops.goto(f"{live_server.url}/ops/")
            ops.get_by_role("link", name="佣金", exact=True).click()
            expect(ops.locator("#earnings")).to_contain_text(seller.user.display_name)
            expect(ops.locator("#earnings")).to_contain_text(sold.leader.display_name)
            shoot(ops, "ops-commissions", width=1280)
            ops.locator("#settle").click()
            expect(ops.locator("#statements")).to_contain_text(seller.user.display_name)
            assert Statement.objects.count() == 3  # both help-sellers and the leader
            shoot(ops, "ops-commissions-settled", width=1280)
            ops.goto(f"{live_server.url}/ops/jielong/{sold.campaign.pk}/")
            ops.locator("#fission-campaign-link").click()
            expect(ops.locator("#sellers")).to_contain_text(seller.token)
            shoot(ops, "ops-campaign-sellers", width=1280)
            ops.locator("#rule input[name=rate]").fill("120")
            ops.locator("#rule button[type=submit]").click()
            expect(ops.locator("#fission-error")).to_contain_text("100%")
            shoot(ops, "ops-campaign-rule-refused", width=1280)
            assert admin_requests == []

            page = phone_page(browser, seller_cookies)
            page.goto(f"{live_server.url}/m/")
            expect(page.locator("#fission")).to_contain_text("您正在帮卖 1 个接龙")
            page.locator("#fission").screenshot(path=str(SHOTS / "member-home-section.png"))
            assert page.locator("#home-earnings .btn").bounding_box()["height"] >= 44
            page.locator("#home-earnings").click()
            expect(page.locator("h1")).to_have_text("我的收益")
            expect(page.locator("#selling")).to_contain_text(sold.campaign.title)
            expect(page.locator(f"#link-{seller.pk}")).to_contain_text(f"?hs={seller.token}")
            expect(page.locator("#statements a")).to_have_count(1)
            shoot(page, "member-earnings", width=375)
            for selector in (".fs-actions .btn", "#statements a"):
                for box in [
                    page.locator(selector).nth(i).bounding_box() for i in range(page.locator(selector).count())
                ]:
                    assert box["height"] >= 44, selector
            body = page.locator("body").inner_text()
            for english in ("Statements", "commission", "settled", "Poster", "Copy link"):
                assert english not in body
            poster = page.request.get(f"{live_server.url}/m/earnings/sell/{seller.pk}/poster.png")
            assert poster.status == 200 and poster.headers["content-type"] == "image/png"
        finally:
            browser.close()
