"""The fulfilment console's pages: operators only; the hub, the delivery-day page (split, move), warehouses,
routes with their stops, pickup points' verifiers, and the jielong campaign page's delivery panel."""

from __future__ import annotations

from datetime import timedelta

import pytest

from community.models import Membership
from fulfillment.models import CampaignDelivery, PickLine, PointVerifier, Route, RouteStop, Warehouse
from fulfillment.split import default_delivery_date, split_day
from groupbuy import clock
from jielong.models import Campaign
from tests import factories
from tests.fulfillment.day import make_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(client):
    client.force_login(factories.operator())
    return client


def _day_url(day) -> str:
    return f"/ops/fulfilment/{day.brand_id}/{day.delivery_date.isoformat()}/"


PAGES = [
    "/ops/fulfilment/",
    "/ops/fulfilment/warehouses/",
    "/ops/fulfilment/warehouses/new/",
    "/ops/fulfilment/routes/",
    "/ops/fulfilment/routes/new/",
    "/ops/fulfilment/points/",
]


@pytest.mark.parametrize("url", PAGES)
def test_members_and_hosts_are_refused_and_anonymous_visitors_sign_in(client, url):
    for user in (factories.member(), factories.host()):
        client.force_login(user)
        assert client.get(url).status_code == 403
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_day_and_its_actions_are_refused_to_non_operators(client):
    day = make_day(campaigns=1)
    campaign = day.campaigns[0]
    client.force_login(factories.member())
    assert client.get(_day_url(day)).status_code == 403
    assert client.post(_day_url(day) + "split/").status_code == 403
    assert client.post(f"/ops/fulfilment/campaigns/{campaign.pk}/split/").status_code == 403
    assert (
        client.post(f"/ops/fulfilment/campaigns/{campaign.pk}/move/", {"delivery_date": "2099-01-01"}).status_code
        == 403
    )
    assert not PickLine.objects.exists()
    assert CampaignDelivery.objects.get(campaign=campaign).delivery_date == day.delivery_date


def test_the_navigation_offers_fulfilment(ops):
    page = ops.get("/ops/").content.decode()
    assert 'href="/ops/fulfilment/"' in page


@pytest.mark.parametrize("day", ["2026-13-01", "tomorrow", "20261201", "2026-1-1"])
def test_a_bad_date_is_not_found(ops, day):
    brand = factories.brand()
    assert ops.get(f"/ops/fulfilment/{brand.pk}/{day}/").status_code == 404


def test_an_unknown_brand_is_not_found(ops):
    assert ops.get("/ops/fulfilment/987654/2026-12-01/").status_code == 404


def test_the_hub_lists_the_day_and_offers_split_now_for_a_formed_campaign_without_a_day(ops):
    day = make_day(campaigns=2)
    waiting = day.campaigns[1]
    CampaignDelivery.objects.filter(campaign=waiting).delete()
    page = ops.get("/ops/fulfilment/").content.decode()
    assert _day_url(day) in page
    assert day.campaigns[0].title in page
    assert f"/ops/fulfilment/campaigns/{waiting.pk}/split/" in page
    assert "Not split yet" in page or "尚未分单" in page

    response = ops.post(f"/ops/fulfilment/campaigns/{waiting.pk}/split/")
    delivery = CampaignDelivery.objects.get(campaign=waiting)
    assert delivery.delivery_date == default_delivery_date(waiting) and delivery.split_at is not None
    assert response["Location"] == f"/ops/fulfilment/{day.brand_id}/{delivery.delivery_date.isoformat()}/#split"


def test_the_day_page_shows_campaigns_and_the_sections_and_splits_again(ops):
    day = make_day(campaigns=2, route_every_point=False)
    page = ops.get(_day_url(day)).content.decode()
    for campaign in day.campaigns:
        assert f"/ops/jielong/{campaign.pk}/" in page
    assert f"{_day_url(day)}split/" in page

    response = ops.post(_day_url(day) + "split/")
    assert response["Location"] == _day_url(day) + "#split"
    page = ops.get(_day_url(day)).content.decode()
    assert 'id="split"' in page  # the result, once
    assert 'id="split"' not in ops.get(_day_url(day)).content.decode()


