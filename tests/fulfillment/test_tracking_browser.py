"""Tracking in Chromium: the driver's page at 375 px (发车, then 已到达 at the first stop), the leader's 收货 on the
pickup page, and the delivery-day page's tracking section at 1280 px. Screenshots go to /tmp/shots/tracking/
(look at them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from fulfillment.models import BatchMove, Parcel
from fulfillment.split import split_day
from fulfillment.tracking_driver import driver_token
from jielong.models import Order
from livestream.models import Notification
from tests import factories
from tests.browser import launch, phone_page, session_cookies, staff_page
from tests.fulfillment.day import make_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/tracking")
Kind = BatchMove.Kind
State = Parcel.State

# Tap targets under 44 px and anything wider than the phone.
SMALL_TAPS = """() => [...document.querySelectorAll('main button, main a.btn, main .tk-call')]
  .filter(el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height < 44; })
  .map(el => el.outerHTML.slice(0, 100))"""


def _day():
    day = make_day(points=3, members=12)
    for i, point in enumerate(day.points):
        point.leader = factories.member(phone=f"+86138001{i:05d}", nickname=f"团长{i}")
        point.address = f"阳光花园{i + 1}栋南门（快递柜旁）"
        point.opening_hours = "9:00-20:00"
        point.save()
    cold = day.routes[0]
    cold.vehicle_plate = "沪A·C1234"
    cold.save()
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    return day


def test_a_driver_departs_and_arrives_on_a_phone(live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    day = _day()
    cold = day.routes[0]
    first = cold.stops.order_by("position").first().pickup_point
    url = live_server.url + reverse(
        "fulfillment:driver", args=[driver_token(route_id=cold.pk, delivery_date=day.delivery_date)]
    )
    cookies = session_cookies(live_server.url, None, language="zh-hans")

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = phone_page(browser, cookies)
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(url)
            expect(page.get_by_role("heading", name=cold.name)).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            assert page.evaluate(SMALL_TAPS) == []
            call = page.locator(f"#stop-{first.pk} .tk-call")
            assert call.get_attribute("href") == f"tel:{first.leader.phone[3:]}"
            page.screenshot(path=SHOTS / "driver-before.png", full_page=True)

            page.get_by_role("button", name="确认发车").click()
            expect(page.locator("#departed")).to_contain_text("发车")
            expect(page.locator(".message-success")).to_contain_text("车辆已发车")

            page.locator(f"#stop-{first.pk}").get_by_role("button", name="确认到达").click()
            expect(page.locator(f"#stop-{first.pk} .tk-done")).to_contain_text("到达")
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            page.screenshot(path=SHOTS / "driver-after.png", full_page=True)
        finally:
            browser.close()

    assert BatchMove.objects.filter(kind=Kind.ROUTE_DEPARTED, route=cold).count() == 1
    assert BatchMove.objects.filter(kind=Kind.STOP_ARRIVED, route=cold, pickup_point=first).count() == 1
    cold_only = [
        p
        for p in Parcel.objects.filter(pickup_point=first)
        if not p.order.lines.filter(item__sku__zone="ambient").exists()
    ]
    assert cold_only and {p.state for p in cold_only} == {State.AT_PICKUP}
    assert {Order.objects.get(pk=p.pk).status for p in cold_only} == {"ready"}


def test_a_leader_confirms_receipt_on_the_pickup_page_and_copies_the_group_text(live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    day = _day()
    point = day.points[0]
    cookies = session_cookies(live_server.url, point.leader, language="zh-hans")
    url = f"{live_server.url}{reverse('fulfillment:pickup-point', args=[point.pk])}?date={day.delivery_date}"

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = phone_page(browser, cookies)
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(url)
            card = page.locator("#point-receive")
            expect(card).to_be_visible()
            page.locator("#point-received").click()
            expect(page.locator("#point-receive .tk-done")).to_contain_text("收货")
            copy = page.locator(f"#point-copy-{point.pk}")
            assert copy.input_value().startswith(f"{point.name}：")
            assert "请凭取货码取货" in copy.input_value()
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            card.scroll_into_view_if_needed()
            card.screenshot(path=SHOTS / "leader-received.png")
        finally:
            browser.close()

    assert set(Parcel.objects.filter(pickup_point=point).values_list("state", flat=True)) == {State.AT_PICKUP}
    assert BatchMove.objects.get().by == point.leader
    assert not Notification.objects.exists()  # sent by the worker, not in the request


def test_the_delivery_day_page_tracking_section_at_1280(live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    day = _day()
    operator = factories.operator(nickname="林峰")
    cookies = session_cookies(live_server.url, operator, language="zh-hans")
    url = f"{live_server.url}{reverse('fulfillment:day', args=[day.brand_id, day.delivery_date.isoformat()])}"
    farm = day.skus[0].product.supplier

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, admin_requests = staff_page(browser, cookies)
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(url)
            section = page.locator("#tracking")
            expect(section).to_be_visible()
            section.locator(f"form:has(input[name=supplier][value='{farm.pk}']) button").click()
            expect(page.locator(".message-success")).to_contain_text("供应商已发货")
            section = page.locator("#tracking")
            section.locator("form:has(input[name=kind][value=point_received]) button").first.click()
            expect(page.locator(".message-success")).to_contain_text("已记录")
            # the warehouse's step skips "shipped" for the rest: the orders at the received point stay put
            section = page.locator("#tracking")
            section.locator("form:has(input[name=kind][value=warehouse_received]) button").click()
            expect(page.locator("#tracking-log tbody tr")).to_have_count(3)
            expect(page.locator("#tracking li[data-state=at_pickup] strong")).not_to_have_text("0")
            section.screenshot(path=SHOTS / "ops-tracking.png")
            assert admin_requests == []
        finally:
            browser.close()
    assert BatchMove.objects.count() == 3
