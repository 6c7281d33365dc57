"""The API's writes call the owners' services: 核销 (fulfillment.pickup.verify_pickup), resolving an after-sales
request (aftersales.services.request_resolve); and every read resource answers its brand's rows."""

from __future__ import annotations

import time

import pytest

from aftersales import services as aftersales
from api.tokens import token_create
from fulfillment.models import Handout, Parcel, Verification
from fulfillment.split import split_day
from jielong.models import LedgerEntry, Order
from tests.aftersales.orders import paid_orders
from tests.fulfillment.day import make_day

from .conftest import bearer

pytestmark = pytest.mark.django_db


def verify(client, handout, key="v1"):
    return client.post(
        "/api/v1/pickups/verify/",
        {"code": handout.code, "pickup_point_id": handout.pickup_point_id},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


@pytest.fixture
def handout():
    day = make_day(suppliers=1, points=1, members=3, campaigns=1)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    return max(Handout.objects.filter(delivery_date=day.delivery_date), key=lambda h: h.parcels.count())


def test_pickup_verification_hands_over_once_and_the_orders_sync_as_picked_up(api_a, handout):
    order_ids = sorted(handout.parcels.values_list("order_id", flat=True))
    before = api_a.get("/api/v1/orders/", {"page_size": 200}).json()["results"]
    watermark = max(o["updated_at"] for o in before)
    time.sleep(0.01)

    response = verify(api_a, handout)
    assert response.status_code == 200, response.json()
    assert response.json()["order_ids"] == order_ids
    assert verify(api_a, handout).json() == response.json()  # the same key: the stored answer
    again = verify(api_a, handout, key="v2")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_verified")
    assert Verification.objects.filter(handout=handout).count() == 1

    changed = api_a.get("/api/v1/orders/", {"updated_after": watermark, "page_size": 200}).json()["results"]
    assert sorted(o["id"] for o in changed) == order_ids
    assert {(o["status"], o["fulfilment_state"]) for o in changed} == {("picked_up", "picked_up")}
    parcels = api_a.get("/api/v1/parcels/", {"state": "picked_up"}).json()["results"]
    assert sorted(p["order_id"] for p in parcels) == order_ids


def test_pickup_verification_needs_the_write_scope_and_the_brands_point(brand_a, operator_a, api_b, handout):
    reader = token_create(brand=brand_a, name="r", scopes=["fulfilment:read"], by=operator_a, expires_in_days=1)
    response = verify(bearer(reader.plaintext), handout)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "missing_scope")
    assert verify(api_b, handout).status_code == 404
    assert not Verification.objects.exists()
    assert not Parcel.objects.filter(state=Parcel.State.PICKED_UP).exists()


def test_an_after_sales_refund_resolved_through_the_api_moves_money_once(api_a):
    made = paid_orders()
    order = made.orders[0]
    line = order.lines.order_by("pk")[0]
    request = aftersales.request_open(
        order_id=order.pk, user=order.user, lines={line.pk: 1}, reason="quality", ask="refund", asked_fen=1590
    )
    listed = api_a.get("/api/v1/aftersales-requests/", {"status": "open"}).json()["results"]
    assert [r["id"] for r in listed] == [request.pk]
    body = {"resolution": "refund", "amount_fen": 1590, "note": "叶子烂了，全额退"}
    first = api_a.post(
        f"/api/v1/aftersales-requests/{request.pk}/resolve/", body, format="json", HTTP_IDEMPOTENCY_KEY="r1"
    )
    assert first.status_code == 200, first.json()
    assert (first.json()["resolution"], first.json()["resolved_fen"]) == ("refund", 1590)
    replay = api_a.post(
        f"/api/v1/aftersales-requests/{request.pk}/resolve/", body, format="json", HTTP_IDEMPOTENCY_KEY="r1"
    )
    assert replay.json() == first.json()
    twice = api_a.post(
        f"/api/v1/aftersales-requests/{request.pk}/resolve/", body, format="json", HTTP_IDEMPOTENCY_KEY="r2"
    )
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "closed")
    assert sum(LedgerEntry.objects.filter(order=order, kind="refund").values_list("amount_fen", flat=True)) == 1590
    assert Order.objects.get(pk=order.pk).refunded_fen == 1590


@pytest.mark.parametrize(
    "path",
    [
        "communities",
        "pickup-points",
        "members",
        "products",
        "skus",
        "campaigns",
        "campaign-items",
        "orders",
    ],
)
def test_every_resource_lists_and_shows_its_brands_rows(api_a, path):
    paid_orders(members=2)
    rows = api_a.get(f"/api/v1/{path}/").json()["results"]
    assert rows, path
    key = "order_id" if path == "parcels" else "id"
    detail = api_a.get(f"/api/v1/{path}/{rows[0][key]}/")
    assert detail.status_code == 200
    assert detail.json() == rows[0]


def test_the_dashboard_reads_bis_figures(api_a):
    paid_orders(members=2)
    figures = api_a.get("/api/v1/dashboard/").json()["figures"]
    assert {"gmv_gross", "average_order_value", "community_to_viewer"} <= set(figures)
    assert figures["gmv_gross"]["value"] == 2 * 3 * 1590
