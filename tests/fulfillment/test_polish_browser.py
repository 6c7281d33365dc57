"""The fulfilment pages members, leaders, drivers and suppliers open, at 375 px in Chinese: no English (or
wrong Chinese) leaks, nothing wider than the phone. Screenshots go to /tmp/shots/polish/ (look at them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import sync_playwright

from fulfillment.models import BatchMove, Handout, Parcel, PickLine
from fulfillment.notices import notices_send
from fulfillment.pickup import verify_pickup
from fulfillment.supplier_links import supplier_link_create
from fulfillment.supplier_supply import supply_confirm
from fulfillment.tracking import batch_move
from fulfillment.tracking_driver import driver_token
from groupbuy import clock
from tests import factories
from tests.browser import launch, phone_page, session_cookies
from tests.fulfillment.test_tracking_browser import _day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/polish")
Kind = BatchMove.Kind
# Words of Latin letters in the page's text (codes such as "D12-3" and plates such as "沪A" are not words).
ENGLISH = re.compile(r"(?<![A-Za-z0-9-])[A-Za-z]{3,}(?![A-Za-z0-9-])")
ALLOWED = {"SMS", "Excel", "PDF"}


def _english(page) -> list[str]:
    text = page.locator("main").inner_text()
    return sorted({w for w in ENGLISH.findall(text) if w not in ALLOWED})


def _wider_than_phone(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")


def test_fulfilment_phone_pages_speak_chinese(live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    day = _day()
    point = day.points[0]
    pick = PickLine.objects.filter(delivery_date=day.delivery_date, quantity__gt=1).order_by("pk").first()
    supply_confirm(pick_line=pick, confirmed_quantity=pick.quantity - 1)
    batch_move(brand_id=day.brand_id, delivery_date=day.delivery_date, kind=Kind.POINT_RECEIVED, pickup_point=point)
    handouts = list(Handout.objects.filter(pickup_point=point, parcels__state="at_pickup").distinct().order_by("pk"))
    verify_pickup(code=handouts[0].code, pickup_point_id=point.pk, by=point.leader)
    notices_send()
    member = handouts[1].user
    order = Parcel.objects.filter(handout=handouts[1]).first().order
    supplier_url = f"/s/{supplier_link_create(supplier=pick.supplier, by=factories.operator(), days=7).token}/"
    driver_url = reverse(
        "fulfillment:driver", args=[driver_token(route_id=day.routes[0].pk, delivery_date=day.delivery_date)]
    )
    pages = {
        "leader-home": (point.leader, reverse("community:member-home")),
        "leader-points": (point.leader, reverse("fulfillment:pickup-points")),
        "leader-counter": (point.leader, reverse("fulfillment:pickup-point", args=[point.pk])),
        # Today, the day before delivery: the goods already at the point are listed with their day.
        "leader-counter-today": (
            point.leader,
            reverse("fulfillment:pickup-point", args=[point.pk]) + f"?date={clock.localdate().isoformat()}",
        ),
        "member-inbox": (member, reverse("livestream:member-inbox")),
        "member-order": (member, reverse("jielong:member-order", args=[order.pk])),
        "driver": (None, driver_url),
        "supplier": (None, supplier_url),
    }
    cookies = {name: session_cookies(live_server.url, user, language="zh-hans") for name, (user, _url) in pages.items()}
    leaks: dict[str, list[str]] = {}
    wide: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            for name, (_user, url) in pages.items():
                page = phone_page(browser, cookies[name])
                page.goto(live_server.url + url)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
                if words := _english(page):
                    leaks[name] = words
                if _wider_than_phone(page):
                    wide.append(name)
                if name == "leader-counter-today":
                    assert "的货" in page.locator("#outstanding").inner_text()
                if name == "member-inbox":
                    assert "开放" not in page.locator("main").inner_text()
                page.context.close()
        finally:
            browser.close()
    assert leaks == {}
    assert wide == []
