"""The campaign builder in a real browser: "Add an item" adds formset rows that really save."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from jielong.models import Campaign
from tests import factories as f
from tests.browser import launch, session_cookies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_add_an_item_row_and_save_a_campaign_with_four_items(asgi_server):
    community = f.community(name="阳光花园邻里群")
    skus = [f.sku(name=name, stock=50) for name in ("上海青", "土鸡蛋", "小番茄", "红薯")]
    cookies = session_cookies(asgi_server, f.operator())
    # The server runs in its own process on the real clock: a month ahead is in the future there too.
    closes_at = timezone.localtime(timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")

    with sync_playwright() as p:
        browser = launch(p)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies(cookies)
            page = context.new_page()
            page.goto(asgi_server + reverse("jielong:ops-campaign-new"))
            rows = page.locator("#jl-items tbody tr")
            expect(rows).to_have_count(3)

            page.click("#jl-add-item")

            expect(rows).to_have_count(4)
            assert page.input_value("#id_items-TOTAL_FORMS") == "4"
            page.fill("#id_title", "周末四拼接龙")
            page.fill("#id_closes_at", closes_at)
            page.fill("#id_group_threshold", "10")
            page.check(f'input[name="communities"][value="{community.pk}"]')
            for index, sku in enumerate(skus):
                page.select_option(f"#id_items-{index}-sku", str(sku.pk))
                page.fill(f"#id_items-{index}-price", f"{10 + index}.90")
            page.click("button[type=submit].btn-primary")
            page.wait_for_url("**/ops/jielong/*/")
        finally:
            browser.close()

    campaign = Campaign.objects.get(title="周末四拼接龙")
    assert sorted(campaign.items.values_list("price_fen", flat=True)) == [1090, 1190, 1290, 1390]


def test_create_a_product_inside_the_builder_and_give_it_price_tiers(asgi_server):
    community = f.community(name="阳光花园邻里群")
    f.sku(name="上海青", stock=50)  # a supplier to choose, and one product already there
    cookies = session_cookies(asgi_server, f.operator())
    closes_at = timezone.localtime(timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")

    with sync_playwright() as p:
        browser = launch(p)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies(cookies)
            page = context.new_page()
            page.goto(asgi_server + reverse("jielong:ops-campaign-new"))
            page.fill("#id_title", "土鸡蛋接龙")
            page.fill("#id_closes_at", closes_at)
            page.fill("#id_group_threshold", "10")
            page.check(f'input[name="communities"][value="{community.pk}"]')

            page.click("#jl-new-product")
            expect(page.locator("#jl-product-dialog")).to_be_visible()
            page.fill("#jl-p-name", "散养土鸡蛋")
            page.fill("#jl-p-price", "39.9")  # refused first: no spec
            page.click("#jl-product-save")
            expect(page.locator("#jl-product-error")).to_have_text("Enter the spec, e.g. 500g/袋.")
            page.fill("#jl-p-spec", "30枚")
            page.fill("#jl-p-stock", "120")
            page.click("#jl-product-save")
            expect(page.locator("#jl-product-dialog")).to_be_hidden()
            # the new SKU is chosen on the first empty row, its price carried over
            expect(page.locator("#id_items-0-sku option:checked")).to_contain_text("散养土鸡蛋 30枚")
            assert page.input_value("#id_items-0-price") == "39.9"
            assert page.locator("#id_items-1-sku option", has_text="散养土鸡蛋").count() == 1

            row = page.locator('[data-item-row][data-prefix="items-0"]')
            row.locator('input[name="items-0-tier_joins"]').first.fill("50")
            row.locator('input[name="items-0-tier_price"]').first.fill("35.9")
            row.locator("[data-add-tier]").click()
            row.locator('input[name="items-0-tier_joins"]').nth(1).fill("100")
            row.locator('input[name="items-0-tier_price"]').nth(1).fill("32.9")
            row.locator("[data-add-tier]").click()
            row.locator("[data-remove-tier]").nth(2).click()
            expect(row.locator("[data-tier]")).to_have_count(2)
            page.screenshot(path="/tmp/gb_jl3_builder_1280.png", full_page=True)
            page.click("#jl-items ~ .jl-actions button, form.jl-builder > .jl-actions button[type=submit]")
            page.wait_for_url("**/ops/jielong/*/")
        finally:
            browser.close()

    campaign = Campaign.objects.get(title="土鸡蛋接龙")
    item = campaign.items.select_related("sku__product").get()
    assert (item.sku.product.name, item.sku.stock, item.price_fen) == ("散养土鸡蛋", 120, 3990)
    assert list(item.price_tiers.order_by("min_joins").values_list("min_joins", "price_fen")) == [
        (50, 3590),
        (100, 3290),
    ]
