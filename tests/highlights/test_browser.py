"""In the browser: the operator reviews a clip at 1280 px (reached from the session page: rename, a refused
trim, publish, attach to the campaign) and a member sees "看回放·<title>" on the campaign page at 375 px."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect, sync_playwright

from highlights import generation
from highlights.models import Clip
from tests import factories
from tests.browser import launch, phone_page, session_cookies, staff_page
from tests.highlights.scenario import ended_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/d")


def shoot(page, name: str, *, width: int) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} overflows {width} px"


@pytest.fixture
def served_live(short_video):
    """An ended live with one cut clip, its files under the MEDIA_ROOT the test server serves (removed after)."""
    live = ended_live(video=short_video, seconds=12)
    home = factories.community()
    live.campaign.communities.set([home])
    live.member = factories.member()
    factories.membership(user=live.member, community=home)
    clip = Clip.objects.create(
        session=live.session,
        recording=live.recording,
        kind="peak",
        title="精彩时刻 00:05",
        start_s=2,
        end_s=8,
        peak_s=5,
    )
    generation.clips_cut(clips=[clip])
    live.clip = clip
    yield live
    shutil.rmtree(Path(settings.MEDIA_ROOT) / "highlights" / str(live.session.pk), ignore_errors=True)
    Path(live.recording.mp4.path).unlink(missing_ok=True)


def test_the_operator_publishes_a_clip_and_a_member_sees_it_on_the_campaign_page(live_server, served_live):
    SHOTS.mkdir(parents=True, exist_ok=True)
    live = served_live
    operator_cookies = session_cookies(live_server.url, live.operator, language="zh-hans")
    member_cookies = session_cookies(live_server.url, live.member, language="zh-hans")
    with sync_playwright() as p:
        browser = launch(p)
        try:
            ops, admin_requests = staff_page(browser, operator_cookies)
            ops.goto(f"{live_server.url}/ops/live/{live.session.pk}/")
            expect(ops.locator("#clips")).to_contain_text("1 个片段")
            ops.locator("#clips").get_by_role("link", name="审核片段").click()
            card = ops.locator(f"#clip-{live.clip.pk}")
            expect(card.locator("video")).to_have_attribute("poster", f"/media/{Clip.objects.get().thumbnail.name}")
            card.locator("input[name=title]").fill("老李讲上海青")
            card.get_by_role("button", name="改名").click()
            expect(ops.locator(".messages")).to_contain_text("片段已改名。")

            card = ops.locator(f"#clip-{live.clip.pk}")
            card.locator("input[name=end_s]").fill("70")
            card.get_by_role("button", name="调整起止").click()
            expect(ops.locator(f"#clip-{live.clip.pk} [role=alert]")).to_have_text(
                "片段必须在录像范围内（0 至 12.0 秒）。"
            )
            expect(ops.locator(f"#clip-{live.clip.pk} input[name=end_s]")).to_have_value("70")  # what was typed
            shoot(ops, "ops-clips-refused-trim", width=1280)
            assert Clip.objects.get().end_s == 8

            ops.locator(f"#clip-{live.clip.pk}").get_by_role("button", name="发布").click()
            expect(ops.locator(".messages")).to_contain_text("片段已发布。")
            card = ops.locator(f"#clip-{live.clip.pk}")
            card.locator("select[name=campaign]").select_option(str(live.campaign.pk))
            card.locator("form", has=ops.locator("select[name=campaign]")).get_by_role("button", name="保存").click()
            expect(ops.locator(".messages")).to_contain_text("接龙页已更新。")
            expect(ops.locator(f"#clip-{live.clip.pk}")).to_contain_text("展示于 有机上海青接龙")
            shoot(ops, "ops-clips", width=1280)
            assert admin_requests == []

            phone = phone_page(browser, member_cookies)
            phone.goto(f"{live_server.url}/m/jielong/{live.campaign.pk}/")
            replay = phone.locator("#replay")
            expect(replay).to_contain_text("看回放·老李讲上海青")
            video = replay.locator("video")
            expect(video).to_have_count(1)
            assert video.bounding_box()["width"] <= 375
            # The clip plays: its file is served and the browser reads its duration.
            duration = video.evaluate(
                "v => new Promise(r => { v.preload = 'metadata'; v.onloadedmetadata = () => r(v.duration);"
                " v.onerror = () => r(-1); v.load(); })"
            )
            assert abs(duration - 6.0) <= 0.5
            replay.scroll_into_view_if_needed()
            shoot(phone, "member-campaign-replay", width=375)
            replay.screenshot(path=str(SHOTS / "member-campaign-replay-panel.png"))
            caption = replay.get_by_role("link", name="看回放·老李讲上海青")
            assert caption.bounding_box()["height"] >= 44
            caption.click()
            expect(phone.locator(".hl-replay-title")).to_have_text("看回放·老李讲上海青")
            expect(phone.get_by_role("link", name="去接龙")).to_be_visible()
            shoot(phone, "member-clip", width=375)
        finally:
            browser.close()
    clip = Clip.objects.get()
    assert (clip.title, clip.status, clip.campaign_id) == ("老李讲上海青", Clip.Status.PUBLISHED, live.campaign.pk)
