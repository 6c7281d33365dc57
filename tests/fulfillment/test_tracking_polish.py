# ruff: noqa: F811 - `day` is the pages module's fixture
"""Steps that would move nothing are shown done with the orders' state, not offered as buttons: the
operator's tracking section, the driver's page and the leader's 收货 card."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from fulfillment.models import BatchMove, LoadLine, Parcel
from fulfillment.tracking import batch_move
from fulfillment.tracking_driver import driver_token
from tests import factories
from tests.fulfillment.test_tracking_pages import _day_context, day  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
Kind = BatchMove.Kind
State = Parcel.State


def _section(day) -> str:
    request = RequestFactory().get("/ops/fulfilment/x/")
    request.user = factories.operator()
    return render_to_string("ops/fulfillment/_day_tracking.html", {"day": _day_context(day)}, request=request)


def _routes_with_goods_at(day, point) -> set[int]:
    return set(
        LoadLine.objects.filter(delivery_date=day.delivery_date, pickup_point=point, quantity__gt=0).values_list(
            "route_id", flat=True
        )
    )


def _arrive_forms(html: str) -> int:
    return html.count('name="kind" value="stop_arrived"')


def test_a_stop_whose_orders_are_at_the_point_is_shown_done_on_the_operators_page(day):
    point = day.points[0]
    before = _arrive_forms(_section(day))
    batch_move(brand_id=day.brand_id, delivery_date=day.delivery_date, kind=Kind.POINT_RECEIVED, pickup_point=point)

    html = _section(day)
    assert _arrive_forms(html) == before - len(_routes_with_goods_at(day, point))
    assert "订单：待取货" in html
    assert html.count('name="kind" value="point_received"') == len(day.points) - 1


def test_when_everything_is_at_the_points_no_earlier_step_is_offered(day):
    for point in day.points:
        batch_move(brand_id=day.brand_id, delivery_date=day.delivery_date, kind=Kind.POINT_RECEIVED, pickup_point=point)
    html = _section(day)
    for kind in ("supplier_shipped", "warehouse_received", "route_departed", "stop_arrived", "point_received"):
        assert f'name="kind" value="{kind}"' not in html, kind


def test_the_driver_page_does_not_offer_arrived_where_the_leader_already_received(client, day):
    route = day.routes[0]
    point = next(p for p in day.points if route.pk in _routes_with_goods_at(day, p))
    other = next(p for p in day.points if p != point and route.pk in _routes_with_goods_at(day, p))
    batch_move(brand_id=day.brand_id, delivery_date=day.delivery_date, kind=Kind.POINT_RECEIVED, pickup_point=point)
    token = driver_token(route_id=route.pk, delivery_date=day.delivery_date)

    html = client.get(reverse("fulfillment:driver", args=[token])).content.decode()

    assert reverse("fulfillment:driver-arrive", args=[token, point.pk]) not in html
    assert reverse("fulfillment:driver-arrive", args=[token, other.pk]) in html
    assert "订单：待取货" in html
    assert 'id="depart"' in html  # other stops still wait for the van


def test_the_leaders_card_does_not_offer_received_once_every_van_has_arrived(day):
    point = day.points[0]
    for route_id in _routes_with_goods_at(day, point):
        batch_move(
            brand_id=day.brand_id,
            delivery_date=day.delivery_date,
            kind=Kind.STOP_ARRIVED,
            route=route_id,
            pickup_point=point,
        )
    assert set(Parcel.objects.filter(pickup_point=point).values_list("state", flat=True)) == {State.AT_PICKUP}
    request = RequestFactory().get("/m/pickup/")
    request.user = point.leader
    html = render_to_string(
        "member/fulfillment/_point_receive.html", {"point": point, "delivery_date": day.delivery_date}, request=request
    )
    assert 'id="point-received"' not in html
    assert "订单：待取货" in html