def test_the_split_result_names_the_points_no_route_delivers_with_a_link_to_the_routes(ops):
    day = make_day(campaigns=2, route_every_point=False)
    skipped = day.points[-1]
    result = split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    ops.post(_day_url(day) + "split/")
    page = ops.get(_day_url(day)).content.decode()
    if result.unrouted_point_ids:
        assert f"/ops/fulfilment/routes/#point-{skipped.pk}" in page
        assert skipped.name in page
    hub = ops.get("/ops/fulfilment/").content.decode()
    assert "/ops/fulfilment/routes/#coverage-" in hub  # the skipped point's ambient goods


def test_moving_a_campaign_from_the_day_page_lands_on_the_new_day(ops):
    day = make_day(campaigns=2)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    moved = day.campaigns[0]
    later = day.delivery_date + timedelta(days=3)
    response = ops.post(f"/ops/fulfilment/campaigns/{moved.pk}/move/", {"delivery_date": later.isoformat()})
    assert response["Location"] == f"/ops/fulfilment/{day.brand_id}/{later.isoformat()}/#split"
    assert CampaignDelivery.objects.get(campaign=moved).delivery_date == later
    page = ops.get(response["Location"]).content.decode()
    assert moved.title in page and 'id="split"' in page


def test_a_move_to_the_past_is_refused_with_a_message(ops):
    day = make_day(campaigns=1)
    campaign = day.campaigns[0]
    past = clock.localdate() - timedelta(days=2)
    response = ops.post(
        f"/ops/fulfilment/campaigns/{campaign.pk}/move/", {"delivery_date": past.isoformat()}, follow=True
    )
    assert CampaignDelivery.objects.get(campaign=campaign).delivery_date == day.delivery_date
    assert "message-error" in response.content.decode()
    response = ops.post(f"/ops/fulfilment/campaigns/{campaign.pk}/move/", {"delivery_date": "soon"}, follow=True)
    assert "message-error" in response.content.decode()


def test_an_operator_creates_edits_and_deactivates_a_warehouse(ops):
    factories.brand()
    response = ops.post("/ops/fulfilment/warehouses/new/", {"name": "浦东城市仓", "city": "上海", "address": ""})
    assert response.status_code == 302
    warehouse = Warehouse.objects.get()
    assert "浦东城市仓" in ops.get("/ops/fulfilment/warehouses/").content.decode()

    response = ops.post("/ops/fulfilment/warehouses/new/", {"name": "浦东城市仓"})
    assert response.status_code == 400 and Warehouse.objects.count() == 1

    ops.post(f"/ops/fulfilment/warehouses/{warehouse.pk}/", {"name": "浦东仓", "city": "上海"})
    ops.post(f"/ops/fulfilment/warehouses/{warehouse.pk}/active/", {"active": "0"})
    warehouse.refresh_from_db()
    assert (warehouse.name, warehouse.is_active) == ("浦东仓", False)


def test_with_several_brands_the_new_warehouse_asks_which(ops):
    factories.brand()
    other = factories.brand("山野集")
    assert 'name="brand"' in ops.get("/ops/fulfilment/warehouses/new/").content.decode()
    ops.post("/ops/fulfilment/warehouses/new/", {"brand": other.pk, "name": "杭州仓"})
    assert Warehouse.objects.get().brand == other


def test_a_new_route_needs_a_warehouse_first(ops):
    response = ops.get("/ops/fulfilment/routes/new/")
    assert response["Location"] == "/ops/fulfilment/warehouses/new/"


