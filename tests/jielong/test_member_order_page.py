"""A member's order page, reached from "我的订单": items, total, pickup point, payment; cancel while open."""

from datetime import timedelta

import pytest
from django.urls import reverse

from catalogue.models import SKU
from groupbuy import clock
from jielong import services
from jielong.models import Campaign, Order
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def given(client):
    scenario = f.open_campaign(members=0, stock=10, threshold=3, point_name="阳光花园自提点", delivery_note="次日达")
    me = f.add_member(scenario, nickname="小王")
    order = services.order_join(
        campaign_id=scenario.campaign.pk, user=me, quantities={scenario.item.pk: 2}, note="放门口"
    ).order
    client.force_login(me)
    client.cookies["django_language"] = "en"
    return {"client": client, "scenario": scenario, "me": me, "order": order}


def _url(order, suffix=""):
    return reverse("jielong:member-order", args=[order.pk]) + suffix


def test_my_orders_cards_lead_to_the_order_page(given):
    # Order cards led nowhere.
    html = given["client"].get(reverse("community:member-home")).content.decode()

    assert f'href="{_url(given["order"])}"' in html


def test_order_page_shows_items_total_pickup_point_and_address_and_payment(given):
    order, scenario = given["order"], given["scenario"]

    response = given["client"].get(_url(order))

    assert response.status_code == 200
    html = response.content.decode()
    assert str(scenario.item.sku) in html and "×2" in html
    assert order.is_perk and order.total_fen == 2 * 1272  # first-N price
    assert '<strong id="order-total">¥25.44</strong>' in html
    assert "阳光花园自提点" in html and scenario.point.address in html
    assert '<span class="badge status-unpaid" id="order-payment">Unpaid</span>' in html
    assert "次日达" in html and "放门口" in html
    assert 'id="order-cancel"' in html
    assert f'href="{reverse("jielong:member-campaign", args=[scenario.campaign.pk])}#join"' in html


def test_someone_elses_order_is_not_found_and_not_cancelled(given, client):
    other = f.add_member(given["scenario"], nickname="老张")
    client.force_login(other)

    assert client.get(_url(given["order"])).status_code == 404
    assert client.post(_url(given["order"], "cancel/")).status_code == 404
    assert Order.objects.get(pk=given["order"].pk).status == Order.Status.JOINED


def test_cancel_from_the_order_page_returns_the_stock(given):
    order, scenario = given["order"], given["scenario"]

    response = given["client"].post(_url(order, "cancel/"))

    assert response.status_code == 302 and response["Location"] == _url(order)
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
    assert SKU.objects.get(pk=scenario.item.sku_id).stock == 10
    html = given["client"].get(_url(order)).content.decode()
    assert 'id="order-cancel"' not in html and 'id="order-edit"' not in html


def test_cancel_after_close_is_refused_with_the_reason_and_nothing_changes(given):
    order, scenario = given["order"], given["scenario"]
    Campaign.objects.filter(pk=scenario.campaign.pk).update(closes_at=clock.now() - timedelta(minutes=1))
    assert 'id="order-cancel"' not in given["client"].get(_url(order)).content.decode()

    response = given["client"].post(_url(order, "cancel/"))

    assert response.status_code == 400
    assert "This jielong is closed; contact your leader." in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == Order.Status.JOINED
    assert SKU.objects.get(pk=scenario.item.sku_id).stock == 8


def test_a_paid_order_may_be_cancelled_but_not_changed_here(given):
    order = given["order"]
    Order.objects.filter(pk=order.pk).update(payment_status=Order.PaymentStatus.PAID)

    html = given["client"].get(_url(order)).content.decode()

    assert 'id="order-edit"' not in html
    assert '<span class="badge status-paid" id="order-payment">Paid</span>' in html


def test_order_page_in_chinese(given):
    given["client"].cookies["django_language"] = "zh-hans"

    html = given["client"].get(_url(given["order"])).content.decode()

    assert "自提点" in html
    assert '<span class="badge status-unpaid" id="order-payment">未付款</span>' in html
