"""The demo's boards show the article's figures, read off the pages by a browser: the operator's board at 1280 px
(300 → 270 → 210, 90%, 78%, 50 perks in 8 minutes, NPS 95, over 45 minutes watched), a number drilled down to its
people, and the leader's own board at 375 px (SVG charts, nothing wider than the phone)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from community.models import User
from demo import story as demo
from livestream.models import LiveSession
from tests.browser import launch, phone_page, session_cookies, staff_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/f")


def _today_at(hour: int) -> datetime:
    return datetime.combine(timezone.localdate(), time(hour), tzinfo=timezone.get_current_timezone())


def _figure(page, key: str) -> str:
    return page.locator(f'#tile-{key} [data-figure="{key}"]').inner_text().strip()


def _parts(page, key: str) -> str:
    return re.sub(r"\s+", " ", page.locator(f"#tile-{key} .bi-parts").inner_text()).strip()


def test_the_demo_boards_show_the_articles_figures(live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with time_machine.travel(_today_at(15), tick=True):
        call_command("seed_demo", stdout=StringIO())
        past = LiveSession.objects.get(title=demo.PAST_SESSION_TITLE)
        operator = User.objects.get(username=demo.OPERATOR_USERNAME)
        leader = User.objects.get(nickname="阳光花园-陈姐")
        ops_cookies = session_cookies(live_server.url, operator, language="zh-hans")
        leader_cookies = session_cookies(live_server.url, leader, language="zh-hans")
        with sync_playwright() as p:
            browser = launch(p)
            try:
                page, admin_requests = staff_page(browser, ops_cookies)
                page.goto(f"{live_server.url}/ops/")
                card = page.locator("#bi-card")
                expect(card.locator('[data-figure="viewer_to_joiner"] .stat-value')).to_have_text("78%")
                card.screenshot(path=str(SHOTS / "ops-dashboard-card.png"))
                card.locator("#open-bi").click()

                expect(page.locator("#bi-scope")).to_contain_text(demo.PAST_SESSION_TITLE)
                assert _figure(page, "community_to_viewer") == "90%"
                assert _parts(page, "community_to_viewer") == "270 / 300"
                assert _figure(page, "viewer_to_joiner") == "78%"
                assert _parts(page, "viewer_to_joiner") == "210 / 270"
                assert _figure(page, "perk_sellout") == "8 分钟"
                assert _figure(page, "nps") == "95"
                assert float(_figure(page, "average_watch").split()[0]) > 45
                steps = {
                    s: page.locator(f'#funnel-steps [data-step="{s}"]').inner_text()
                    for s in ("members", "watched", "joined")
                }
                assert steps == {"members": "300", "watched": "270", "joined": "210"}
                expect(page.locator("#chart-funnel canvas")).to_have_count(1)  # ECharts drew on the laptop
                page.screenshot(path=str(SHOTS / "ops-board.png"), full_page=True)

                page.locator('#tile-viewer_to_joiner [data-part="numerator"]').click()
                expect(page.locator("#people-title")).to_contain_text("直播观看→接龙转化率")
                expect(page.locator("#people-total")).to_contain_text("210")
                assert "****" in page.locator("#people tbody tr").first.inner_text()
                page.screenshot(path=str(SHOTS / "ops-people.png"), full_page=True)

                page.goto(f"{live_server.url}/ops/bi/")
                page.locator("#glossary-link").click()
                expect(page.locator("#viewer_to_joiner")).to_contain_text("取消")
                page.screenshot(path=str(SHOTS / "ops-glossary.png"), full_page=True)
                assert admin_requests == []

                phone = phone_page(browser, leader_cookies)
                phone.goto(f"{live_server.url}/m/")
                expect(phone.locator("#bi-entry")).to_contain_text("78%")
                phone.locator("#bi-entry").screenshot(path=str(SHOTS / "leader-home-entry-375.png"))
                phone.locator("#bi-entry-link").click()
                expect(phone.locator("#bi-scope")).to_contain_text("阳光花园")
                expect(phone.locator("#chart-funnel svg")).to_have_count(1)  # SVG renderer on phones
                phone.wait_for_timeout(500)
                assert phone.evaluate("document.documentElement.scrollWidth") <= 375
                phone.screenshot(path=str(SHOTS / "leader-board-375.png"), full_page=True)
                phone.locator("#tile-community_to_viewer .bi-tile-main").click()
                expect(phone.locator("#people-total")).to_contain_text("270")
                assert phone.evaluate("document.documentElement.scrollWidth") <= 375
                phone.screenshot(path=str(SHOTS / "leader-people-375.png"), full_page=True)
            finally:
                browser.close()
    assert past.pk


def test_the_demo_year_shows_the_articles_year_figures(live_server):
    """The year before the story (demo.year), picked on the operator's board: since the first live, live-driven
    orders' 客单价 +200%, LTV +500%, monthly active 90% brand-wide, over 60% of new customers brought by viewers;
    over the whole year the 客单价 lift is +200% too."""
    from demo import year

    shots = Path("/tmp/shots/h")
    shots.mkdir(parents=True, exist_ok=True)
    with time_machine.travel(_today_at(15), tick=True):
        call_command("seed_demo", stdout=StringIO())
        today = timezone.localdate()
        first_live = today + timedelta(days=demo.PAST_DAY - 7 * year.LIVES)
        operator = User.objects.get(username=demo.OPERATOR_USERNAME)
        with sync_playwright() as p:
            browser = launch(p)
            try:
                page, admin_requests = staff_page(
                    browser, session_cookies(live_server.url, operator, language="zh-hans")
                )
                page.goto(f"{live_server.url}/ops/")
                page.locator("#open-bi").click()
                expect(page.locator("#bi-scope")).to_contain_text(demo.PAST_SESSION_TITLE)

                # Since the first live (the era of private lives): the pickers, as an operator would set them.
                page.locator("#id_session").select_option("")
                page.locator("#id_since").fill(first_live.isoformat())
                page.locator("#id_until").fill(today.isoformat())
                page.locator("#bi-pickers button[type=submit]").click()
                expect(page.locator("#bi-scope")).to_contain_text(f"{first_live:%Y-%m-%d} – {today:%Y-%m-%d}")
                assert _figure(page, "aov_live_lift") == "+200%"
                assert _figure(page, "ltv_change") == "+500%"
                assert _figure(page, "monthly_active") == "90%"
                referred, new = (int(n) for n in _parts(page, "referral_share").split(" / "))
                assert referred / new > 0.6 and int(_figure(page, "referral_share").rstrip("%")) > 60
                assert float(_figure(page, "average_watch").split()[0]) > 45
                assert _figure(page, "nps") == "95"
                page.screenshot(path=str(shots / "ops-board-since-first-live.png"), full_page=True)

                # The whole year: plain jielongs for nine months, then the lives.
                page.locator("#id_since").fill((today - timedelta(days=364)).isoformat())
                page.locator("#bi-pickers button[type=submit]").click()
                expect(page.locator("#bi-scope")).to_contain_text(f"{today - timedelta(days=364):%Y-%m-%d}")
                assert _figure(page, "aov_live_lift") == "+200%"
                assert _figure(page, "monthly_active") == "90%"
                expect(page.locator("#chart-months canvas")).to_have_count(1)
                page.screenshot(path=str(shots / "ops-board-year.png"), full_page=True)

                page.locator('#tile-ltv_change [data-figure="ltv_change"]').click()
                expect(page.locator("#people-title")).to_contain_text("期间LTV变化")
                assert admin_requests == []
            finally:
                browser.close()
