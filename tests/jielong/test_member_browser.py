"""Two phones on the member jielong page: one joins, the other sees the count change without reload.

A real ASGI server (uvicorn, HTTP and WebSockets) runs in a subprocess against the test database;
broadcasts go through the real Redis channel layer.
"""

import os
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from catalogue.models import SKU
from jielong.models import Campaign, Order
from tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def asgi_server():
    """uvicorn (HTTP and WebSockets) in its own process against the test database, on a free port.

    A process rather than a thread: its database connections end with it, so the test database
    can be flushed and dropped afterwards.
    """
    db = settings.DATABASES["default"]
    database_url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "groupbuy.settings.test"}
    command = [sys.executable, "-m", "uvicorn", "--factory", "tests.jielong.browser_asgi:make_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--ws", "websockets-sansio", "--lifespan", "off"]
    server = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "uvicorn exited"
            assert time.monotonic() < deadline, "uvicorn did not start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _session_cookie(user, base_url):
    client = Client()
    client.force_login(user)
    return [
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url},
        {"name": "django_language", "value": "en", "url": base_url},
    ]


def test_one_member_joins_and_the_other_sees_the_count_change_without_reload(asgi_server):
    community = f.community()
    point = f.pickup_point(community=community)
    campaign = f.campaign(communities=[community], status=Campaign.Status.OPEN, group_threshold=3, perk_limit=1)
    item = campaign.items.select_related("sku__product").get()
    SKU.objects.filter(pk=item.sku_id).update(stock=10)
    joiner, watcher = f.member(nickname="小王"), f.member(nickname="老张")
    for user in (joiner, watcher):
        f.membership(user=user, community=community, default_pickup_point=point)
    url = f"{asgi_server}/m/jielong/{campaign.pk}/"
    # Database work stays outside Playwright's block: its greenlets carry their own context, and a
    # connection opened there would outlive the test.
    cookies = [_session_cookie(user, asgi_server) for user in (joiner, watcher)]
    qty_field, joiner_line = f'input[name="qty_{item.pk}"]', f"1. 小王 {item.sku.product.name}×2"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            pages = []
            for user_cookies in cookies:
                context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2)
                context.add_cookies(user_cookies)
                page = context.new_page()
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
