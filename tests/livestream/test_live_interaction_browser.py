"""The host's panel and a member's phone side by side, over a real ASGI server and the Redis layer:
the host pins a product and the phone shows it without reload; the member's comment and question reach
the panel, and the assistant's triage empties the queue."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect, sync_playwright

from livestream.models import Comment, LiveSession
from tests import factories
from tests.browser import launch, phone_page, session_cookies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _member_and_session(**session_fields) -> tuple:
    """A member of a community and a live session aimed at it."""
    community = factories.community()
    member = factories.member(nickname="小王")
    factories.membership(user=member, community=community)
    session = factories.live_session(**session_fields)
    session.communities.set([community])
    return member, session


def test_the_host_pins_a_product_and_the_member_sees_it_without_reload(asgi_server):
    host = factories.host()
    member, session = _member_and_session(hosts=[host], status=LiveSession.Status.LIVE, starts_in=timedelta(minutes=-5))
    sku = factories.sku(name="有机上海青", price_fen=1590)
    host_cookies, member_cookies = session_cookies(asgi_server, host), session_cookies(asgi_server, member)

    with sync_playwright() as p:
        browser = launch(p)
        try:
            phone = phone_page(browser, member_cookies)
            phone.goto(f"{asgi_server}/m/live/{session.pk}/")
            expect(phone.locator("#live-room")).to_have_attribute("data-live", "connected", timeout=10_000)
            expect(phone.locator("#live-unavailable")).to_be_hidden()  # real time works: no notice
            expect(phone.locator("#live-pinned")).to_be_hidden()
            phone.evaluate("window.notReloaded = true")

            desk_context = browser.new_context(viewport={"width": 1280, "height": 900})
            desk_context.add_cookies(host_cookies)
            desk = desk_context.new_page()
            desk.goto(f"{asgi_server}/host/sessions/{session.pk}/")
            expect(desk.locator("#live-panel")).to_have_attribute("data-live", "connected", timeout=10_000)
            expect(desk.locator("#live-unavailable")).to_be_hidden()

            desk.locator(f'#live-pin-list li[data-sku="{sku.pk}"] button').click()

            expect(phone.locator("#live-pinned")).to_be_visible(timeout=10_000)
            expect(phone.locator("#live-pinned-name")).to_have_text("有机上海青 500g")
            expect(phone.locator("#live-pinned-price")).to_have_text("¥15.90")
            expect(desk.locator(f'#live-pin-list li[data-sku="{sku.pk}"]')).to_have_class("is-pinned")

            # the member comments and asks from the phone; the panel shows both, the queue only the question
            phone.fill("#live-text", "看着好新鲜")
            phone.click("#live-send")
            expect(phone.locator("#live-comments li")).to_have_text(["小王看着好新鲜"], timeout=10_000)
            expect(desk.locator("#live-stream li .c-text")).to_have_text(["看着好新鲜"], timeout=10_000)
            phone.check("#live-ask")
            phone.fill("#live-text", "几天能到？")
            phone.click("#live-send")
            expect(phone.locator("#live-composer-note")).to_have_text("Your question is with the host.")
            expect(desk.locator("#live-queue li .q-text")).to_have_text(["几天能到？"], timeout=10_000)
            expect(desk.locator("#live-queue-open")).to_have_text("1")
            expect(phone.locator("#live-comments li")).to_have_count(1)  # questions stay off the public stream

            desk.locator("#live-queue li").get_by_role("button", name="Answered").click()
            expect(desk.locator("#live-queue li")).to_have_count(0, timeout=10_000)
            expect(desk.locator("#live-queue-answered")).to_have_text("1")

            assert phone.evaluate("window.notReloaded") is True
            assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        finally:
            browser.close()

    assert LiveSession.objects.get(pk=session.pk).pinned_sku_id == sku.pk
    assert [(c.kind, c.answered_at is not None) for c in Comment.objects.order_by("pk")] == [
        ("comment", False),
        ("question", True),
    ]


def test_a_member_waiting_in_the_room_is_taken_live_when_the_host_goes_live(asgi_server):
    host = factories.host()
    member, session = _member_and_session(hosts=[host], starts_in=timedelta(minutes=2))
    host_cookies, member_cookies = session_cookies(asgi_server, host), session_cookies(asgi_server, member)

    with sync_playwright() as p:
        browser = launch(p)
        try:
            phone = phone_page(browser, member_cookies)
            phone.goto(f"{asgi_server}/m/live/{session.pk}/")
            expect(phone.locator("#live-room")).to_have_attribute("data-live", "connected", timeout=10_000)
            expect(phone.get_by_text("This live has not started yet.")).to_be_visible()
            expect(phone.locator("#live-composer")).to_have_count(0)

            desk_context = browser.new_context(viewport={"width": 1280, "height": 900})
            desk_context.add_cookies(host_cookies)
            desk = desk_context.new_page()
            desk.goto(f"{asgi_server}/host/sessions/{session.pk}/")
            desk.get_by_role("button", name="Go live").click()
            expect(desk.locator("#session-status")).to_have_text("Live")

            expect(phone.locator("#live-room")).to_have_attribute("data-status", "live", timeout=10_000)
            expect(phone.locator("#live-composer")).to_be_visible()
        finally:
            browser.close()


def test_signing_out_everywhere_on_one_phone_takes_the_other_out_of_the_live_room(asgi_server):
    member, session = _member_and_session(status=LiveSession.Status.LIVE, starts_in=timedelta(minutes=-5))
    cookies = session_cookies(asgi_server, member)

    with sync_playwright() as p:
        browser = launch(p)
        try:
            room = phone_page(browser, cookies)
            room.goto(f"{asgi_server}/m/live/{session.pk}/")
            expect(room.locator("#live-room")).to_have_attribute("data-live", "connected", timeout=10_000)

            lost_phone_found = phone_page(browser, cookies)
            lost_phone_found.goto(f"{asgi_server}/accounts/sign-out-everywhere/")
            lost_phone_found.locator("#confirm-sign-out-everywhere").click()
            expect(lost_phone_found).to_have_url(f"{asgi_server}/m/login/")

            # the room's socket is closed by the server and the page reloads, to the sign-in
            expect(room).to_have_url(re.compile(r"/m/login/"), timeout=10_000)
        finally:
            browser.close()


def test_the_hosts_open_panel_follows_the_team_page_a_new_role_reloads_it_switching_off_signs_it_out(asgi_server):
    brand = factories.brand()
    host = factories.host(brand=brand, nickname="老李")
    operator = factories.operator(brand=brand)
    _member, session = _member_and_session(
        hosts=[host], status=LiveSession.Status.LIVE, starts_in=timedelta(minutes=-5)
    )

    with sync_playwright() as p:
        browser = launch(p)
        try:
            desk_context = browser.new_context(viewport={"width": 1280, "height": 900})
            desk_context.add_cookies(session_cookies(asgi_server, host))
            desk = desk_context.new_page()
            desk.goto(f"{asgi_server}/host/sessions/{session.pk}/")
            expect(desk.locator("#live-panel")).to_have_attribute("data-live", "connected", timeout=10_000)
            desk.evaluate("window.notReloaded = true")

            ops_context = browser.new_context(viewport={"width": 1280, "height": 900})
            ops_context.add_cookies(session_cookies(asgi_server, operator))
            ops = ops_context.new_page()
            ops.goto(f"{asgi_server}/ops/team/{host.pk}/")
            ops.locator("#id_role").select_option("operator")
            ops.locator("#staff-change-form button[type=submit]").click()
            expect(ops).to_have_url(re.compile(r"/ops/team/"))

            # the panel was opened as a host: it reloads, and opens again as the operator they now are
            expect(desk.locator("#live-panel")).to_have_attribute("data-live", "connected", timeout=10_000)
            desk.wait_for_function("window.notReloaded === undefined", timeout=10_000)

            ops.goto(f"{asgi_server}/ops/team/{host.pk}/")
            ops.locator("#id_is_active").uncheck()
            ops.locator("#staff-change-form button[type=submit]").click()
            # switched off: signed out everywhere, and the open panel lands on the sign-in
            expect(desk).to_have_url(re.compile(r"/accounts/login/"), timeout=10_000)
        finally:
            browser.close()
