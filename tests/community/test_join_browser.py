"""A new member on a phone (375 px): invitation link → sign in with a code → questionnaire → community home."""

import re

import pytest
from playwright.sync_api import expect, sync_playwright

from community.models import Application, Community, Membership
from tests import factories
from tests.browser import launch, phone_page, session_cookies
from tests.community.test_joining import questionnaire

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_answer_questionnaire_and_land_on_community_home(live_server, settings):
    settings.SMS_SHOW_CODE = True
    community = factories.community(
        name="阳光花园吃货群", positioning="只为关心食材来源的邻居", join_gate=Community.JoinGate.QUESTIONNAIRE
    )
    _q, _parts = questionnaire(community, threshold=11)
    inviter = factories.member(nickname="王姐")
    factories.membership(user=inviter, community=community)

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = phone_page(browser, session_cookies(live_server.url))

            page.goto(f"{live_server.url}/m/join/{community.slug}/")
            expect(page.get_by_text("只为关心食材来源的邻居")).to_be_visible()
            page.get_by_role("link", name="Sign in to join").click()

            page.get_by_label("Mobile number").fill("138 1234 5678")
            page.get_by_role("button", name="Send code").click()
            hint = page.locator(".dev-hint").inner_text()
            code = re.search(r"\d{6}", hint).group(0)
            page.get_by_label("Verification code").fill(code)
            page.get_by_label("I have read and agree to the privacy notice").check()
            page.get_by_role("button", name="Sign in", exact=True).click()

            # Back on the join page, now signed in: answer the questionnaire.
            expect(page.get_by_text("A few questions before you join")).to_be_visible()
            page.get_by_label("关心食材来源").check()
            page.get_by_label("每天做").check()
            page.get_by_label("给孩子做").check()
            page.get_by_label("介绍一下你自己").fill("我住在阳光花园三栋，喜欢做饭。")
            page.get_by_role("button", name="Submit and join").click()

            expect(page).to_have_url(f"{live_server.url}/m/")
            expect(page.get_by_text("Welcome to 阳光花园吃货群!")).to_be_visible()
            expect(page.locator("#communities").get_by_text("阳光花园吃货群")).to_be_visible()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375
        finally:
            browser.close()

    membership = Membership.objects.get(community=community, user__phone="+8613812345678")
    assert membership.status == Membership.Status.ACTIVE
    assert membership.user.privacy_consent_at is not None
    application = Application.objects.get(user=membership.user)
    assert (application.status, application.score) == ("approved", 13)
