"""Two phones on the member jielong page: one joins, the other sees the count change without reload.

A real ASGI server (uvicorn, HTTP and WebSockets) runs in a subprocess against the test database;
broadcasts go through the real Redis channel layer.
"""

import pytest
from playwright.sync_api import expect, sync_playwright

from catalogue.models import SKU
from jielong.models import Campaign, Order
from tests import factories as f
from tests.browser import launch, phone_page, session_cookies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _two_phones_on_a_jielong(asgi_server, *, stock: int, perk_limit: int):
    """An open jielong of one item with ``stock`` units, and two members (小王, 老张) signed in: the campaign, its
    item, the page's address and each member's cookies. Database work stays outside Playwright's block: its
    greenlets carry their own context, and a connection opened there would outlive the test."""
    community = f.community()
    point = f.pickup_point(community=community)
    campaign = f.campaign(
        communities=[community], status=Campaign.Status.OPEN, group_threshold=3, perk_limit=perk_limit
    )
    item = campaign.items.select_related("sku__product").get()
    SKU.objects.filter(pk=item.sku_id).update(stock=stock)
    users = f.member(nickname="小王"), f.member(nickname="老张")
    for user in users:
        f.membership(user=user, community=community, default_pickup_point=point)
    cookies = [session_cookies(asgi_server, user) for user in users]
    return campaign, item, f"{asgi_server}/m/jielong/{campaign.pk}/", cookies


def test_one_member_joins_and_the_other_sees_the_count_change_without_reload(asgi_server):
    campaign, item, url, cookies = _two_phones_on_a_jielong(asgi_server, stock=10, perk_limit=1)
    qty_field, joiner_line = f'input[name="qty_{item.pk}"]', f"1. 小王 {item.sku}×2"

    with sync_playwright() as p:
        browser = launch(p)
        try:
            pages = []
            for user_cookies in cookies:
                page = phone_page(browser, user_cookies)
                page.goto(url)
                expect(page.locator("#jielong")).to_have_attribute("data-live", "connected", timeout=10_000)
                pages.append(page)
            joining, watching = pages
            expect(watching.locator("#jl-progress-line")).to_have_text("0 joined, 3 more to form the group")
            expect(watching.locator("#jl-perk-left")).to_have_text("First 1 only — 1 left")
            watching.evaluate("window.notReloaded = true")
            # the page fits a phone: nothing wider than the viewport
            assert watching.evaluate("document.documentElement.scrollWidth") <= 375

            joining.fill(qty_field, "2")
            joining.click("#jl-submit")
            expect(joining.locator("#my-order")).to_contain_text("#1")

            expect(watching.locator("#jl-progress-line")).to_have_text(
                "1 joined, 2 more to form the group", timeout=10_000
            )
            expect(watching.locator("#jl-perk-left")).to_have_text("All first-N places are taken.")
            expect(watching.locator("#jl-count")).to_have_text("(1)")
            expect(watching.locator("[data-perk-price]")).to_be_hidden()
            expect(watching.locator("#jl-joiners li[data-seq]")).to_have_text([joiner_line])
            assert watching.locator("#jl-bar").evaluate("el => el.style.width") == "33%"
            assert watching.evaluate("window.notReloaded") is True

            # "copy for WeChat group" copies the share text (the page says so)
            watching.click('[data-copy="#jl-share-text"]')
            expect(watching.locator("#jl-copied")).to_be_visible()

            # the joiner cancels: the other phone drops the entry, still without reloading
            joining.once("dialog", lambda dialog: dialog.accept())
            joining.click("#jl-cancel")
            expect(watching.locator("#jl-count")).to_have_text("(0)", timeout=10_000)
            expect(watching.locator("#jl-joiners li[data-seq]")).to_have_count(0)
            expect(watching.locator("#jl-perk-left")).to_have_text("First 1 only — 1 left")
            assert watching.evaluate("window.notReloaded") is True
        finally:
            browser.close()
    assert list(Order.objects.filter(campaign=campaign).values_list("status", flat=True)) == ["cancelled"]


