"""Orders through the API: incremental sync by change time, refunds behind Idempotency-Key, brand isolation."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from jielong import services
from jielong.models import LedgerEntry, Order
from tests import factories as f
from tests.aftersales.orders import paid_orders

from .conftest import bearer

pytestmark = pytest.mark.django_db


def pull(client, updated_after: str | None = None, page_size: int = 2) -> tuple[list[dict], int]:
    """What an integration does: follow ``next`` to the end; returns every order seen and the pages read."""
    params = {"page_size": page_size, **({"updated_after": updated_after} if updated_after else {})}
    response = client.get("/api/v1/orders/", params)
    seen, pages = [], 0
    while True:
        assert response.status_code == 200, response.json()
        pages += 1
        seen += response.json()["results"]
        if not response.json()["next"]:
            return seen, pages
        response = client.get(response.json()["next"])


def test_an_integration_syncs_orders_incrementally(api_a):
    paid = paid_orders(members=5)
    first, pages = pull(api_a)
    assert sorted(o["id"] for o in first) == sorted(o.pk for o in paid.orders)
    assert pages == 3
    watermark = max(o["updated_at"] for o in first)
    assert pull(api_a, watermark)[0] == []

    time.sleep(0.01)
    changed = paid.orders[2]
    services.order_cancel(order_id=changed.pk, user=changed.user)
    again, _pages = pull(api_a, watermark)
    assert [(o["id"], o["status"]) for o in again] == [(changed.pk, "cancelled")]
    assert again[0]["updated_at"] > watermark
    assert pull(api_a, again[0]["updated_at"])[0] == []


def test_a_refund_through_the_api_shows_in_the_next_pull(api_a):
    paid = paid_orders(members=2)
    watermark = max(o["updated_at"] for o in pull(api_a)[0])
    time.sleep(0.01)
    order = paid.orders[0]
    response = api_a.post(
        f"/api/v1/orders/{order.pk}/refunds/",
        {"amount_fen": 500, "reason": "漏发一袋"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="refund-1",
    )
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "order_id": order.pk,
        "amount_fen": 500,
        "refunded_fen": 500,
        "payment_status": "paid",
    }
    changed = pull(api_a, watermark)[0]
    assert [(o["id"], o["refunded_fen"]) for o in changed] == [(order.pk, 500)]


def test_changes_younger_than_the_settle_wait_for_the_next_pull(settings, api_a):
    paid = paid_orders(members=1)
    settings.API_SYNC_SETTLE_SECONDS = 3600
    assert pull(api_a)[0] == []
    settings.API_SYNC_SETTLE_SECONDS = 0
    assert [o["id"] for o in pull(api_a)[0]] == [paid.orders[0].pk]


def test_a_token_of_another_brand_sees_nothing_of_brand_a(api_b, api_a):
    paid = paid_orders(members=2)
    order = paid.orders[0]
    for path in [
        "/api/v1/orders/",
        "/api/v1/communities/",
        "/api/v1/pickup-points/",
        "/api/v1/members/",
        "/api/v1/products/",
        "/api/v1/skus/",
        "/api/v1/campaigns/",
        "/api/v1/campaign-items/",
        "/api/v1/parcels/",
        "/api/v1/commissions/",
        "/api/v1/aftersales-requests/",
    ]:
        assert api_b.get(path).json()["results"] == [], path
        assert api_a.get(path).status_code == 200, path
    assert api_a.get(f"/api/v1/orders/{order.pk}/").status_code == 200
    response = api_b.get(f"/api/v1/orders/{order.pk}/")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    response = api_b.post(
        f"/api/v1/orders/{order.pk}/refunds/",
        {"amount_fen": 100, "reason": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert response.status_code == 404
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).exists()
    figures = api_b.get("/api/v1/dashboard/").json()
    assert figures["community_ids"] == []
    assert api_a.get("/api/v1/dashboard/").json()["community_ids"] == [paid.campaign.communities.get().pk]


def test_members_come_with_masked_phones_only(api_a):
    home = f.community()
    person = f.member(phone="+8613812345678", nickname="李阿姨")
    f.membership(user=person, community=home)
    rows = api_a.get("/api/v1/members/").json()["results"]
    assert [(r["nickname"], r["masked_phone"]) for r in rows] == [("李阿姨", "138****5678")]
    assert "13812345678" not in str(rows)


# --- idempotency ---------------------------------------------------------------------------------------------------


def refund(client, order, key, amount=300, reason="坏了两个"):
    return client.post(
        f"/api/v1/orders/{order.pk}/refunds/",
        {"amount_fen": amount, "reason": reason},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def refunds_of(order) -> int:
    return sum(
        LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.REFUND).values_list("amount_fen", flat=True)
    )


def test_the_same_key_and_body_answer_the_same_and_refund_once(api_a):
    order = paid_orders().orders[0]
    first = refund(api_a, order, "k1")
    second = refund(api_a, order, "k1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert refunds_of(order) == 300


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(api_a):
    order = paid_orders().orders[0]
    refund(api_a, order, "k1")
    response = refund(api_a, order, "k1", amount=400)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert refunds_of(order) == 300


def test_a_post_without_a_key_is_refused(api_a):
    order = paid_orders().orders[0]
    response = api_a.post(f"/api/v1/orders/{order.pk}/refunds/", {"amount_fen": 1, "reason": "x"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "idempotency_key_required")
    assert refunds_of(order) == 0


def test_a_refusal_is_replayed_too(api_a):
    order = paid_orders().orders[0]
    first = refund(api_a, order, "big", amount=10**6)
    assert (first.status_code, first.json()["error"]["code"]) == (409, "over_refund")
    assert refund(api_a, order, "big", amount=10**6).json() == first.json()
    assert refunds_of(order) == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_refund_once(token_a):
    order = paid_orders().orders[0]
    plaintext = token_a.plaintext
    barrier, answers = threading.Barrier(6), []

    def call():
        try:
            barrier.wait()
            response = refund(bearer(plaintext), order, "same-key")
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 6
    assert {code for code, _ in answers} == {201}
    assert len({str(body) for _, body in answers}) == 1
    assert refunds_of(order) == 300
    assert Order.objects.get(pk=order.pk).refunded_fen == 300


def test_idempotency_records_are_forgotten_after_a_week(api_a):
    from datetime import timedelta

    import time_machine

    from api.idempotency import records_purge
    from api.models import IdempotencyRecord
    from groupbuy import clock

    order = paid_orders().orders[0]
    refund(api_a, order, "old")
    assert records_purge() == 0
    with time_machine.travel(clock.now() + timedelta(days=8), tick=False):
        assert records_purge() == 1
    assert not IdempotencyRecord.objects.exists()
