"""Issue 11: an operator plans a series, a session with a host and a warm-up round from /ops/live/,
at desktop width, without the Django admin (any /admin/ request fails the test)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from groupbuy import clock
from livestream.models import LiveSeries, LiveSession, WarmupRound
from tests import factories
from tests.browser import launch, session_cookies, staff_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_operator_plans_a_live_without_the_admin(live_server):
    operator = factories.operator()
    factories.host(nickname="老李")
    factories.member(nickname="王阿姨")
    community = factories.community(name="阳光花园")
    start = timezone.localtime(clock.now() + timedelta(days=3)).replace(second=0, microsecond=0)
    cookies = session_cookies(live_server.url, operator)

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, admin_requests = staff_page(browser, cookies)

            page.goto(f"{live_server.url}/ops/live/")
            page.get_by_role("link", name="New series").click()
            page.locator("#id_title").fill("周末厨房")
            page.locator("#id_description").fill("每周六的厨房直播")
            page.get_by_role("button", name="Save").click()
            expect(page.locator("#series")).to_contain_text("周末厨房")

            page.get_by_role("link", name="New live session").click()
            expect(page.locator("#session-form")).not_to_contain_text("王阿姨")
            page.locator("#id_title").fill("周六做红烧肉")
            page.locator("#id_series").select_option(label="周末厨房")
            page.locator("#id_scheduled_start").fill(start.strftime("%Y-%m-%dT%H:%M"))
            page.locator("#id_scheduled_end").fill((start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
            page.locator("#session-form .jl-field").filter(has_text="Hosts").first.get_by_label("老李 · Host").check()
            page.get_by_label("阳光花园").check()
            page.locator("#id_perk_summary").fill("直播间专享 8 折")
            page.get_by_role("button", name="Save").click()
            expect(page.locator("#session")).to_contain_text("周六做红烧肉")

            round_form = page.locator("#round-form")
            round_form.locator("#id_kind").select_option("teaser")
            round_form.locator("#id_send_at").fill((start - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
            round_form.locator("#id_audience").select_option("communities")
            round_form.get_by_role("button", name="Add the round").click()
            expect(page.locator("#warmup .live-round")).to_have_count(1)
            expect(page.locator("#warmup")).to_contain_text("直播间专享 8 折")
            page.screenshot(path="/tmp/gb_live3_console.png", full_page=True)

            page.goto(f"{live_server.url}/ops/live/")
            page.get_by_role("link", name="Live calendar").click()
            page.get_by_role("link", name="Later").click()
            page.get_by_role("link", name="Earlier").click()
            page.goto(f"{page.url.split('?')[0]}?view=month&date={start.date().isoformat()}")
            expect(page.locator("#live-calendar")).to_contain_text("周六做红烧肉")
            page.screenshot(path="/tmp/gb_live3_calendar.png", full_page=True)
        finally:
            browser.close()

    assert admin_requests == []
    session = LiveSession.objects.get(title="周六做红烧肉")
    assert session.series == LiveSeries.objects.get(title="周末厨房")
    assert [u.nickname for u in session.hosts.all()] == ["老李"]
    assert list(session.communities.all()) == [community]
    assert WarmupRound.objects.filter(session=session, kind="teaser").count() == 1
