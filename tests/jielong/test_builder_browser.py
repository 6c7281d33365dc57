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
