"""Tap targets on member and leader pages at 375 px (issue 11): links, summaries and pickers are at least 44 px.

The measure is the one ../shared/tools/walk-shells applies (smaller than 44 px both ways, or under 30 px
high). A check box counts through its label: the label row is the 44 px target.
"""

from datetime import time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import sync_playwright

from community import feed
from community.models import Column, FeedItem, Membership
from tests import factories
from tests.browser import launch, phone_page, session_cookies

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SMALL_TARGETS_JS = """() => {
  const small = [];
  document.querySelectorAll('a, button, input:not([type=hidden]), select, textarea, summary').forEach(e => {
    let r = e.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(e).visibility === 'hidden') return;
    if (e.matches('input[type=checkbox], input[type=radio]') && e.closest('label')) r = e.closest('label').getBoundingClientRect();
    if (r.height < 44 && r.width < 44 || r.height < 30) small.push((e.textContent || e.value || e.name || e.tagName).trim().slice(0, 20));
  });
  return small;
}"""


def _pages(live_server, user, paths):
    cookies = session_cookies(live_server.url, user, language=None)
    found = {}
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = phone_page(browser, cookies)
            for path in paths:
                page.goto(f"{live_server.url}{path}")
                found[path] = (page.evaluate(SMALL_TARGETS_JS), page.evaluate("document.documentElement.scrollWidth"))
            if any("columns" in path for path in paths):
                page.goto(f"{live_server.url}{paths[-1]}")
                chip = page.locator(".rh-days label").filter(has_text="周二").last
                chip.tap()
                found["chip"] = chip.locator("input").is_checked()
        finally:
            browser.close()
    return found


def test_member_pages_have_44px_tap_targets(live_server):
    community = factories.community(name="阳光花园吃货群")
    member = factories.member(nickname="王姐")
    factories.membership(user=member, community=community)
    for n in range(6):
        feed.publish_feed_item(
            community=community,
            kind=FeedItem.Kind.POST,
            source_key=f"community.post:{n}",
            title=f"周三食谱{n}",
            body="正文",
            url="/m/feed/",
            published_at=timezone.now() - timedelta(minutes=n),
        )

    found = _pages(live_server, member, ["/m/", "/m/feed/?page=2", "/m/me/", f"/m/join/{community.slug}/"])

    assert {path: small for path, (small, _width) in found.items()} == {
        "/m/": [],
        "/m/feed/?page=2": [],
        "/m/me/": [],
        f"/m/join/{community.slug}/": [],
    }
    assert all(width <= 375 for _small, width in found.values())


def test_leader_pages_have_44px_tap_targets_and_weekday_chips_toggle(live_server):
    community = factories.community(name="阳光花园吃货群")
    leader = factories.member(nickname="团长阿芳")
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    for _n in range(3):
        factories.membership(user=factories.member(), community=community)
    Column.objects.create(community=community, name="周三食谱日", weekdays=[3], time_of_day=time(20, 0))
    base = f"/m/lead/{community.slug}"
    paths = [
        "/m/",
        f"{base}/members/",
        f"{base}/rhythm/",
        f"{base}/rhythm/?view=month",
        f"{base}/rhythm/posts/new/",
        f"{base}/import/",
        f"{base}/questionnaire/",
        f"{base}/rhythm/columns/",
    ]

    found = _pages(live_server, leader, paths)

    assert found.pop("chip") is True
    assert {path: small for path, (small, _width) in found.items()} == {path: [] for path in paths}
    assert all(width <= 375 for _small, width in found.values())
