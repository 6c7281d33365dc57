"""At 1280 px the operator reaches 开放平台 from the console's nav, makes a token (shown once), revokes it, and
opens the API reference (Swagger UI from the sidecar's files, started by static/js/api-docs.js)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from api.models import ApiToken
from tests import factories as f
from tests.browser import launch, session_cookies, staff_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/api")


def shoot(page, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280, f"{name} overflows 1280 px"


def test_operator_makes_and_revokes_a_token_and_reads_the_reference(live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    brand = f.brand()
    operator = f.operator(brand=brand, nickname="林峰")
    cookies = session_cookies(live_server.url, operator, language="zh-hans")
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, admin_requests = staff_page(browser, cookies)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
            page.goto(f"{live_server.url}/ops/")
            page.locator(".ops-nav summary", has_text="设置").click()  # 开放平台 sits under 设置
            page.get_by_role("link", name="开放平台", exact=True).click()
            expect(page.locator("#token-form")).to_be_visible()
            page.locator("#token-form input[name=name]").fill("金蝶云星空 ERP")
            page.get_by_label("订单和退款 · 读取").check()
            page.get_by_label("订单和退款 · 写入").check()
            page.get_by_label("履约状态和核销 · 读取").check()
            page.locator("#token-form button[type=submit]").click()
            expect(page.locator("#token-created")).to_be_visible()
            secret = page.locator("#token-secret").inner_text()
            token = ApiToken.objects.get()
            assert secret.startswith(f"gb_{token.prefix}_")
            expect(page.locator("#token-list")).to_contain_text("金蝶云星空 ERP")
            shoot(page, "ops-tokens-created")

            page.goto(f"{live_server.url}/ops/integrations/tokens/")
            expect(page.locator("#token-secret")).to_have_count(0)
            page.locator(f"tr[data-token='{token.prefix}'] button[type=submit]").click()
            expect(page.locator(f"tr[data-token='{token.prefix}']")).to_contain_text("已停用")
            assert ApiToken.objects.get().revoked_at is not None
            shoot(page, "ops-tokens-revoked")

            page.get_by_role("link", name="接口文档", exact=True).click()
            expect(page.locator("#open-docs")).to_be_visible()
            shoot(page, "ops-api-guide")
            page.locator("#open-docs").click()
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("Groupbuy API", timeout=15000)
            expect(page.locator(".swagger-ui").get_by_text("/api/v1/orders/", exact=True).first).to_be_visible()
            shoot(page, "api-reference", full_page=False)
            page.locator(".opblock-tag-section").filter(has_text="orders").first.locator(".opblock-summary").nth(
                0
            ).click()
            expect(page.locator(".swagger-ui").get_by_text("updated_after", exact=True).first).to_be_visible()
            shoot(page, "api-reference-orders", full_page=False)
            assert errors == []
            assert admin_requests == []
        finally:
            browser.close()
