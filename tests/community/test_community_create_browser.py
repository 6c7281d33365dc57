"""An operator makes a community with a pickup point from the console at 1280 px, never touching /admin/."""

import pytest
from playwright.sync_api import expect, sync_playwright

from community.models import Community, Membership, PickupPoint
from tests import factories
from tests.browser import launch, session_cookies, staff_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_creates_a_community_with_a_pickup_point_without_the_admin(live_server):
    Community.objects.create(brand=factories.brand(), name="老社群", slug="taken")
    cookies = session_cookies(live_server.url, factories.operator())

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, admin_requests = staff_page(browser, cookies)
            page.goto(f"{live_server.url}/ops/communities/")
            page.get_by_role("link", name="New community").click()

            page.locator("#id_name").fill("河畔社群")
            page.locator("#id_slug").fill("taken")
            page.get_by_role("button", name="Create the community").click()
            expect(page.get_by_role("alert")).to_contain_text("Another community already uses this web address.")
            assert Community.objects.count() == 1

            page.locator("#id_slug").fill("riverside")
            page.locator("#id_capacity").fill("300")
            page.locator("#id_join_gate").select_option("invitation")
            page.locator("#id_positioning").fill("好好吃饭，认识邻居")
            page.locator("#id_leaders").fill("13800138100")
            page.locator("#id_point_name_0").fill("河畔1栋门卫室")
            page.locator("#id_point_address_0").fill("河畔路1号")
            page.locator("#id_point_hours_0").fill("9:00-20:00")
            page.locator("#id_point_leader_0").fill("13800138100")
            page.get_by_role("button", name="Create the community").click()

            expect(page.get_by_text("Community “河畔社群” created.")).to_be_visible()
            assert page.url.endswith("/ops/communities/riverside/")
            page.goto(f"{live_server.url}/ops/communities/")
            expect(page.get_by_role("link", name="河畔社群")).to_be_visible()
            page.goto(f"{live_server.url}/ops/communities/riverside/pickup-points/")
            expect(page.locator('input[name="name"][value="河畔1栋门卫室"]')).to_be_visible()
        finally:
            browser.close()

    assert admin_requests == []
    community = Community.objects.get(slug="riverside")
    assert (community.slug, community.capacity, community.join_gate) == ("riverside", 300, "invitation")
    point = PickupPoint.objects.get(community=community)
    leader = Membership.objects.get(community=community)
    assert (leader.role, leader.user.phone) == ("leader", "+8613800138100")
    assert (point.name, point.leader_id) == ("河畔1栋门卫室", leader.user_id)
