"""Headless Chromium for the browser tests: Debian's own build, launched by Playwright (never a
downloaded browser)."""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def session_cookies(base_url: str, user=None, *, language: str | None = "en") -> list[dict]:
    """Cookies for a Playwright context: signed in as ``user`` (None: anonymous), pages in ``language``.

    Signs in with Django's test client, which writes a session row: call it before entering
    ``sync_playwright()`` (a connection opened inside Playwright's greenlets would outlive the test).
    """
    from django.test import Client

    cookies = []
    if user is not None:
        client = Client()
        client.force_login(user)
        cookies.append({"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url})
    if language is not None:
        cookies.append({"name": "django_language", "value": language, "url": base_url})
    return cookies


def staff_page(browser, cookies: list[dict], *, width: int = 1280, height: int = 900):
    """A laptop-sized page for a console walk, and the list of /admin/ URLs it requested (which must stay
    empty: no daily task of any role may need the Django admin)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_cookies(cookies)
    page = context.new_page()
    admin_requests: list[str] = []
    page.on("request", lambda request: "/admin/" in request.url and admin_requests.append(request.url))
    return page, admin_requests


def phone_page(browser, cookies: list[dict]):
    """A member's phone: 375 px wide, touch, at twice the pixel density (what members open WeChat links on)."""
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    context.add_cookies(cookies)
    return context.new_page()
