"""The campaign builder in a real browser: "Add an item" adds formset rows that really save."""

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from jielong.models import Campaign
from tests import factories as f
from tests.browser import launch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_add_an_item_row_and_save_a_campaign_with_four_items(asgi_server):
    community = f.community(name="阳光花园邻里群")
    skus = [f.sku(name=name, stock=50) for name in ("上海青", "土鸡蛋", "小番茄", "红薯")]
    client = Client()
    client.force_login(f.operator())
    cookies = [
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": asgi_server},
        {"name": "django_language", "value": "en", "url": asgi_server},
    ]

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
            page.fill("#id_closes_at", "2099-01-01T20:00")
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
