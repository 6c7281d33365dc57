"""Issue 11's bar: from an empty brand, an operator sets up and runs a live-plus-jielong from the console
alone — a community with a pickup point, a supplier, a product with a photo and two SKUs, a series and a
session with a host and a warm-up round, a jielong for that session with a first-N perk, opened — and a
member at 375 px joins with the steppers. No page of the journey may request an /admin/ URL.

A real ASGI server (uvicorn in its own process, on the real clock) serves the pages, so the member's
page has its WebSocket too; dates are relative to now.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from catalogue.models import SKU, Product
from community.models import Community, Membership
from jielong.models import Campaign, Order
from livestream.models import LiveSession, WarmupRound
from tests import factories
from tests.browser import launch, phone_page, session_cookies, staff_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_an_operator_runs_a_live_and_a_jielong_from_an_empty_brand_without_the_admin(asgi_server, tmp_path):
    factories.brand()  # the brand itself is the superuser's one-time set-up
    operator = factories.operator(nickname="林峰")
    factories.host(nickname="老李")
    member = factories.member(nickname="王姐")
    photo = tmp_path / "potato.jpg"
    Image.new("RGB", (1200, 900), (196, 160, 80)).save(photo, format="JPEG")
    start = timezone.now() + timedelta(days=2)
    staff_cookies = session_cookies(asgi_server, operator)
    member_cookies = session_cookies(asgi_server, member)
    member_admin_requests: list[str] = []

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, admin_requests = staff_page(browser, staff_cookies)

            # a community with a pickup point
            page.goto(f"{asgi_server}/ops/communities/")
            page.get_by_role("link", name="New community").click()
            page.locator("#id_name").fill("阳光花园")
            page.locator("#id_slug").fill("sunny")
            page.locator("#id_capacity").fill("300")
            page.locator("#id_join_gate").select_option("open")
            page.locator("#id_point_name_0").fill("3栋门卫室")
            page.locator("#id_point_address_0").fill("阳光花园3栋")
            page.get_by_role("button", name="Create the community").click()
            expect(page.get_by_text("Community “阳光花园” created.")).to_be_visible()

            # a supplier, then a product with a photo and two SKUs
            page.get_by_role("link", name="Products").click()
            page.get_by_role("link", name="Add a supplier").click()
            page.locator("#id_name").fill("云南高原农场")
            page.get_by_role("button", name="Save").click()
            page.get_by_role("link", name="Add a product").click()
            page.locator("#id_name").fill("云南高山小土豆")
            page.locator("#id_storage").select_option("ambient")
            page.get_by_role("button", name="Create the product").click()
            page.locator('input[name="photos"]').set_input_files(str(photo))
            page.get_by_role("button", name="Upload").click()
            expect(page.locator(".cat-photos img")).to_have_count(1)
            for code, spec, price in (("POTATO-5", "5斤/箱", "39.90"), ("POTATO-10", "10斤/箱", "69.90")):
                page.locator("#id_sku-code").fill(code)
                page.locator("#id_sku-price").fill(price)
                page.locator("#id_sku-stock").fill("100")
                page.locator("#id_sku-spec_name_0").fill("规格")
                page.locator("#id_sku-spec_value_0").fill(spec)
                page.get_by_role("button", name="Add the SKU").click()
                expect(page.get_by_text(f"SKU {code} added.")).to_be_visible()

            # a series and a session with a host and a warm-up round
            page.get_by_role("link", name="Live sessions").click()
            page.get_by_role("link", name="New series").click()
            page.locator("#id_title").fill("农场主来了")
            page.get_by_role("button", name="Save").click()
            page.get_by_role("link", name="New live session").click()
            page.locator("#id_title").fill("老李带你挖土豆")
            page.locator("#id_series").select_option(label="农场主来了")
            page.locator("#id_scheduled_start").fill(_local(start))
            page.locator("#id_scheduled_end").fill(_local(start + timedelta(hours=1)))
            page.locator("#session-form .jl-field").filter(has_text="Hosts").first.get_by_label("老李 · Host").check()
            page.get_by_label("阳光花园").check()
            page.get_by_role("button", name="Save").click()
            expect(page.locator("#session")).to_contain_text("老李带你挖土豆")
            round_form = page.locator("#round-form")
            round_form.locator("#id_kind").select_option("teaser")
            round_form.locator("#id_send_at").fill(_local(start - timedelta(days=1)))
            round_form.locator("#id_audience").select_option("communities")
            round_form.get_by_role("button", name="Add the round").click()
            expect(page.locator("#warmup .live-round")).to_have_count(1)

            # a jielong for that session, with a first-N perk, then opened
            page.get_by_role("link", name="Prepare a jielong for this session").click()
            page.locator("#id_title").fill("云南小土豆接龙")
            page.locator("#id_closes_at").fill(_local(start + timedelta(days=1)))
            page.locator("#id_group_threshold").fill("10")
            page.locator("#id_perk_limit").fill("2")
            page.locator("#id_perk_description").fill("前2名送一把小葱")
            page.get_by_label("阳光花园").check()
            for index, (code, spec, price) in enumerate(
                (("POTATO-5", "5斤/箱", "35.90"), ("POTATO-10", "10斤/箱", "62.90"))
            ):
                label = f"云南高山小土豆 {spec} ({code}) — stock: 100"
                page.locator(f"#id_items-{index}-sku").select_option(label=label)
                page.locator(f"#id_items-{index}-price").fill(price)
            page.locator("form.jl-builder > .jl-actions button[type=submit]").click()
            page.wait_for_url("**/ops/jielong/*/")
            page.get_by_role("button", name="Open the jielong").click()
            expect(page.get_by_role("button", name="Open the jielong")).to_have_count(0)
            campaign_url = page.url
        finally:
            browser.close()

        campaign = Campaign.objects.get(title="云南小土豆接龙")
        assert campaign_url.rstrip("/").endswith(str(campaign.pk))
        items = {item.sku.code: item for item in campaign.items.select_related("sku")}

        browser = launch(p)
        try:
            phone = phone_page(browser, member_cookies)
            phone.on("request", lambda r: "/admin/" in r.url and member_admin_requests.append(r.url))
            # the invitation link from the WeChat group, then the jielong from the member's home
            phone.goto(f"{asgi_server}/m/join/sunny/")
            phone.get_by_role("button", name="Join the community").click()
            phone.goto(f"{asgi_server}/m/")
            phone.get_by_role("link", name="云南小土豆接龙").first.click()
            small = f'[data-item="{items["POTATO-5"].pk}"]'
            large = f'[data-item="{items["POTATO-10"].pk}"]'
            phone.locator(f'{small} [data-step="1"]').click()
            phone.locator(f'{small} [data-step="1"]').click()
            phone.locator(f'{large} [data-step="1"]').click()
            expect(phone.locator("#jl-total")).to_have_text("¥134.70")
            assert phone.evaluate("document.documentElement.scrollWidth") <= 375
            phone.click("#jl-submit")
            expect(phone.locator("#my-order")).to_contain_text("#1")
        finally:
            browser.close()

    assert admin_requests == []
    assert member_admin_requests == []
    community = Community.objects.get(slug="sunny")
    assert community.pickup_points.get().name == "3栋门卫室"
    product = Product.objects.get(name="云南高山小土豆")
    assert product.image and product.photos.count() == 1
    assert sorted(SKU.objects.filter(product=product).values_list("code", flat=True)) == ["POTATO-10", "POTATO-5"]
    session = LiveSession.objects.get(title="老李带你挖土豆")
    assert [u.nickname for u in session.hosts.all()] == ["老李"]
    assert WarmupRound.objects.filter(session=session).count() == 1
    campaign.refresh_from_db()
    assert (campaign.status, campaign.live_session_id, campaign.perk_limit) == ("open", session.pk, 2)
    assert Membership.objects.filter(user=member, community=community, status="active").exists()
    order = Order.objects.get(campaign=campaign, user=member)
    assert (order.status, order.total_fen, order.is_perk) == ("joined", 2 * 3590 + 6290, True)
