"""The print views in Chromium: A4 sheets and 80 mm receipts render Chinese in Noto Sans CJK SC and nothing
overflows its paper; the leader opens the point's hand-out list on a phone. Screenshots go to
/tmp/shots/documents/ (look at them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import sync_playwright

from fulfillment.split import split_day
from tests import factories
from tests.browser import launch, phone_page, session_cookies, staff_page
from tests.fulfillment.day import make_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/documents")
# Paper widths at 96 dpi: A4 210 mm, an 80 mm receipt.
WIDTHS = {"a4": 794, "80mm": 303}

OVERFLOW = """() => {
  const sheet = document.querySelector('.sheet');
  const wide = [...sheet.querySelectorAll('*')].filter(el => {
    const r = el.getBoundingClientRect(), s = sheet.getBoundingClientRect();
    return r.width > 0 && (r.right > s.right + 1 || r.left < s.left - 1);
  });
  return {scroll: sheet.scrollWidth - sheet.clientWidth, wide: wide.slice(0, 5).map(el => el.outerHTML.slice(0, 120))};
}"""


def _documents(day) -> list[tuple[str, str]]:
    iso, route, point = day.delivery_date.isoformat(), day.routes[0], day.points[0]
    supplier = day.skus[0].product.supplier_id
    return [
        ("pick", reverse("fulfillment:doc-pick-list", args=[iso, supplier])),
        ("inbound", reverse("fulfillment:doc-inbound", args=[iso, route.warehouse_id])),
        ("route", reverse("fulfillment:doc-route", args=[iso, route.pk])),
        ("crates", reverse("fulfillment:doc-crate-labels", args=[iso, route.pk])),
        ("handouts", reverse("fulfillment:doc-handouts", args=[iso, point.pk])),
        ("labels", reverse("fulfillment:doc-handout-labels", args=[iso, point.pk])),
    ]


def test_every_print_view_renders_chinese_on_a4_and_80mm_without_overflow(live_server):
    day = make_day(suppliers=3, points=4, members=16, campaigns=2)
    for n, point in enumerate(day.points):
        point.leader = factories.member(phone=f"+8613700001{n:03d}", nickname=f"团长阿{n}")
        point.opening_hours = "每天 10:00–20:00"
        point.save(update_fields=["leader", "opening_hours"])
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    cookies = session_cookies(live_server.url, factories.operator(), language="zh-hans")
    SHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as p:
        browser = launch(p)
        try:
            for paper, width in WIDTHS.items():
                page, admin_requests = staff_page(browser, cookies, width=width + 40)
                for name, url in _documents(day):
                    page.goto(f"{live_server.url}{url}?paper={paper}")
                    page.emulate_media(media="print")
                    assert page.evaluate("document.fonts.check('16px \"Noto Sans CJK SC\"', '拣货单')")
                    assert page.locator("h1, .label").first.is_visible()
                    overflow = page.evaluate(OVERFLOW)
                    assert overflow["scroll"] <= 0 and not overflow["wide"], (name, paper, overflow)
                    page.screenshot(path=SHOTS / f"{name}-{paper}.png", full_page=True)
                    page.emulate_media(media="screen")
                assert admin_requests == []
                page.context.close()
        finally:
            browser.close()


def test_a_leader_opens_the_points_hand_out_list_on_a_phone(live_server):
    day = make_day(points=2, members=8, campaigns=2)
    leader = factories.member(nickname="阳光团长")
    point = day.points[0]
    point.leader = leader
    point.save(update_fields=["leader"])
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    cookies = session_cookies(live_server.url, leader, language="zh-hans")
    url = reverse("fulfillment:doc-handouts", args=[day.delivery_date.isoformat(), point.pk])

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = phone_page(browser, cookies)
            page.goto(f"{live_server.url}{url}?paper=80mm")
            assert page.get_by_role("heading", name=f"自提点发货单 · {point.name}").is_visible()
            for control in page.locator(".toolbar a, .toolbar button").all():
                assert control.bounding_box()["height"] >= 44
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            page.screenshot(path=SHOTS / "leader-phone-handouts.png", full_page=True)
            page.get_by_role("link", name="按姓名").click()
            assert "sort=name" in page.url
        finally:
            browser.close()


def test_an_operator_finds_the_documents_on_the_delivery_day_page_and_opens_them(live_server):
    day = make_day(suppliers=2, points=3, members=9, campaigns=2)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    cookies = session_cookies(live_server.url, factories.operator(), language="zh-hans")
    url = reverse("fulfillment:day", args=[day.brand_id, day.delivery_date.isoformat()])
    supplier = day.skus[0].product.supplier

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, admin_requests = staff_page(browser, cookies)
            page.goto(f"{live_server.url}{url}")
            section = page.locator("#documents")
            assert section.get_by_role("heading", name="单据").is_visible()
            section.screenshot(path=SHOTS / "day-documents.png")
            row = section.locator("tr", has_text=supplier.name)
            with page.context.expect_page() as opened:
                row.get_by_role("link", name="打印 A4").click()
            sheet = opened.value
            sheet.wait_for_load_state()
            assert sheet.get_by_role("heading", name=f"拣货单 · {supplier.name}").is_visible()
            with page.expect_download() as download:
                row.get_by_role("link", name="Excel").click()
            assert download.value.suggested_filename.endswith(".xlsx")
            assert admin_requests == []
        finally:
            browser.close()
