"""Tracking pages: the driver's signed link (signature, salt, expiry), its 发车 / 已到达, the operator's batch
steps on the delivery-day page, and the leader's "received"."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.core import signing
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from community.models import Brand
from fulfillment.models import BatchMove, Notice, Parcel
from fulfillment.split import split_day
from fulfillment.tracking_driver import DRIVER_LINK_DAYS, driver_link_expires, driver_token
from groupbuy import clock
from tests import factories
from tests.fulfillment.day import make_day

pytestmark = pytest.mark.django_db
Kind = BatchMove.Kind
State = Parcel.State


@pytest.fixture
def day():
    made = make_day(members=16)
    for i, point in enumerate(made.points):
        point.leader = factories.member(phone=f"+861380000{i:04d}", nickname=f"团长{i}")
        point.opening_hours = "9:00-20:00"
        point.save()
    split_day(brand_id=made.brand_id, delivery_date=made.delivery_date)
    return made


def driver_url(day, route=None) -> str:
    route = route or day.routes[0]
    return reverse("fulfillment:driver", args=[driver_token(route_id=route.pk, delivery_date=day.delivery_date)])


# --- the driver link -----------------------------------------------------------------------------------


def test_the_driver_page_shows_the_route_its_stops_in_order_the_contacts_full_phone_and_crates(client, day):
    cold = day.routes[0]
    cold.vehicle_plate = "沪A·C1234"
    cold.save()
    response = client.get(driver_url(day))
    assert response.status_code == 200
    html = response.content.decode()
    assert cold.name in html and "沪A·C1234" in html and "06:00" in html
    stops = list(cold.stops.order_by("position").select_related("pickup_point__leader"))
    positions = [html.index(f'id="stop-{s.pickup_point_id}"') for s in stops]
    assert positions == sorted(positions)
    for stop in stops:
        assert f"tel:{stop.pickup_point.leader.phone[3:]}" in html  # the full number: the driver calls it
    assert "冷藏" in html or "冷冻" in html
    assert "箱" in html
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cache-Control"] == "no-store"


def test_a_tampered_driver_link_does_not_open(client, day):
    token = driver_token(route_id=day.routes[0].pk, delivery_date=day.delivery_date)
    head, _sep, signature = token.rpartition(":")
    tampered = f"{head}:{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    response = client.get(reverse("fulfillment:driver", args=[tampered]))
    assert response.status_code == 404
    assert "无效" in response.content.decode() or "not valid" in response.content.decode()


def test_a_value_signed_for_something_else_does_not_open_the_driver_page(client, day):
    """The salt keeps another signed value of the site (same payload) from working as a driver link."""
    expires = int(driver_link_expires(day.delivery_date).timestamp())
    other = signing.Signer().sign_object([day.routes[0].pk, day.delivery_date.isoformat(), expires])
    assert client.get(reverse("fulfillment:driver", args=[other])).status_code == 404


def test_the_driver_link_expires_a_few_days_after_the_delivery_day(client, day):
    url = driver_url(day)
    last_minute = driver_link_expires(day.delivery_date) - timedelta(minutes=1)
    assert clock.localdate(last_minute) == day.delivery_date + timedelta(days=DRIVER_LINK_DAYS)
    with time_machine.travel(last_minute, tick=False):
        assert client.get(url).status_code == 200
    with time_machine.travel(last_minute + timedelta(minutes=2), tick=False):
        response = client.get(url)
        assert response.status_code == 410
        assert day.delivery_date.isoformat() in response.content.decode()
        # and a step through the expired link changes nothing
        client.post(url + "depart/")
    assert not BatchMove.objects.exists()


def test_the_same_route_and_day_always_give_the_same_link(day):
    first = driver_token(route_id=day.routes[0].pk, delivery_date=day.delivery_date)
    with time_machine.travel(clock.now() + timedelta(hours=7), tick=False):
        assert driver_token(route_id=day.routes[0].pk, delivery_date=day.delivery_date) == first
    assert driver_token(route_id=day.routes[1].pk, delivery_date=day.delivery_date) != first


def test_the_driver_departs_and_arrives_through_the_link(client, day):
    cold = day.routes[0]
    url = driver_url(day)
    response = client.post(url + "depart/", follow=True)
    assert response.status_code == 200
    departed = BatchMove.objects.get(kind=Kind.ROUTE_DEPARTED, route=cold)
    assert departed.by is None and departed.parcels > 0
    assert "已发车" in response.content.decode() or "Departed" in response.content.decode()

    first = cold.stops.order_by("position").first().pickup_point
    response = client.post(url + f"arrive/{first.pk}/")
    assert response.status_code == 302 and response["Location"].endswith(f"#stop-{first.pk}")
    assert BatchMove.objects.filter(kind=Kind.STOP_ARRIVED, route=cold, pickup_point=first).exists()

    # a second tap is told, and changes nothing
    before = BatchMove.objects.count()
    response = client.post(url + "depart/", follow=True)
    assert BatchMove.objects.count() == before
    assert "记录过" in response.content.decode() or "already recorded" in response.content.decode()


def test_a_driver_cannot_arrive_at_a_point_of_another_route(client, day):
    _cold, dry = day.routes
    other_brand_point = factories.pickup_point(community=factories.community(brand=Brand.objects.create(name="别家")))
    url = driver_url(day, dry)
    client.post(url + f"arrive/{other_brand_point.pk}/")
    assert not BatchMove.objects.exists()


def test_driver_moves_need_a_post(client, day):
    assert client.get(driver_url(day) + "depart/").status_code == 405


# --- the operator ------------------------------------------------------------------------------------


def test_an_operator_records_a_step_from_the_delivery_day_page(client, day):
    operator = factories.operator()
    client.force_login(operator)
    url = reverse("fulfillment:tracking-move", args=[day.brand_id, day.delivery_date.isoformat()])
    response = client.post(
        url, {"kind": "point_received", "pickup_point": day.points[0].pk, "next": "/ops/somewhere/#tracking"}
    )
    assert response.status_code == 302 and response["Location"] == "/ops/somewhere/#tracking"
    move = BatchMove.objects.get()
    assert move.by == operator and move.kind == Kind.POINT_RECEIVED

    response = client.post(url, {"kind": "point_received", "pickup_point": day.points[0].pk}, follow=True)
    assert BatchMove.objects.count() == 1


def test_an_operator_step_never_redirects_off_site(client, day):
    client.force_login(factories.operator())
    url = reverse("fulfillment:tracking-move", args=[day.brand_id, day.delivery_date.isoformat()])
    response = client.post(url, {"kind": "route_departed", "route": day.routes[0].pk, "next": "https://evil.example/"})
    assert response["Location"].startswith(f"/ops/fulfilment/{day.brand_id}/")


def test_members_cannot_record_operator_steps(client, day):
    client.force_login(factories.member())
    url = reverse("fulfillment:tracking-move", args=[day.brand_id, day.delivery_date.isoformat()])
    assert client.post(url, {"kind": "route_departed", "route": day.routes[0].pk}).status_code == 403
    assert not BatchMove.objects.exists()


def _day_context(day):
    return SimpleNamespace(
        brand=Brand.objects.get(pk=day.brand_id),
        delivery_date=day.delivery_date,
        iso=day.delivery_date.isoformat(),
        point_ids=tuple(p.pk for p in day.points),
        route_ids=tuple(r.pk for r in day.routes),
        supplier_ids=tuple(sorted({s.product.supplier_id for s in day.skus})),
    )


def test_the_tracking_section_shows_counts_steps_driver_links_copies_and_the_log(rf: RequestFactory, day):
    point = day.points[0]
    from fulfillment.tracking import batch_move

    batch_move(
        brand_id=day.brand_id,
        delivery_date=day.delivery_date,
        kind=Kind.POINT_RECEIVED,
        pickup_point=point,
        by=factories.operator(nickname="林峰"),
    )
    request = rf.get("/ops/fulfilment/x/")
    request.user = factories.operator()
    html = render_to_string("ops/fulfillment/_day_tracking.html", {"day": _day_context(day)}, request=request)

    ready = Parcel.objects.filter(pickup_point=point, state=State.AT_PICKUP).count()
    assert f'data-state="at_pickup"><span class="small">待取货</span><strong>{ready}</strong>' in html
    for route in day.routes:
        assert "http://testserver" + driver_url(day, route) in html
        assert "<svg" in html
    assert "林峰" in html
    assert f"{point.name}：今天" in html or f"{point.name}：" in html
    assert html.count('name="kind" value="supplier_shipped"') == len(_day_context(day).supplier_ids)
    assert Notice.objects.filter(channel="leader_copy").count() == 1


def test_the_tracking_section_waits_for_the_split(rf: RequestFactory):
    unsplit = make_day()
    request = rf.get("/")
    request.user = factories.operator()
    html = render_to_string("ops/fulfillment/_day_tracking.html", {"day": _day_context(unsplit)}, request=request)
    assert "分单" in html


# --- the leader's "received" -------------------------------------------------------------------------


def test_the_leader_confirms_receipt_and_gets_the_copy_text(client, day):
    point = day.points[0]
    client.force_login(point.leader)
    url = reverse("fulfillment:point-received", args=[point.pk, day.delivery_date.isoformat()])
    response = client.post(url, {"next": "/m/pickup/"})
    assert response.status_code == 302 and response["Location"] == "/m/pickup/"
    move = BatchMove.objects.get()
    assert move.kind == Kind.POINT_RECEIVED and move.by == point.leader
    assert set(Parcel.objects.filter(pickup_point=point).values_list("state", flat=True)) == {State.AT_PICKUP}

    request = RequestFactory().get("/m/pickup/")
    request.user = point.leader
    html = render_to_string(
        "member/fulfillment/_point_receive.html",
        {"point": point, "delivery_date": day.delivery_date},
        request=request,
    )
    assert "收货" in html or "Received" in html
    assert f"{point.name}：今天" in html
    assert "复制" in html


def test_only_the_points_leader_or_verifier_may_confirm_receipt(client, day):
    point = day.points[0]
    url = reverse("fulfillment:point-received", args=[point.pk, day.delivery_date.isoformat()])
    assert client.post(url).status_code == 302  # to the sign-in page
    client.force_login(day.points[1].leader)
    assert client.post(url).status_code == 403
    assert not BatchMove.objects.exists()


def test_the_receive_card_offers_the_button_before_arrival(rf: RequestFactory, day):
    point = day.points[0]
    request = rf.get("/m/pickup/")
    request.user = point.leader
    html = render_to_string(
        "member/fulfillment/_point_receive.html", {"point": point, "delivery_date": day.delivery_date}, request=request
    )
    assert 'id="point-received"' in html
    assert "tk-copy" not in html.replace("css/tracking.css", "")


def test_the_tracking_section_reads_a_bounded_number_of_queries(rf: RequestFactory, day, django_assert_max_num_queries):
    """Every point received and every notice sent: still a fixed number of queries, not one per point."""
    from fulfillment.notices import notices_send
    from fulfillment.tracking import batch_move

    for point in day.points:
        batch_move(brand_id=day.brand_id, delivery_date=day.delivery_date, kind=Kind.POINT_RECEIVED, pickup_point=point)
    notices_send()
    request = rf.get("/ops/fulfilment/x/")
    request.user = factories.operator()
    with django_assert_max_num_queries(17):  # +3: which steps have nothing left to move (grouped, fixed)
        html = render_to_string("ops/fulfillment/_day_tracking.html", {"day": _day_context(day)}, request=request)
    assert html.count('class="tk-copy"') == len(day.points)
