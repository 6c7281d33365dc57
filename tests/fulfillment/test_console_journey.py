"""The operator's fulfilment walk at 1280 px, from the console alone: a city warehouse, a route with ordered
stops, a 核销员, then the delivery day of a formed campaign — split, and the result on the page. No /admin/.

Screenshots of every console page land in /tmp/shots/console/ (in Chinese, the default UI).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from catalogue.models import Supplier
from fulfillment.models import CampaignDelivery, PickLine, PointVerifier, Route, RouteStop, Warehouse
from groupbuy import clock
from jielong.models import Campaign, CampaignItem
from tests import factories
from tests.browser import launch, session_cookies, staff_page
from tests.fulfillment.day import make_sku, order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/console")


def _formed_campaign():
    """A formed jielong of 源味集 with orders at two pickup points, and no delivery day yet."""
    brand = factories.brand()
    home = factories.community(brand=brand, name="阳光花园")
    gate = factories.pickup_point(community=home, name="3栋门卫室")
    shop = factories.pickup_point(community=home, name="南门便利店")
    farm = Supplier.objects.create(brand=brand, name="老李有机农场")
    greens, eggs = make_sku(farm, "chilled", 1), make_sku(farm, "ambient", 2)
    closes = clock.now() - timedelta(hours=2)
    campaign = Campaign.objects.create(
        brand=brand, title="有机蔬菜尝鲜接龙", status=Campaign.Status.FORMED, closes_at=closes, formed_at=closes
    )
    campaign.communities.set([home])
    items = [
        CampaignItem.objects.create(campaign=campaign, sku=s, price_fen=1990, position=i)
        for i, s in enumerate([greens, eggs])
    ]
    helper = factories.member(phone="+8613800001234", nickname="李阿姨")
    factories.membership(user=helper, community=home)
    for seq in range(1, 7):
        member = helper if seq == 1 else factories.member()
        if seq > 1:
            factories.membership(user=member, community=home)
        order(campaign, member, gate if seq % 2 else shop, [(items[0], 2), (items[1], 1)], seq=seq)
    return campaign, gate, shop


def test_an_operator_sets_up_delivery_and_splits_a_formed_campaigns_day_without_the_admin(live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    operator = factories.operator(nickname="林峰")
    campaign, gate, shop = _formed_campaign()
    cookies = session_cookies(live_server.url, operator, language=None)  # the default UI: 简体中文

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, admin_requests = staff_page(browser, cookies)
            page.goto(f"{live_server.url}/ops/")
            page.locator(".ops-nav").get_by_role("link", name="履约").click()
            expect(page.get_by_role("heading", name="已成团，尚无配送日")).to_be_visible()
            expect(page.get_by_text("有机蔬菜尝鲜接龙")).to_be_visible()
            page.screenshot(path=str(SHOTS / "hub-before.png"), full_page=True)

            # a city warehouse
            page.locator(".ff-tabs").get_by_role("link", name="城市仓").click()
            page.get_by_role("link", name="新建城市仓").click()
            page.locator("#id_name").fill("浦东城市仓")
            page.locator("#id_city").fill("上海")
            page.locator("#id_address").fill("川沙路 1 号")
            page.get_by_role("button", name="创建城市仓").click()
            expect(page.get_by_text("城市仓“浦东城市仓”已保存。")).to_be_visible()
            page.screenshot(path=str(SHOTS / "warehouses.png"), full_page=True)

            # a cold-chain route that carries the ambient eggs too, with two ordered stops
            page.locator(".ff-tabs").get_by_role("link", name="配送线路").click()
            page.screenshot(path=str(SHOTS / "routes-empty.png"), full_page=True)
            page.get_by_role("link", name="新建线路").click()
            page.locator("#id_name").fill("冷链一线")
            page.get_by_label("常温").check()
            page.locator("#id_departs_at").fill("06:30")
            page.locator("#id_driver_name").fill("王师傅")
            page.locator("#id_driver_phone").fill("139 0000 1111")
            page.locator("#id_vehicle_plate").fill("沪A·12345")
            page.screenshot(path=str(SHOTS / "route-new.png"), full_page=True)
            page.get_by_role("button", name="创建线路").click()
            expect(page.get_by_text("线路“冷链一线”已保存。现在按顺序添加站点。")).to_be_visible()
            for point in (gate, shop):
                page.locator(".ff-add-stop select").select_option(str(point.pk))
                page.get_by_role("button", name="添加站点").click()
            page.get_by_role("button", name="将南门便利店上移").click()
            expect(page.locator(".ff-stop-list li")).to_have_count(2)
            expect(page.locator(".ff-stop-list li").first).to_contain_text("南门便利店")
            page.screenshot(path=str(SHOTS / "route.png"), full_page=True)
            page.locator(".ff-tabs").get_by_role("link", name="配送线路").click()
            expect(page.get_by_text("各温区均有配送")).to_have_count(2)
            page.screenshot(path=str(SHOTS / "routes.png"), full_page=True)

            # a 核销员 at the gate, by phone
            page.locator(".ff-tabs").get_by_role("link", name="自提点与核销员").click()
            page.screenshot(path=str(SHOTS / "points.png"), full_page=True)
            page.locator(f'a[href="/ops/fulfilment/points/{gate.pk}/"]').first.click()
            page.locator("#id_phone").fill("13800009999")
            page.get_by_role("button", name="添加核销员").click()
            expect(page.get_by_text("还没有手机号为 13800009999 的人加入“阳光花园”。")).to_be_visible()
            page.screenshot(path=str(SHOTS / "point-refused.png"), full_page=True)
            page.locator("#id_phone").fill("138 0000 1234")
            page.get_by_role("button", name="添加核销员").click()
            expect(page.get_by_text("李阿姨 现在可以在3栋门卫室核销取货了。")).to_be_visible()
            page.screenshot(path=str(SHOTS / "point.png"), full_page=True)

            # the formed campaign's delivery day: split now, see the result
            page.locator(".ops-nav").get_by_role("link", name="履约").click()
            page.get_by_role("button", name="立即分单").click()
            expect(page.get_by_role("heading", name="分单完成")).to_be_visible()
            expect(page.locator("#split .stat-value").first).to_have_text("6")
            expect(page.locator("#split")).to_contain_text("这一天的清单已生成")
            expect(page.locator(".ff-alert")).to_have_count(0)
            page.screenshot(path=str(SHOTS / "day.png"), full_page=True)
            day_url = page.url

            page.get_by_role("link", name="有机蔬菜尝鲜接龙").first.click()
            expect(page.locator("#delivery")).to_contain_text("配送日")
            page.screenshot(path=str(SHOTS / "campaign-panel.png"), full_page=True)
            page.get_by_role("link", name="打开配送日").click()
            expect(page.get_by_role("heading", name="分单完成")).to_have_count(0)  # shown once
            page.get_by_role("button", name="重新分单").click()
            expect(page.get_by_text("与上次分单相比没有变化，清单保持不变。")).to_be_visible()
            assert page.url.split("#")[0] == day_url.split("#")[0]

            page.locator(".ops-nav").get_by_role("link", name="履约").click()
            page.screenshot(path=str(SHOTS / "hub-after.png"), full_page=True)
            assert admin_requests == []
        finally:
            browser.close()

    route = Route.objects.get()
    assert Warehouse.objects.get().name == "浦东城市仓"
    assert (route.zones, route.driver_phone) == (["ambient", "chilled", "frozen"], "+8613900001111")
    assert list(RouteStop.objects.filter(route=route).values_list("pickup_point_id", flat=True)) == [shop.pk, gate.pk]
    assert PointVerifier.objects.get().user.nickname == "李阿姨"
    delivery = CampaignDelivery.objects.get(campaign=campaign)
    assert delivery.split_at is not None
    assert sum(PickLine.objects.filter(delivery_date=delivery.delivery_date).values_list("quantity", flat=True)) == 18
