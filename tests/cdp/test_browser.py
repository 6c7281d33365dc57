"""At 1280 px the operator reaches the customer data pages from the nav: RFM cells and the KOC ranking (designate
one), a member's 360 from the community's member list (phone masked, shown in full once and logged), the
segment builder (live count, a refused rule's message, save) and the session page's audience section."""

from __future__ import annotations

from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import expect, sync_playwright

from cdp.models import PhoneUnmask, RoundAudience, Segment
from community.models import Membership
from livestream.models import LiveSession, WarmupRound
from tests import factories as f
from tests.browser import launch, session_cookies, staff_page
from tests.cdp.scenario import NOW, Builder, day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/g")


def shoot(page, name: str, *, width: int = 1280) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} overflows {width} px"


def _data():
    s = Builder()
    k1 = s.person("朵朵妈妈")
    r1 = s.person("小王", invited_by=k1)
    r2 = s.person("小李", invited_by=r1)
    s.order(r1, None, 5000, day(-3))
    s.order(r2, None, 3000, day(-50))
    s.order(k1, None, 2000, day(-40))
    l1, l2 = s.live("农场主来了·第一场", -3), s.live("农场主来了·第二场", -2)
    s.watch(k1, l1, 50)
    s.watch(r2, l1, 20)
    s.watch(r2, l2, 25)
    s.person("阳光团长", role=Membership.Role.LEADER)
    upcoming = s.live("下周直播", 3, status=LiveSession.Status.SCHEDULED)
    WarmupRound.objects.create(session=upcoming, kind="teaser", send_at=day(1), title="悬念海报")
    return s, k1, r2, upcoming


def test_operator_walks_models_member_360_and_segments(live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with time_machine.travel(NOW, tick=True):
        s, k1, _r2, upcoming = _data()
        boss = f.operator()
        cookies = session_cookies(live_server.url, boss, language="zh-hans")
        with sync_playwright() as p:
            browser = launch(p)
            try:
                ops, admin_requests = staff_page(browser, cookies)
                ops.goto(f"{live_server.url}/ops/")
                ops.get_by_role("link", name="客户数据", exact=True).click()
                expect(ops.locator("#rfm")).to_contain_text("重要价值客户")
                expect(ops.locator("#koc-table tbody tr").first).to_contain_text("朵朵妈妈")
                shoot(ops, "cdp-models")
                ops.locator("#koc-table tbody tr").first.get_by_role("button", name="设为阳光花园的 KOC").click()
                expect(ops.locator("body")).to_contain_text("已成为阳光花园的 KOC")
                assert Membership.objects.get(user=k1, community=s.a).role == Membership.Role.KOC

                # Member 360 from the community's member list.
                ops.goto(f"{live_server.url}/ops/communities/{s.a.slug}/")
                ops.locator(f'a[href="/ops/cdp/people/{k1.pk}/"]').click()
                expect(ops.locator("#member-name")).to_have_text("朵朵妈妈")
                expect(ops.locator("#member-phone")).to_have_text(k1.masked_phone)
                expect(ops.locator("#member-referrals")).to_contain_text("小李")
                expect(ops.locator("#member-watch")).to_contain_text("农场主来了·第一场")
                shoot(ops, "cdp-member-360")
                ops.locator("#unmask").click()
                expect(ops.locator("#member-phone")).to_have_text(k1.phone)
                expect(ops.locator("#unmask-log")).to_contain_text(boss.display_name)
                assert PhoneUnmask.objects.filter(viewer=boss, member=k1).count() == 1
                shoot(ops, "cdp-member-360-unmasked")

                # The segment builder: live count, a refused rule, then saved.
                ops.goto(f"{live_server.url}/ops/cdp/")
                ops.locator("#cdp-segments-tab").click()
                rows = ops.locator(".cdp-condition")
                rows.nth(0).locator(".cdp-field").select_option("watched_last_lives")
                rows.nth(0).locator(".cdp-window").fill("2")
                rows.nth(0).locator("select[name=op_0]").select_option("gte")
                rows.nth(0).locator(".cdp-value").fill("30")
                rows.nth(1).locator(".cdp-field").select_option("orders_in_days")
                rows.nth(1).locator(".cdp-window").fill("900")
                rows.nth(1).locator("select[name=op_1]").select_option("eq")
                rows.nth(1).locator(".cdp-value").fill("0")
                ops.locator("#segment-count-button").click()
                expect(ops.locator("#segment-count")).to_contain_text("366")
                ops.locator("#segment-name").fill("看了没买")
                ops.locator("#segment-save").click()
                expect(ops.locator("body")).to_contain_text("必须在 1 到 366 之间")
                assert Segment.objects.count() == 0
                shoot(ops, "cdp-segment-refused")
                ops.locator(".cdp-condition").nth(1).locator(".cdp-window").fill("30")
                ops.locator("#segment-count-button").click()
                expect(ops.locator("#segment-count")).to_have_text("当前 2 人")  # 朵朵妈妈 50 min, 小李 45 min
                shoot(ops, "cdp-segment-builder")
                ops.locator("#segment-save").click()
                expect(ops.locator("#segment-total")).to_contain_text("2")
                expect(ops.locator("#segment-members")).to_contain_text("小李")
                shoot(ops, "cdp-segment")

                # The live session's page: aim the teaser at the segment.
                ops.goto(f"{live_server.url}/ops/live/{upcoming.pk}/")
                panel = ops.locator("#cdp-audience")
                panel.locator("select[name=segment]").first.select_option(label="看了没买")
                panel.get_by_role("button", name="设置").first.click()
                expect(ops.locator("#cdp-audience")).to_contain_text("看了没买")
                assert RoundAudience.objects.get().segment.name == "看了没买"
                ops.locator("#cdp-audience").scroll_into_view_if_needed()
                shoot(ops, "cdp-session-audience")
                assert admin_requests == []
            finally:
                browser.close()
