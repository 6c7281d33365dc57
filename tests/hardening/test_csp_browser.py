"""Under the Content-Security-Policy, a representative page of every shell runs with no violation and no console
error: member home, a jielong, the live room, the host panel, the ops dashboard, the BI board (ECharts), the
pickup scanner with its camera on (zxing-wasm), the driver's route, the supplier's page and the supplier links, and the
Django admin (its change forms' widgets). Served by uvicorn as in production (WebSockets too).

Screenshots of each page go to /tmp/shots/hardening/.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import sync_playwright

from community.models import Membership, User
from fulfillment.split import split_day
from fulfillment.supplier_links import supplier_link_create
from fulfillment.tracking_driver import driver_token
from jielong.models import Campaign, Order
from livestream.models import LiveSession
from tests import factories
from tests.browser import CHROMIUM, CHROMIUM_ARGS, session_cookies
from tests.fulfillment.day import make_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/hardening")

# Runs before any page script: every violation the page meets is kept for the test to read.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


# Markup with a style attribute: the policy refuses the attribute and reports it (the watcher's own check).
STYLED_MARKUP = """document.body.insertAdjacentHTML("beforeend", '<b style="color: red">x</b>')"""


def _pages() -> list[tuple[str, User | None, str, dict]]:
    """(name, who, url, options) for each shell's page; options: width, click (a selector), wait (a selector)."""
    day = make_day(suppliers=1, points=2, members=4, campaigns=1)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    home = day.points[0].community
    point = day.points[0]
    leader = factories.member(nickname="王团长")
    factories.membership(user=leader, community=home, role=Membership.Role.LEADER)
    point.leader = leader
    point.save(update_fields=["leader"])
    member = day.members[0]
    operator, host = factories.operator(), factories.host()
    superuser = User.objects.create_superuser(username="root", password="x" * 12)
    # An open jielong (progress bars) beside the day's formed one, and the next live session.
    open_campaign = factories.campaign(
        communities=[home], status=Campaign.Status.OPEN, group_threshold=10, joined_count=4, title="散养鸡蛋接龙"
    )
    # A live that is on: the room's and the panel's scripts (comments, pins, the socket) all run.
    session = factories.live_session(hosts=[host], status=LiveSession.Status.LIVE, starts_in=timedelta(minutes=-5))
    session.communities.set([home])
    supplier = day.skus[0].product.supplier
    supplier_token = supplier_link_create(supplier=supplier, by=operator).token
    driver = driver_token(route_id=day.routes[0].pk, delivery_date=day.delivery_date)
    phone, laptop = {"width": 375}, {"width": 1280}
    iso = day.delivery_date.isoformat()
    return [
        ("member-home", member, reverse("community:member-home"), phone),
        # An open jielong: its steppers and join bar (jielong.js), its socket.
        (
            "jielong",
            member,
            reverse("jielong:member-campaign", args=[open_campaign.pk]),
            {
                **phone,
                "click": '.jl-step[data-step="1"]',
                "check": "document.querySelector('.jl-qty').value === '1'",
            },
        ),
        (
            "jielong-order",
            member,
            reverse("jielong:member-order", args=[Order.objects.filter(user=member).first().pk]),
            phone,
        ),
        ("live-room", member, reverse("livestream:member-live", args=[session.pk]), phone),
        ("host-panel", host, reverse("livestream:host-panel", args=[session.pk]), laptop),
        ("ops-dashboard", operator, "/", laptop),
        # Its progress bar: 4 of 10 joined is 40 % of the bar's track, from a class (no style attribute).
        ("ops-campaigns", operator, reverse("jielong:ops-campaigns"), {**laptop, "bar": ".progress .pct-40"}),
        # The builder's preview frames the member page (frame-src and that page's frame-ancestors 'self').
        (
            "campaign-preview",
            operator,
            reverse("jielong:ops-campaign-preview", args=[open_campaign.pk]),
            {**laptop, "frame": (".jl-frame", ".jl-title")},
        ),
        ("bi-board", operator, reverse("bi:board"), {**laptop, "wait": "#chart-months canvas"}),
        # The leader's board draws with ECharts' SVG renderer.
        ("leader-bi", leader, reverse("bi:leader-board"), {**phone, "wait": "#chart-months svg"}),
        (
            "pickup-scanner",
            leader,
            reverse("fulfillment:pickup-point", args=[point.pk]),
            # The QR reader is WebAssembly: compiled under this page's policy, reading the camera's frames.
            {**phone, "click": "#scan-start", "wait": "#pickup-scan[data-reader='ready'][data-camera='on']"},
        ),
        ("driver-route", None, reverse("fulfillment:driver", args=[driver]), phone),
        ("supplier-page", None, reverse("fulfillment:supplier-page", args=[supplier_token]), phone),
        # A print sheet (its own shell): labels on an 80 mm roll.
        (
            "crate-labels",
            operator,
            reverse("fulfillment:doc-crate-labels", args=[iso, day.routes[0].pk]) + "?paper=80mm",
            laptop,
        ),
        ("supplier-list", operator, reverse("catalogue:ops-suppliers"), laptop),
        ("supplier-links", operator, reverse("fulfillment:supplier-links", args=[supplier.pk]), laptop),
        # Integrations, audit and privacy (issue 16): the API reference is Swagger UI from the sidecar package.
        ("api-docs", operator, reverse("api:docs"), {**laptop, "wait": "#swagger-ui .opblock"}),
        ("api-tokens", operator, reverse("api:ops-tokens"), laptop),
        ("webhooks", operator, reverse("webhooks:ops-endpoints"), laptop),
        ("audit", operator, reverse("web:audit"), laptop),
        ("ops-privacy", operator, reverse("privacy:ops-home"), laptop),
        ("member-privacy", member, reverse("privacy:member"), phone),
        ("admin", superuser, "/admin/", laptop),
        ("admin-user-change", superuser, f"/admin/community/user/{member.pk}/change/", laptop),
        ("admin-session-change", superuser, f"/admin/livestream/livesession/{session.pk}/change/", laptop),
    ]


