"""The refund-abuse blacklist in real Chromium: the operator, on a laptop (1280 px), goes from the after-sales
queue to 黑名单 → 待复核名单, opens the first suggestion's record, flags them with a reason and finds them on the
list; the flagged neighbour, on their phone (375 px), taps 接龙 and reads the neutral message, and nothing is
written; the after-sales form says the same before it is filled in. Screenshots go to /tmp/shots/a/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from community.models import Flag
from jielong.models import Order
from tests import factories as f
from tests.aftersales.orders import paid_orders
from tests.aftersales.test_flags_ops import _claim
from tests.browser import launch, phone_page, session_cookies, staff_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/a")


def shoot(page, name: str, *, width: int) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} overflows {width} px"


def test_operator_flags_from_the_suggestions_and_the_member_reads_the_neutral_message(live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    made = paid_orders(members=2)
    abuser, neighbour = made.orders
    for line in (0, 0, 1):
        _claim(abuser, reason="not_received", line=line, by=made.operator)
    _claim(neighbour, reason="quality", by=made.operator)
    # A jielong open now in the same brand, which the flagged neighbour will try to join.
    upcoming = f.campaign(communities=[abuser.community], status="open", title="第二期 · 散养鸡蛋")
    item = upcoming.items.get()
    base = live_server.url
    operator_cookies = session_cookies(base, made.operator, language="zh-hans")
    member_cookies = session_cookies(base, abuser.user, language="zh-hans")
    orders_before = Order.objects.count()

    with sync_playwright() as playwright:
        browser = launch(playwright)
        ops, admin_requests = staff_page(browser, operator_cookies)
        ops.goto(f"{base}/ops/aftersales/")
        ops.locator("#tab-blacklist").click()
        expect(ops.locator("#blacklist")).to_contain_text("黑名单为空")
        ops.locator("#blacklist-review-link").click()
        row = ops.locator(f"#suggestion-{abuser.user_id}")
        expect(row).to_contain_text("“未收到” 3 次")
        expect(ops.locator("#blacklist-suggestions tbody tr")).to_have_count(1)  # one request is no pattern
        shoot(ops, "1-ops-review", width=1280)
        row.get_by_role("link", name="复核").click()
        expect(ops.locator("#person-signals")).to_contain_text("退款占实付的 100%")
        shoot(ops, "2-ops-person", width=1280)
        ops.fill("#flag-form textarea", "三次以未收到为由申请退款，核销记录显示均已取货")
        ops.locator("#flag-form button[type=submit]").click()
        expect(ops.locator("#active-flag")).to_contain_text("三次以未收到为由申请退款")
        shoot(ops, "3-ops-flagged", width=1280)
        ops.get_by_role("link", name="黑名单人员").click()
        flag = Flag.objects.get()
        expect(ops.locator(f"#flag-{flag.pk}")).to_contain_text("100%")
        shoot(ops, "4-ops-blacklist", width=1280)
        ops.get_by_role("link", name="操作记录").click()
        expect(ops.locator("#blacklist-log")).to_contain_text("已加入黑名单")
        shoot(ops, "5-ops-log", width=1280)
        assert admin_requests == []

        member = phone_page(browser, member_cookies)
        member.goto(f"{base}/m/jielong/{upcoming.pk}/")
        member.fill(f'input[name="qty_{item.pk}"]', "1")
        member.locator("#jl-submit").click()
        expect(member.locator("#jl-error")).to_have_text("暂时无法参与本次接龙，如有疑问请联系团长。")
        shoot(member, "6-member-join-refused", width=375)
        member.goto(f"{base}/m/orders/{abuser.pk}/aftersales/")
        expect(member.locator("#aftersales-error")).to_have_text("暂时无法发起新的售后申请，如有疑问请联系团长。")
        shoot(member, "7-member-aftersales-refused", width=375)
        browser.close()

    assert Order.objects.count() == orders_before
