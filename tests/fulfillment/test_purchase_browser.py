"""The purchase pages in Chromium: the supplier confirms a shortfall on a 375 px phone (no account), and the
operator's purchase summary (1280 px) moves live as a member joins and as the supplier confirms.

A real ASGI server (uvicorn in its own process, on the real clock) serves the pages and their sockets; the
joins and confirmations happen in this process, whose broadcasts reach the server through Redis.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import expect, sync_playwright

from fulfillment import purchase_broadcast
from fulfillment.models import BatchMove, Parcel, PickLine, Shortage
from fulfillment.split import split_campaign
from fulfillment.supplier_links import supplier_link_create
from fulfillment.supplier_supply import supply_confirm
from jielong import services
from jielong.models import Campaign, Order
from tests import factories as f
from tests.browser import launch, phone_page, session_cookies, staff_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/purchase")


def _formed_day(quantities=(2, 1, 3, 2)):
    """Members join one after another through the real join service; the group forms and the day is split."""
    scenario = f.open_campaign(members=len(quantities), threshold=2, perk_limit=0)
    for user, quantity in zip(scenario.members, quantities, strict=True):
        services.order_join(campaign_id=scenario.campaign.pk, user=user, quantities={scenario.item.pk: quantity})
    campaign = Campaign.objects.get(pk=scenario.campaign.pk)
    split = split_campaign(campaign)
    pick = PickLine.objects.get(sku=scenario.sku, delivery_date=split.delivery_date)
    orders = list(Order.objects.filter(campaign=campaign).order_by("seq"))
    return scenario, pick, orders


def _pushes_done(brand_id: int) -> None:
    """Let this process's last summary push finish before the test database goes away (the broadcaster
    thread reads the summary a second after the last change)."""
    deadline = time.monotonic() + 10
    while cache.get(purchase_broadcast._pending_key(brand_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_the_operators_summary_moves_live_and_the_links_page_makes_a_link(asgi_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    scenario, pick, orders = _formed_day()
    brand_id = scenario.campaign.brand_id
    late = f.add_member(scenario)
    operator = f.operator(nickname="林峰")
    cookies = session_cookies(asgi_server, operator, language=None)

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, admin_requests = staff_page(browser, cookies)
            page.goto(f"{asgi_server}/ops/fulfilment/purchase/?brand={brand_id}")
            expect(page.locator("#pc-live")).to_have_attribute("data-state", "connected", timeout=10_000)
            ordered = page.locator(f'[data-k="{scenario.sku.pk}-ordered"]')
            expect(ordered).to_have_text("8")
            expect(page.locator(".pc-countdown").first).to_contain_text("距")

            # A member joins the formed jielong: the figure moves without a reload.
            services.order_join(campaign_id=scenario.campaign.pk, user=late, quantities={scenario.item.pk: 2})
            expect(ordered).to_have_text("10", timeout=10_000)
            expect(page.locator(f'[data-k="{scenario.sku.pk}-formed"]')).to_have_text("10")
            page.screenshot(path=str(SHOTS / "operator-summary-1280.png"), full_page=True)

            # The supplier confirms less: the summary re-renders with the shortage and the orders it hits.
            supply_confirm(pick_line=PickLine.objects.get(pk=pick.pk), confirmed_quantity=5)
            expect(page.locator(".pc-shortages")).to_be_visible(timeout=10_000)
            expect(page.locator(".pc-shortages")).to_contain_text(f"#{orders[3].seq}")
            expect(page.locator(".pc-shortages")).to_contain_text("整单缺货")
            page.screenshot(path=str(SHOTS / "operator-summary-shortage-1280.png"), full_page=True)

            # The supplier's links: make one, see it with its QR, then revoke it.
            page.get_by_role("link", name="供应商链接").first.click()
            page.get_by_label("30 天").check()
            page.get_by_role("button", name="生成链接").click()
            expect(page.locator("#pl-url")).to_have_value(
                f"{asgi_server}/s/" + page.locator("#pl-url").input_value().split("/s/")[1]
            )
            expect(page.locator(".pl-qr svg")).to_be_visible()
            page.screenshot(path=str(SHOTS / "operator-links-new-1280.png"), full_page=True)
            page.reload()
            expect(page.locator("#pl-url")).to_have_count(0)  # shown once
            page.once("dialog", lambda dialog: dialog.accept())
            page.get_by_role("button", name="停用").click()
            expect(page.locator(".pl-status-revoked")).to_be_visible()
            page.screenshot(path=str(SHOTS / "operator-links-1280.png"), full_page=True)

            # The delivery-day page's purchase section, with the shortage and its orders.
            page.goto(f"{asgi_server}/ops/fulfilment/{brand_id}/{pick.delivery_date.isoformat()}/")
            section = page.locator("#purchase")
            expect(section).to_contain_text("缺 5 件")
            section.screenshot(path=str(SHOTS / "operator-day-purchase-1280.png"))
            section.get_by_role("link", name="实时采购汇总").click()
            expect(page.locator("#pc-live")).to_be_visible()
            assert admin_requests == []
        finally:
            browser.close()
    _pushes_done(brand_id)


def test_a_supplier_confirms_a_shortfall_on_a_phone(asgi_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    scenario, pick, orders = _formed_day()
    made = supplier_link_create(supplier=pick.supplier, by=f.operator(), days=7)
    url = f"{asgi_server}/s/{made.token}/"

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = phone_page(browser, session_cookies(asgi_server, None, language=None))
            page.goto(url)
            expect(page.get_by_role("heading", name=pick.supplier.name)).to_be_visible()
            expect(page.locator(".sp-countdown")).to_contain_text("截单")
            field = page.locator(f'input[name="q{pick.pk}"]')
            expect(field).to_have_value("8")
            _no_sideways_scroll(page)
            for target in page.locator(".sp-step, .sp-form button[type=submit], .sp-download").all():
                box = target.bounding_box()
                assert box["height"] >= 44 and box["width"] >= 44, box
            page.screenshot(path=str(SHOTS / "supplier-375.png"), full_page=True)

            less = page.get_by_role("button", name="减一")
            for _ in range(3):
                less.click()
            expect(field).to_have_value("5")
            page.get_by_role("button", name="确认能供应的数量").click()

            expect(page.get_by_text("已确认。缺 3 件")).to_be_visible()
            expect(page.locator(".sp-state")).to_contain_text("您确认了 5")
            expect(page.locator(".sp-state")).to_contain_text("缺 3")
            _no_sideways_scroll(page)
            page.screenshot(path=str(SHOTS / "supplier-375-confirmed.png"), full_page=True)

            page.once("dialog", lambda dialog: dialog.accept())
            page.get_by_role("button", name="标记为已发货").click()
            expect(page.get_by_text("已标记为已发货")).to_be_visible()
            expect(field).to_be_disabled()
            page.screenshot(path=str(SHOTS / "supplier-375-shipped.png"), full_page=True)
        finally:
            browser.close()

    assert PickLine.objects.get(pk=pick.pk).confirmed_quantity == 5
    # The last joiner loses both units, the one before one of three; the first two keep theirs.
    short = dict(Shortage.objects.values_list("order_line__order_id", "quantity"))
    assert short == {orders[3].pk: 2, orders[2].pk: 1}
    assert Parcel.objects.get(pk=orders[3].pk).state == Parcel.State.SHORTAGE
    assert BatchMove.objects.filter(kind=BatchMove.Kind.SUPPLIER_SHIPPED, supplier=pick.supplier).exists()
    _pushes_done(scenario.campaign.brand_id)