def test_every_shell_runs_under_the_policy_without_a_violation(asgi_server):
    pages = _pages()
    cookies = {who.pk if who else None: session_cookies(asgi_server, who) for _, who, _, _ in pages}
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[str]] = {}
    visited = []

    with sync_playwright() as p:
        # The fake camera (a test pattern) for the scanner; every other page ignores it.
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
        )
        try:
            for name, who, url, options in pages:
                width = options.get("width", 1280)
                context = browser.new_context(
                    viewport={"width": width, "height": 800},
                    is_mobile=width < 500,
                    has_touch=width < 500,
                    device_scale_factor=2 if width < 500 else 1,
                )
                context.grant_permissions(["camera"], origin=asgi_server)
                context.add_cookies(cookies[who.pk if who else None])
                context.add_init_script(WATCH_VIOLATIONS)
                page = context.new_page()
                errors: list[str] = []
                page.on("console", lambda m, e=errors: m.type == "error" and e.append(f"console: {m.text}"))
                page.on("pageerror", lambda exc, e=errors: e.append(f"page error: {exc}"))
                response = page.goto(asgi_server + url)
                assert response is not None and response.ok, (name, url, response and response.status)
                assert "'unsafe-inline'" not in response.headers["content-security-policy"]
                page.wait_for_load_state("networkidle")
                if options.get("click"):
                    page.click(options["click"])
                if options.get("wait"):
                    page.wait_for_selector(options["wait"], timeout=10_000)
                if options.get("frame"):
                    frame, inside = options["frame"]
                    page.frame_locator(frame).locator(inside).wait_for(timeout=10_000)
                if options.get("check"):
                    assert page.evaluate(options["check"]) is True, (name, options["check"])
                if options.get("bar"):
                    bar = page.locator(options["bar"]).first.bounding_box()
                    track = page.locator(options["bar"]).first.locator("..").bounding_box()
                    assert round(bar["width"] / track["width"], 2) == 0.4, (bar, track)
                page.wait_for_timeout(300)  # a script's late work (a socket, a chart's animation frame)
                errors += [f"violation: {v}" for v in page.evaluate("window.__cspViolations")]
                page.evaluate("window.__cspViolations = []")
                page.screenshot(path=str(SHOTS / f"csp-{name}.png"), full_page=True)
                visited.append((name, page.url))
                if name == "member-home":
                    # The watcher itself: markup with a style attribute is refused and reported.
                    before = len(errors)
                    page.evaluate(STYLED_MARKUP)
                    page.wait_for_timeout(100)
                    seen = page.evaluate("window.__cspViolations")
                    assert [v.split()[0] for v in seen] == ["style-src-attr"], seen
                    assert "Applying inline style violates" in " ".join(errors[before:])
                    del errors[before:]
                if errors:
                    problems[name] = errors
                context.close()
        finally:
            browser.close()

    assert problems == {}
    assert len(visited) == len(pages)
