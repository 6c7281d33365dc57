"""After-sales end to end in real Chromium: a member opens a request with a photo at 375 px from their order page;
the leader, on their phone, finds it from the home page and resolves it with a partial refund; the member's
request and order pages show it. The operator's queue and bulk refund at 1280 px. Screenshots go to
/tmp/shots/aftersales/."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from aftersales.models import Request
from jielong.models import LedgerEntry, Order
from tests.aftersales.orders import paid_orders
from tests.browser import launch, phone_page, session_cookies, staff_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/aftersales")


def shoot(page, name: str, *, width: int = 375) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} overflows {width} px"


def test_a_member_complains_with_a_photo_and_the_leader_refunds_part(live_server, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    made = paid_orders(members=2)
    order = made.orders[0]
    picture = tmp_path / "spoiled.jpg"
    buffer = BytesIO()
    Image.new("RGB", (1600, 1200), (90, 140, 60)).save(buffer, format="JPEG")
    picture.write_bytes(buffer.getvalue())
    base = live_server.url
    member_cookies = session_cookies(base, order.user, language="zh-hans")
    leader_cookies = session_cookies(base, made.leader, language="zh-hans")
    operator_cookies = session_cookies(base, made.operator, language="zh-hans")

    with sync_playwright() as playwright:
        browser = launch(playwright)
        member = phone_page(browser, member_cookies)
        member.goto(f"{base}/m/")
        member.locator(f'a[href="/m/jielong/orders/{order.pk}/"]').first.click()
        expect(member.locator("#aftersales")).to_contain_text("售后")
        shoot(member, "1-member-order")
        member.locator("#aftersales-new").click()
        first = order.lines.order_by("pk")[0]
        member.fill(f'input[name="qty-{first.pk}"]', "1")
        member.locator('label.as-choice:has(input[value="quality"])').click()
        member.locator('label.as-choice:has(input[value="refund"])').click()
        member.fill("#aftersales-amount", "100")  # more than those items cost: refused, nothing kept
        member.set_input_files("#aftersales-photos", str(picture))
        shoot(member, "2-member-form")
        member.locator("#aftersales-submit").click()
        expect(member.locator("#aftersales-error")).to_contain_text("¥15.90")
        shoot(member, "3-member-refused")
        assert not Request.objects.exists()
        member.fill("#aftersales-amount", "12.50")
        member.set_input_files("#aftersales-photos", str(picture))
        member.locator("#aftersales-submit").click()
        expect(member.locator("#aftersales-status")).to_have_text("等待处理")
        expect(member.locator(".as-photos img")).to_have_count(1)
        shoot(member, "4-member-request")
        req = Request.objects.get()

        leader = phone_page(browser, leader_cookies)
        leader.goto(f"{base}/m/")
        expect(leader.locator("#aftersales-entry")).to_contain_text("1 待处理")
        shoot(leader, "5a-leader-home")
        leader.locator("#aftersales-entry a").click()
        shoot(leader, "5b-leader-queue")
        leader.locator(f"#queue-{req.pk}").click()
        shoot(leader, "5-leader-request")
        leader.fill("#resolve-refund-amount", "8.00")
        leader.fill('input[name="note"]', "叶子有损，退一半")
        leader.once("dialog", lambda dialog: dialog.accept())
        leader.locator("#aftersales-resolve-submit").click()
        expect(leader.locator("#aftersales-outcome")).to_contain_text("已退款 ¥8.00")
        shoot(leader, "6-leader-resolved")

        member.reload()
        expect(member.locator("#aftersales-outcome")).to_contain_text("已退款 ¥8.00")
        expect(member.locator("#aftersales-thread")).to_contain_text("已退款 ¥8.00")
        shoot(member, "7-member-refunded")
        member.goto(f"{base}/m/jielong/orders/{order.pk}/")
        expect(member.locator(f"#aftersales-{req.pk}")).to_contain_text("¥8.00")
        shoot(member, "8-member-order-after")

        ops, admin_requests = staff_page(browser, operator_cookies)
        ops.goto(f"{base}/ops/aftersales/?show=closed")
        expect(ops.locator(f"#queue-{req.pk}")).to_contain_text("¥8.00")
        shoot(ops, "9-ops-queue", width=1280)
        ops.locator(f"#queue-{req.pk} a").click()
        expect(ops.locator("#aftersales-outcome")).to_be_visible()
        shoot(ops, "9b-ops-request", width=1280)
        ops.goto(f"{base}/ops/jielong/{made.campaign.pk}/")
        ops.locator("#bulk-refund-link").click()
        expect(ops.locator("#bulk-total")).to_have_text("¥87.40")
        shoot(ops, "10-ops-bulk-preview", width=1280)
        assert admin_requests == []
        browser.close()

    order.refresh_from_db()
    assert (order.refunded_fen, order.payment_status) == (800, Order.PaymentStatus.PAID)
    assert LedgerEntry.objects.filter(kind="refund").count() == 1
