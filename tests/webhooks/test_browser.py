"""The webhooks console in real Chromium at 1280 px, reached by clicking from the dashboard: add an endpoint
(its secret shown once), send a test event that a real receiver verifies, read the log and the delivery,
replay it; an endpoint disabled after failures shows on the dashboard. Screenshots in /tmp/shots/webhooks/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from groupbuy import clock
from tests import factories
from tests.browser import launch, session_cookies, staff_page
from webhooks import sending
from webhooks.models import Delivery, Endpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/webhooks")


def shoot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280, f"{name} overflows 1280 px"


def test_an_operator_adds_an_endpoint_tests_it_and_replays(live_server, receiver):
    SHOTS.mkdir(parents=True, exist_ok=True)
    operator = factories.operator(brand=factories.brand())
    base = live_server.url
    cookies = session_cookies(base, operator, language="zh-hans")

    with sync_playwright() as playwright:
        browser = launch(playwright)
        ops, admin_requests = staff_page(browser, cookies)
        ops.goto(f"{base}/ops/")
        ops.locator(".ops-nav summary", has_text="设置").click()  # 开放平台 sits under 设置
        ops.locator(".ops-nav a", has_text="开放平台").click()
        ops.locator(".as-tabs a", has_text="Webhook").click()
        expect(ops.locator("#webhook-endpoints")).to_contain_text("还没有接收地址")
        shoot(ops, "1-endpoints-empty")

        ops.locator("#endpoint-new").click()
        ops.fill('input[name="url"]', receiver.url)
        ops.fill('input[name="description"]', "仓库 ERP")
        for label in ("订单创建", "订单付款", "订单退款", "自提核销"):
            ops.locator(".wh-events label", has_text=label).click()
        shoot(ops, "2-endpoint-new")
        ops.locator('#endpoint-form button[type="submit"]').click()
        secret = ops.locator(".wh-secret-value").inner_text().strip()
        endpoint = Endpoint.objects.get()
        assert secret == endpoint.secret
        shoot(ops, "3-endpoint-secret-once")
        receiver.secret = secret

        ops.locator("#send-test").click()
        expect(ops.locator(".messages")).to_contain_text("测试事件已排队")
        receiver.answers = [503]
        sending.send_due()  # what the worker does within seconds
        Delivery.objects.update(next_attempt_at=clock.now())
        sending.send_due()
        assert [r.verified for r in receiver.received] == [True, True]
        ops.reload()
        expect(ops.locator("#endpoint-secret")).to_have_count(0)  # shown once
        shoot(ops, "4-endpoint")

        ops.locator(".wh-more").click()
        delivery = Delivery.objects.get()
        expect(ops.locator(f"#delivery-{delivery.pk}")).to_contain_text("已送达")
        shoot(ops, "5-delivery-log")
        ops.locator(f"#delivery-{delivery.pk} a").first.click()
        expect(ops.locator("#delivery-attempts")).to_contain_text("503")
        ops.locator("#replay").click()
        expect(ops.locator(".messages")).to_contain_text("重放已排队")
        sending.send_due()
        ops.reload()
        expect(ops.locator("#attempt-3")).to_contain_text("重放")
        shoot(ops, "6-delivery-replayed")
        assert len({r.event_id for r in receiver.received}) == 1

        # the receiver broke for a day: the endpoint was disabled, and the dashboard says so
        Endpoint.objects.filter(pk=endpoint.pk).update(
            is_active=False,
            disabled_reason=Endpoint.DisabledReason.FAILING,
            disabled_at=clock.now(),
            consecutive_failures=12,
            failing_since=clock.now() - timedelta(hours=26),
        )
        ops.goto(f"{base}/ops/")
        expect(ops.locator("#webhook-alerts")).to_contain_text("仓库 ERP")
        shoot(ops, "7-dashboard-alert")
        ops.locator("#webhook-alerts a").first.click()
        expect(ops.locator("#enable-endpoint")).to_be_visible()
        shoot(ops, "8-endpoint-disabled")
        assert admin_requests == []
        browser.close()
