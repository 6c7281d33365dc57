"""An operator adds a host from the console at 1280 px (Chinese, the default), never touching /admin/; the host
opens the link on their phone, sets a password and reaches the host panel."""

import pytest
from playwright.sync_api import expect, sync_playwright

from community.models import User
from tests import factories
from tests.browser import launch, phone_page, session_cookies, staff_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_operator_adds_a_host_and_the_host_signs_in_from_the_link(live_server, tmp_path):
    operator = factories.operator(brand=factories.brand(), nickname="运营小周")
    cookies = session_cookies(live_server.url, operator, language=None)  # Chinese, the default

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, admin_requests = staff_page(browser, cookies)
            page.goto(f"{live_server.url}/ops/")
            page.locator("#ops-nav-settings summary").click()
            page.get_by_role("link", name="团队").click()
            page.locator("#id_nickname").fill("农场主老王")
            page.locator("#id_username").fill("laowang")
            page.locator("#id_role").select_option("host")
            page.get_by_role("button", name="添加并生成设置密码链接").click()
            expect(page.locator("#password-link")).to_contain_text("把这个链接发给农场主老王")
            expect(page.locator("#team-list")).to_contain_text("尚未设置密码")
            page.screenshot(path=str(tmp_path / "team.png"), full_page=True)
            link = page.locator("#password-link-url").inner_text()
            assert admin_requests == []

            phone = phone_page(browser, [])
            phone.goto(link)
            expect(phone.get_by_role("heading", name="设置您的密码")).to_be_visible()
            phone.locator('input[name="new_password1"]').fill("Tudou-2026!")
            phone.locator('input[name="new_password2"]').fill("Tudou-2026!")
            phone.get_by_role("button", name="设置密码").click()
            expect(phone.get_by_text("密码已设置")).to_be_visible()
            phone.locator('input[name="username"]').fill("laowang")
            phone.locator('input[name="password"]').fill("Tudou-2026!")
            phone.get_by_role("button", name="登录").click()
            phone.goto(f"{live_server.url}/host/")
            expect(phone).to_have_url(f"{live_server.url}/host/")
            phone.screenshot(path=str(tmp_path / "host.png"))
            # and later changes it from the panel's top bar
            phone.get_by_role("link", name="修改密码").click()
            expect(phone.get_by_role("heading", name="修改密码")).to_be_visible()
            phone.screenshot(path=str(tmp_path / "change.png"))
        finally:
            browser.close()
    assert User.objects.get(username="laowang").last_login is not None
