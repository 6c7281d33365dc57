"""The audit log in real Chromium on a laptop (1280 px): after a refund and a flag made from a laptop (its address
and browser) and a stock adjustment made by the system, the operator opens 审计日志 from the console's navigation,
reads each entry with its place and what changed, filters by action, and reads the page in English too.
Screenshots go to /tmp/shots/audit/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from catalogue import services as catalogue_services
from community.services import flags
from groupbuy.audit import place
from jielong import ledger
from tests.aftersales.orders import paid_orders
from tests.browser import launch, session_cookies, staff_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/audit")


def shoot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280, f"{name} overflows 1280 px"


def test_the_operator_reads_and_filters_the_audit_log(live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    made = paid_orders(members=2)
    operator = made.operator
    operator.nickname = "林峰"
    operator.save(update_fields=["nickname"])
    with place.place(ip="203.0.113.24", user_agent="Mozilla/5.0 (Macintosh) Chrome/131"):
        ledger.refund_issue(order=made.orders[0], amount_fen=800, key="r1", by=operator, reason="少件：上海青 1 份")
        flags.person_flag(
            by=operator, brand=made.campaign.brand, user=made.orders[1].user, reason="三次以未收到为由退款"
        )
    catalogue_services.stock_adjust(by=operator, changes={made.items[0].sku_id: 20}, reason="到货补录")
    base = live_server.url

    with sync_playwright() as playwright:
        browser = launch(playwright)
        ops, admin_requests = staff_page(browser, session_cookies(base, operator, language="zh-hans"))
        ops.goto(f"{base}/ops/")
        ops.locator(".ops-nav summary", has_text="设置").click()  # 审计日志 sits under 设置
        ops.get_by_role("link", name="审计日志").click()
        table = ops.locator("#audit-log")
        expect(table).to_contain_text("退款")
        expect(table).to_contain_text("加入售后黑名单")
        expect(table).to_contain_text("调整库存")
        expect(table).to_contain_text("203.0.113.24")
        expect(table).to_contain_text("系统")  # the stock adjustment came from no request
        shoot(ops, "1-log-zh")
        ops.select_option("#id_action", "jielong.refunded")
        ops.get_by_role("button", name="筛选").click()
        expect(ops.locator("#audit-log tbody tr")).to_have_count(1)
        expect(table).to_contain_text("¥8.00")
        shoot(ops, "2-log-filtered")
        english, _admin = staff_page(browser, session_cookies(base, operator, language="en"))
        english.goto(f"{base}/ops/audit/")
        expect(english.locator("#audit-log")).to_contain_text("Flagged for refund abuse")
        expect(english.locator("#audit-log")).to_contain_text("Changed stock")
        shoot(english, "3-log-en")
        assert admin_requests == []