def test_an_operator_builds_a_route_and_orders_its_stops(ops):
    brand = factories.brand()
    warehouse = Warehouse.objects.create(brand=brand, name="浦东仓")
    home = factories.community(brand=brand)
    a, b = (factories.pickup_point(community=home, name=n) for n in ("3栋门卫室", "南门超市"))
    response = ops.post(
        "/ops/fulfilment/routes/new/",
        {
            "name": "冷链一线",
            "warehouse": warehouse.pk,
            "zones": ["chilled", "frozen"],
            "departs_at": "06:30",
            "driver_name": "王师傅",
            "driver_phone": "13900001111",
            "vehicle_plate": "沪A12345",
        },
    )
    route = Route.objects.get()
    assert response["Location"] == f"/ops/fulfilment/routes/{route.pk}/#stops"
    assert (route.driver_phone, route.zones) == ("+8613900001111", ["chilled", "frozen"])

    stops = f"/ops/fulfilment/routes/{route.pk}/stops/"
    ops.post(stops, {"action": "add", "point": a.pk})
    ops.post(stops, {"action": "add", "point": b.pk})
    ops.post(stops, {"action": "up", "point": b.pk})
    assert list(RouteStop.objects.filter(route=route).values_list("pickup_point_id", flat=True)) == [b.pk, a.pk]
    page = ops.post(stops, {"action": "add", "point": a.pk}, follow=True).content.decode()
    assert "message-error" in page and "3栋门卫室" in page
    ops.post(stops, {"action": "remove", "point": b.pk})
    assert list(RouteStop.objects.filter(route=route).values_list("pickup_point_id", flat=True)) == [a.pk]

    page = ops.get("/ops/fulfilment/routes/").content.decode()
    assert "139****1111" in page and "13900001111" not in page
    assert f'id="point-{b.pk}"' in page


def test_a_route_with_a_bad_phone_shows_the_message_and_is_not_created(ops):
    brand = factories.brand()
    warehouse = Warehouse.objects.create(brand=brand, name="浦东仓")
    response = ops.post(
        "/ops/fulfilment/routes/new/",
        {
            "name": "冷链一线",
            "warehouse": warehouse.pk,
            "zones": ["chilled"],
            "departs_at": "06:30",
            "driver_phone": "555",
        },
    )
    assert response.status_code == 400
    assert "has-error" in response.content.decode()
    assert not Route.objects.exists()


def test_an_operator_adds_and_removes_a_verifier_by_phone(ops):
    home = factories.community()
    point = factories.pickup_point(community=home, name="3栋门卫室")
    helper = factories.member(phone="+8613800001234", nickname="李阿姨")
    factories.membership(user=helper, community=home)
    outsider = factories.member(phone="+8613800005678", nickname="路人")
    factories.membership(user=outsider, community=home, status=Membership.Status.PENDING)

    listing = ops.get("/ops/fulfilment/points/").content.decode()
    assert f"/ops/fulfilment/points/{point.pk}/" in listing

    response = ops.post(f"/ops/fulfilment/points/{point.pk}/verifiers/", {"phone": "13800005678"})
    assert response.status_code == 400
    assert "路人" in response.content.decode() and not PointVerifier.objects.exists()

    response = ops.post(f"/ops/fulfilment/points/{point.pk}/verifiers/", {"phone": "13800001234"})
    assert response.status_code == 302
    verifier = PointVerifier.objects.get()
    page = ops.get(f"/ops/fulfilment/points/{point.pk}/").content.decode()
    assert "李阿姨" in page and "138****1234" in page and "13800001234" not in page

    ops.post(f"/ops/fulfilment/points/{point.pk}/verifiers/{verifier.pk}/remove/")
    assert not PointVerifier.objects.exists()


def test_the_jielong_campaign_page_links_to_its_delivery_day(ops):
    day = make_day(campaigns=2)
    campaign, waiting = day.campaigns
    CampaignDelivery.objects.filter(campaign=waiting).delete()
    page = ops.get(f"/ops/jielong/{campaign.pk}/").content.decode()
    assert _day_url(day) in page
    page = ops.get(f"/ops/jielong/{waiting.pk}/").content.decode()
    assert f"/ops/fulfilment/campaigns/{waiting.pk}/split/" in page

    draft = factories.campaign()
    page = ops.get(f"/ops/jielong/{draft.pk}/").content.decode()
    assert 'id="delivery"' not in page
    assert Campaign.objects.filter(pk=draft.pk, delivery__isnull=True).exists()
