"""A leader builds the entry questionnaire on a phone (375 px): kinds switch fields, the top score follows."""

import pytest
from playwright.sync_api import expect, sync_playwright

from community.models import Membership, Questionnaire
from community.questionnaire_editor import NEVER_AUTO_APPROVE
from tests import factories
from tests.browser import launch, phone_page, session_cookies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_leader_builds_a_questionnaire_on_a_phone(live_server):
    community = factories.community(name="阳光花园吃货群")
    leader = factories.member(nickname="团长阿芳")
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    cookies = session_cookies(live_server.url, leader)

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = phone_page(browser, cookies)
            page.goto(f"{live_server.url}/m/lead/{community.slug}/questionnaire/")

            first = page.locator("[data-question]").nth(0)
            first.locator('input[name="q-0-text"]').fill("为什么想加入？")
            first.locator('input[name="q-0-c-0-text"]').fill("关心食材来源")
            first.locator('input[name="q-0-c-0-score"]').fill("6")
            first.locator('input[name="q-0-c-1-text"]').fill("图便宜")
            first.locator('input[name="q-0-c-1-score"]').fill("0")
            expect(first.locator("[data-text-settings]")).to_be_hidden()
            expect(page.locator("#max-score")).to_have_text("6")

            page.get_by_role("button", name="Add a question").click()
            second = page.locator("[data-question]").nth(1)
            second.locator('input[name="q-1-text"]').fill("介绍一下你自己")
            second.locator('select[name="q-1-kind"]').select_option("text")
            expect(second.locator("[data-choices]")).to_be_hidden()
            second.locator('input[name="q-1-text_min_length"]').fill("10")
            second.locator('input[name="q-1-text_points"]').fill("4")
            expect(page.locator("#max-score")).to_have_text("10")

            page.locator("#threshold").fill("11")
            page.get_by_role("button", name="Save questionnaire").click()
            expect(page.get_by_role("alert")).to_contain_text("above the highest possible score (10 points)")
            assert page.locator('input[name="q-1-text"]').input_value() == "介绍一下你自己"  # edits kept

            page.locator("#auto-approve").uncheck()
            expect(page.locator("#threshold")).to_be_disabled()
            page.get_by_role("button", name="Save questionnaire").click()
            expect(page.get_by_text("The questionnaire was saved.")).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
        finally:
            browser.close()

    questionnaire = Questionnaire.objects.get(community=community)
    assert questionnaire.threshold == NEVER_AUTO_APPROVE
    assert [
        (q.text, q.kind, q.text_points, [c.text for c in q.choices.all()]) for q in questionnaire.questions.all()
    ] == [
        ("为什么想加入？", "single", 0, ["关心食材来源", "图便宜"]),
        ("介绍一下你自己", "text", 4, []),
    ]