def test_member_joins_with_the_steppers_and_sees_the_running_total_in_the_sticky_bar(asgi_server):
    community = f.community()
    point = f.pickup_point(community=community)
    campaign = f.campaign(communities=[community], status=Campaign.Status.OPEN, group_threshold=3, perk_limit=0)
    item = campaign.items.select_related("sku__product").get()
    SKU.objects.filter(pk=item.sku_id).update(stock=10)
    item.per_member_limit = 3
    item.save(update_fields=["per_member_limit"])
    joiner = f.member(nickname="小李")
    f.membership(user=joiner, community=community, default_pickup_point=point)
    cookies = session_cookies(asgi_server, joiner)
    url = f"{asgi_server}/m/jielong/{campaign.pk}/"
    row = f'[data-item="{item.pk}"]'

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = phone_page(browser, cookies)
            page.goto(url)
            less, more = page.locator(f'{row} [data-step="-1"]'), page.locator(f'{row} [data-step="1"]')
            expect(less).to_be_disabled()
            expect(page.locator("#jl-total")).to_have_text("¥0.00")

            for _ in range(4):  # the fourth tap is past the per-member limit (3): it does nothing
                if more.is_enabled():
                    more.click()
            expect(page.locator(f'input[name="qty_{item.pk}"]')).to_have_value("3")
            expect(more).to_be_disabled()
            expect(page.locator("#jl-total")).to_have_text("¥47.70")
            less.click()
            expect(page.locator("#jl-total")).to_have_text("¥31.80")

            # the join bar stays on screen (above the tab bar) while the member scrolls the items
            page.evaluate("window.scrollTo(0, 0)")
            bar = page.locator("#jl-joinbar").bounding_box()
            assert bar is not None and bar["y"] + bar["height"] <= 740 - 60 + 1
            assert page.locator("#jl-submit").is_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            page.screenshot(path="/tmp/gb_jl3_member_375.png", full_page=False)

            page.click("#jl-submit")
            expect(page.locator("#my-order")).to_contain_text("#1")
            # the join went through the ASGI fast path (jielong.join.asgi), which answers with the page's
            # redirect and its flash message (in the browser's language, English here)
            expect(page.get_by_text("You are in! Your jielong number is 1.")).to_be_visible()
            page.screenshot(path="/tmp/shots/page_join_375.png", full_page=False)
        finally:
            browser.close()
    order = Order.objects.get(campaign=campaign)
    assert (order.total_fen, [line.quantity for line in order.lines.all()]) == (3180, [2])


def test_a_member_who_taps_join_after_sell_out_is_back_on_the_page_with_the_refusal(asgi_server):
    """Two phones with the page open; the first takes the last units; the second taps 接龙 on its stale page
    and lands on the page as it is now: the refusal as its message, the item sold out, no order."""
    campaign, item, url, cookies = _two_phones_on_a_jielong(asgi_server, stock=2, perk_limit=0)
    more = f'[data-item="{item.pk}"] [data-step="1"]'

    with sync_playwright() as p:
        browser = launch(p)
        try:
            pages = [phone_page(browser, user_cookies) for user_cookies in cookies]
            for page in pages:
                page.goto(url)
                page.locator(more).click()
                page.locator(more).click()
            pages[0].click("#jl-submit")
            expect(pages[0].locator("#my-order")).to_contain_text("#1")

            pages[1].click("#jl-submit")
            expect(pages[1].locator(".message-error")).to_contain_text("is sold out.")
            assert pages[1].url == url  # the page itself, not the re-rendered form
            assert pages[1].evaluate("document.documentElement.scrollWidth") <= 375
            pages[1].screenshot(path="/tmp/shots/page_join_sold_out_375.png", full_page=False)
        finally:
            browser.close()
    assert list(Order.objects.filter(campaign=campaign).values_list("user__nickname", flat=True)) == ["小王"]
