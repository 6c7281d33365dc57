"""At 375 px: a member who picked up posts a review with a photo from the order page and answers the NPS question
with one tap; the review shows on the jielong page and on the leader's page; the operator reads NPS at 1280 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from feedback.models import NpsSurvey, Review, ReviewPhoto
from feedback.reviews import review_post
from tests import factories
from tests.browser import launch, phone_page, session_cookies, staff_page
from tests.feedback.scenario import delivered_day, leader_of, photo, pick_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/feedback")


def shoot(page, name: str, *, width: int = 375) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} overflows {width} px"


def smallest_side(locator) -> float:
    sizes = [locator.nth(i).bounding_box() for i in range(locator.count())]
    return min(min(box["width"], box["height"]) for box in sizes)


def test_a_member_reviews_with_a_photo_and_answers_the_survey_at_375_px(live_server, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    day = delivered_day(members=3)
    order = day.orders[0]
    pick_up(order)  # a real 核销: its after-commit event asks the NPS question
    survey = NpsSurvey.objects.get(user=order.user, campaign=order.campaign)
    leader = leader_of(day)
    neighbour = day.orders[1]
    pick_up(neighbour)
    review_post(order_id=neighbour.pk, user=neighbour.user, rating=4, text="鸡蛋很香，就是送得晚了一点")
    picture = tmp_path / "greens.jpg"
    picture.write_bytes(photo().read())
    member_cookies = session_cookies(live_server.url, order.user, language="zh-hans")
    leader_cookies = session_cookies(live_server.url, leader, language="zh-hans")
    operator_cookies = session_cookies(live_server.url, factories.operator(), language="zh-hans")
    try:
        with sync_playwright() as p:
            browser = launch(p)
            try:
                page = phone_page(browser, member_cookies)
                page.goto(f"{live_server.url}/m/")
                expect(page.locator("#feedback")).to_contain_text("关于您订单的一个小问题")
                page.locator("#feedback").scroll_into_view_if_needed()
                page.locator("#feedback").screenshot(path=str(SHOTS / "member-home-section.png"))

                page.goto(f"{live_server.url}/m/jielong/orders/{order.pk}/")
                expect(page.locator("#review")).to_contain_text("这次的货怎么样？")
                shoot(page, "member-order-picked-up")
                page.locator("#review-start").click()
                expect(page.locator("#review-form")).to_be_visible()
                assert smallest_side(page.locator(".fb-stars label")) >= 44
                page.locator("label[for=rating-4]").click()
                page.locator("label[for=rating-5]").click()
                page.locator("textarea[name=text]").fill("上海青很嫩，鸡蛋一个没碎，下次还买！")
                page.locator("#review-photos").set_input_files(str(picture))
                shoot(page, "member-review-form")
                page.locator("#review-submit").click()
                expect(page.locator("#my-review")).to_contain_text("上海青很嫩")
                expect(page.locator("#my-review .fb-photos img")).to_have_count(1)
                shoot(page, "member-order-reviewed")

                page.locator("#nps-prompt a").click()
                expect(page.locator("h1.fb-question")).to_have_text("您有多大可能把源味集推荐给邻居？")
                buttons = page.locator(".fb-scores button")
                expect(buttons).to_have_count(11)
                assert smallest_side(buttons) >= 44
                shoot(page, "member-nps-question")
                page.locator("#nps-9").click()  # one tap answers
                expect(page.locator("#nps-done .fb-big")).to_have_text("9")
                page.locator("#nps-reason-form textarea").fill("菜新鲜，取货方便")
                shoot(page, "member-nps-thanks")
                page.locator("#nps-reason-send").click()
                expect(page.locator("#nps-reason")).to_have_text("菜新鲜，取货方便")

                page.goto(f"{live_server.url}/m/jielong/{order.campaign_id}/")
                expect(page.locator("#reviews")).to_contain_text("上海青很嫩")
                page.locator("#reviews").scroll_into_view_if_needed()
                page.locator("#reviews").screenshot(path=str(SHOTS / "member-campaign-reviews.png"))
                assert page.evaluate("document.documentElement.scrollWidth") <= 375

                leader_page = phone_page(browser, leader_cookies)
                leader_page.goto(f"{live_server.url}/m/")
                leader_page.locator("#home-leader-reviews").click()
                expect(leader_page.locator("#copy-all")).to_contain_text("上海青很嫩")
                expect(leader_page.locator("#copy-all")).to_contain_text("鸡蛋很香")
                shoot(leader_page, "leader-reviews")

                ops, admin_requests = staff_page(browser, operator_cookies)
                ops.goto(f"{live_server.url}/ops/")
                ops.get_by_role("link", name="评价与 NPS").click()
                expect(ops.locator("#nps-total")).to_have_text("100")
                expect(ops.locator("#reasons-promoter")).to_contain_text("菜新鲜，取货方便")
                shoot(ops, "ops-nps", width=1280)
                ops.locator(".fb-tabs a", has_text="评价晒单").click()
                expect(ops.locator("#reviews")).to_contain_text("上海青很嫩")
                shoot(ops, "ops-reviews", width=1280)
                ops.goto(f"{live_server.url}/ops/jielong/{order.campaign_id}/")
                expect(ops.locator("#feedback")).to_contain_text("NPS 100")
                ops.locator("#feedback").screenshot(path=str(SHOTS / "ops-campaign-panel.png"))
                assert admin_requests == []
            finally:
                browser.close()
        survey.refresh_from_db()
        assert (survey.score, survey.reason) == (9, "菜新鲜，取货方便")
        assert list(Review.objects.filter(order=order).values_list("rating", "photo_count")) == [(5, 1)]
    finally:
        for stored in ReviewPhoto.objects.all():
            stored.image.delete(save=False)
