"""On a phone (375 px): profile (asked to accept the new privacy notice) → the notice → accept → my data &
privacy → download the file → ask for deletion → cancel; and the operator's privacy console (1280 px)."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from community.models import User
from privacy.models import DataExport, DeletionRequest
from tests import factories as f
from tests.browser import launch, phone_page, session_cookies, staff_page
from tests.fission import scenario

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/privacy")


def test_a_member_downloads_their_data_and_asks_for_deletion_on_a_phone(live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    sold = scenario.selling(members=1, help_sellers=0)
    member = sold.members[0]
    User.objects.filter(pk=member.pk).update(nickname="小王", privacy_notice_version="1")
    scenario.pick_up(scenario.join(sold, member))
    member_cookies = session_cookies(live_server.url, member, language="zh-hans")
    operator_cookies = session_cookies(live_server.url, f.operator(), language="zh-hans")

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = phone_page(browser, member_cookies)
            page.goto(f"{live_server.url}/m/me/")
            expect(page.locator("#consent-banner")).to_be_visible()  # an older notice: asked again, lightly
            page.screenshot(path=str(SHOTS / "1-profile.png"), full_page=True)
            page.locator("#consent-banner").get_by_role("link", name="阅读").click()
            expect(page.get_by_role("heading", name="您的权利")).to_be_visible()
            page.screenshot(path=str(SHOTS / "1b-notice.png"), full_page=True)
            page.get_by_role("button", name="我已阅读并同意").click()
            expect(page).to_have_url(f"{live_server.url}/m/me/")
            expect(page.locator("#consent-banner")).to_have_count(0)
            page.locator("#my-data-link").click()

            expect(page.get_by_role("heading", name="我的数据与隐私")).to_be_visible()
            page.screenshot(path=str(SHOTS / "2-my-data.png"), full_page=True)
            with page.expect_download() as download_info:
                page.locator("#download-data").click()
            data = json.loads(Path(download_info.value.path()).read_text())
            assert data["profile"]["phone"] == member.phone
            assert data["orders"][0]["status"] == "picked_up"

            page.get_by_label("我已了解：注销我的账号").check()
            page.locator("#deletion-request").click()
            expect(page.locator("#deletion-pending")).to_be_visible()
            page.screenshot(path=str(SHOTS / "3-deletion-requested.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= 375

            console, admin_requests = staff_page(browser, operator_cookies)
            console.goto(f"{live_server.url}/ops/privacy/")
            expect(console.locator("#deletion-rows")).to_contain_text("冷静期中")
            console.screenshot(path=str(SHOTS / "4-ops-privacy.png"), full_page=True)
            assert admin_requests == []

            page.locator("#deletion-cancel").click()
            expect(page.get_by_text("已取消注销，您的账号保持不变。")).to_be_visible()
            page.screenshot(path=str(SHOTS / "5-deletion-cancelled.png"), full_page=True)
        finally:
            browser.close()

    assert DataExport.objects.filter(user=member).count() == 1
    assert list(User.objects.get(pk=member.pk).consents.values_list("version", "source")) == [("2", "renewal")]
    assert DeletionRequest.objects.get(user=member).status == DeletionRequest.Status.CANCELLED
