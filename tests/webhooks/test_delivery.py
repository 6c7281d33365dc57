"""Webhooks out, end to end against a real local receiver that verifies every signature: facts (a join, a
refund, a 核销, stock running low) arrive signed; failures are retried with growing waits and each event id
is acted on once; a replay resends the same id; a failing endpoint is disabled and the operator told; a
crash between the commit and the kick loses nothing."""

from __future__ import annotations

from datetime import timedelta
from threading import Barrier, Thread

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from catalogue import services as catalogue_services
from catalogue.models import SKU
from catalogue.selectors import LOW_STOCK
from catalogue.stock import stock_low_announce
from fulfillment.models import Handout
from fulfillment.pickup import verify_pickup
from fulfillment.split import split_day
from groupbuy import clock
from groupbuy.stream.models import Cursor, Event
from jielong import services as jielong_services
from jielong.ledger import refund_issue
from tests import factories
from tests.aftersales.orders import paid_orders
from tests.fulfillment.day import make_day
from tests.fulfillment.test_pickup import arrive, leader_of
from webhooks import fanout, sending, services, signing, tasks
from webhooks.models import Attempt, Delivery, Endpoint

from .conftest import drive, endpoint_for

pytestmark = pytest.mark.django_db


def test_a_join_arrives_signed_with_the_stream_event_id(receiver, pinned):
    # given an endpoint of the brand that wants order.created and campaign.formed
    scenario = factories.open_campaign(members=1, threshold=1)
    endpoint_for(receiver, brand=scenario.campaign.brand, by=factories.operator())

    # when a member joins (the group forms with it) and the periodic task runs
    order = jielong_services.order_join(
        campaign_id=scenario.campaign.pk, user=scenario.members[0], quantities={scenario.item.pk: 2}
    ).order
    assert drive() == {"fanned_out": 2, "sent": 2}

    # then the receiver verified both, and the event ids are the stream rows' ids
    assert [r.verified for r in receiver.received] == [True, True]
    created = receiver.of_type("order.created")[0]
    row = Event.objects.get(name="jielong.order_joined", order_id=order.pk)
    assert created.event_id == str(row.uuid) == created.json["id"]
    assert created.headers[signing.EVENT_TYPE_HEADER.lower()] == "order.created"
    assert created.json["brand_id"] == scenario.campaign.brand_id
    assert created.json["data"] == {
        "order_id": order.pk,
        "campaign_id": scenario.campaign.pk,
        "community_id": scenario.community.pk,
        "member_id": scenario.members[0].pk,
        "total_fen": order.total_fen,
        "is_perk": order.is_perk,
    }
    assert receiver.of_type("campaign.formed")[0].json["data"] == {"campaign_id": scenario.campaign.pk, "joined": 1}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
    # and running again sends nothing twice
    assert drive() == {"fanned_out": 0, "sent": 0}
    assert len(receiver.received) == 2


def test_only_the_types_asked_for_and_only_the_brands_own_facts(receiver, pinned):
    scenario = factories.open_campaign(members=1, threshold=5)
    other_brand = factories.brand("别家")
    endpoint_for(receiver, brand=scenario.campaign.brand, by=factories.operator(), types=["order.cancelled"])
    stranger = endpoint_for(receiver, brand=other_brand, by=factories.operator(), types=["order.created"])
    receiver.secret = Endpoint.objects.exclude(pk=stranger.pk).get().secret

    order = jielong_services.order_join(
        campaign_id=scenario.campaign.pk, user=scenario.members[0], quantities={scenario.item.pk: 1}
    ).order
    jielong_services.order_cancel(order_id=order.pk, user=scenario.members[0])
    drive()

    assert [r.json["type"] for r in receiver.received] == ["order.cancelled"]
    assert not Delivery.objects.filter(endpoint=stranger).exists()


def test_a_refund_and_a_payment_arrive(receiver, pinned):
    paid = paid_orders(members=1)
    # the payment happened before the endpoint existed: not sent; the refund after it is
    pinned.shift(timedelta(seconds=1))
    endpoint_for(receiver, brand=paid.campaign.brand, by=paid.operator, types=["order.paid", "order.refunded"])
    order = paid.orders[0]
    refund_issue(order=order, amount_fen=1590, key="as-1", by=paid.operator)
    drive()

    [refunded] = receiver.received
    assert refunded.verified
    assert refunded.json["type"] == "order.refunded"
    assert refunded.json["data"] == {
        "order_id": order.pk,
        "campaign_id": paid.campaign.pk,
        "member_id": order.user_id,
        "amount_fen": 1590,
    }


def test_a_pickup_verification_arrives(receiver, pinned):
    day = make_day(suppliers=1, points=1, members=2, campaigns=1)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    endpoint_for(
        receiver, brand=day.campaigns[0].brand, by=factories.operator(), types=["pickup.verified", "order.created"]
    )
    handout = Handout.objects.filter(delivery_date=day.delivery_date).order_by("pk").first()
    arrive(handout)
    verify_pickup(code=handout.code, pickup_point_id=handout.pickup_point_id, by=leader_of(handout.pickup_point))
    drive()

    order_ids = set(handout.parcels.values_list("order_id", flat=True))
    got = receiver.of_type("pickup.verified")
    assert got and all(r.verified for r in got)
    assert {r.json["data"]["order_id"] for r in got} == order_ids
    assert {r.json["data"]["pickup_point_id"] for r in got} == {handout.pickup_point_id}
    assert receiver.of_type("order.created") == []  # make_day writes its orders without events


def test_stock_low_is_announced_once_per_restock(receiver, pinned):
    operator = factories.operator()
    sku = factories.sku(stock=LOW_STOCK + 2)
    endpoint_for(receiver, brand=factories.brand(), by=operator, types=["stock.low"])
    assert stock_low_announce() == 0

    SKU.objects.filter(pk=sku.pk).update(stock=LOW_STOCK - 1)  # what the join's SQL does
    assert stock_low_announce() == 1
    assert stock_low_announce() == 0  # the sweep runs every minute: once is once
    drive()
    [low] = receiver.received
    assert low.json["data"] == {"sku_id": sku.pk, "product_id": sku.product_id, "stock": LOW_STOCK - 1, "threshold": 10}

    # a delivery counted in, then sold down again: a new fact
    catalogue_services.stock_adjust(by=operator, changes={sku.pk: 50}, reason="到货")
    assert stock_low_announce() == 0
    SKU.objects.filter(pk=sku.pk).update(stock=3)
    assert stock_low_announce() == 1
    drive()
    assert [r.json["data"]["stock"] for r in receiver.received] == [LOW_STOCK - 1, 3]
    assert len({r.event_id for r in receiver.received}) == 2


def test_a_failing_receiver_is_retried_with_growing_waits_and_acts_once(receiver, pinned):
    scenario = factories.open_campaign(members=1, threshold=5)
    endpoint = endpoint_for(receiver, brand=scenario.campaign.brand, by=factories.operator(), types=["order.created"])
    receiver.answers = [500, 503, 500]  # then 200
    jielong_services.order_join(
        campaign_id=scenario.campaign.pk, user=scenario.members[0], quantities={scenario.item.pk: 1}
    )

    drive()
    delivery = Delivery.objects.get()
    waits = []
    for _ in range(3):
        assert delivery.status == "pending"
        assert sending.send_due() == 0  # not due yet: nothing is sent early
        waits.append(delivery.next_attempt_at - clock.now())
        pinned.move_to(delivery.next_attempt_at)
        assert sending.send_due() == 1
        delivery.refresh_from_db()

    assert delivery.status == "delivered" and delivery.attempts == 4
    # 30 s, 60 s, 120 s ceilings, each wait between half its ceiling and the ceiling
    for wait, ceiling in zip(waits, (30, 60, 120), strict=True):
        assert timedelta(seconds=ceiling / 2) <= wait <= timedelta(seconds=ceiling)
    assert waits[0] < waits[1] < waits[2]
    assert [a.outcome for a in delivery.attempt_log.order_by("number")] == ["http_error"] * 3 + ["ok"]
    assert [a.status_code for a in delivery.attempt_log.order_by("number")] == [500, 503, 500, 200]
    # four requests, one event id, acted on once
    assert len(receiver.received) == 4 and len({r.event_id for r in receiver.received}) == 1
    assert list(receiver.accepted.values()) == [1]
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.last_success_at == clock.now()


def test_a_delivery_gives_up_after_max_tries(receiver, pinned):
    endpoint = endpoint_for(receiver, brand=factories.brand(), by=factories.operator())
    receiver.answers = [500] * sending.MAX_TRIES
    services.endpoint_send_test(by=factories.operator(), endpoint=endpoint)
    for _ in range(sending.MAX_TRIES):
        delivery = Delivery.objects.get()
        pinned.move_to(delivery.next_attempt_at)
        sending.send_due()
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.next_attempt_at is None and delivery.attempts == sending.MAX_TRIES


def test_replay_sends_the_same_event_id_again(receiver, pinned, client):
    operator = factories.operator()
    endpoint = endpoint_for(receiver, brand=factories.brand(), by=operator)
    services.endpoint_send_test(by=operator, endpoint=endpoint)
    drive()
    delivery = Delivery.objects.get()
    assert delivery.status == "delivered"

    client.force_login(operator)
    pinned.shift(timedelta(minutes=10))
    response = client.post(reverse("webhooks:ops-delivery-replay", args=[delivery.pk]))
    assert response.status_code == 302
    drive()

    first, again = receiver.received
    assert first.event_id == again.event_id == str(delivery.event_uuid)
    assert first.body == again.body
    assert again.verified  # signed afresh, so inside the tolerance although the event is 10 minutes old
    assert first.headers[signing.SIGNATURE_HEADER.lower()] != again.headers[signing.SIGNATURE_HEADER.lower()]
    attempts = list(delivery.attempt_log.order_by("number").values_list("number", "is_replay"))
    assert attempts == [(1, False), (2, True)]


def test_two_senders_never_send_the_same_delivery(receiver, pinned):
    endpoint = endpoint_for(receiver, brand=factories.brand(), by=factories.operator())
    services.endpoint_send_test(by=factories.operator(), endpoint=endpoint)
    first = sending.claim_due()
    assert len(first) == 1
    assert sending.claim_due() == []  # claimed: a second sender skips it
    # the first sender died mid-POST: once its lease runs out the delivery is due again
    pinned.shift(sending.LEASE + timedelta(seconds=1))
    [again] = sending.claim_due()
    assert again.delivery_id == first[0].delivery_id and again.lease != first[0].lease
    # the dead sender's late answer is not recorded over the live claim
    late = sending.Result(Attempt.Outcome.OK, clock.now(), 5, status_code=200)
    assert sending.record(first[0], late) is None
    assert Attempt.objects.count() == 0


def test_an_endpoint_failing_for_a_day_is_disabled_and_the_operator_told(receiver, pinned, client):
    operator = factories.operator()
    endpoint = endpoint_for(receiver, brand=factories.brand(), by=operator, description="老ERP")
    receiver.answers = [500] * 1000
    # a test event every three hours, with every retry that falls due
    for _ in range(10):
        services.endpoint_send_test(by=operator, endpoint=endpoint)
        sending.send_due()
        endpoint.refresh_from_db()
        if not endpoint.is_active:
            break
        pinned.shift(timedelta(hours=3))
        sending.send_due()
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_reason == Endpoint.DisabledReason.FAILING
    assert endpoint.consecutive_failures >= sending.DISABLE_AFTER_FAILURES
    assert endpoint.disabled_at - endpoint.failing_since >= sending.DISABLE_AFTER

    # nothing more is sent to it, and the operator sees it on the dashboard and the webhooks page
    sent = len(receiver.received)
    pinned.shift(timedelta(days=1))
    assert sending.send_due() == 0 and len(receiver.received) == sent
    client.force_login(operator)
    for url in (reverse("analytics:ops-dashboard"), reverse("webhooks:ops-endpoints")):
        page = client.get(url).content.decode()
        assert 'id="webhook-alerts"' in page and "老ERP" in page
    # another brand's operator is not told about it
    client.force_login(factories.operator(brand=factories.brand("别家")))
    assert 'id="webhook-alerts"' not in client.get(reverse("analytics:ops-dashboard")).content.decode()

    # enabled again: the pending retries go out at once and the notice is gone
    receiver.answers = []
    services.endpoint_enable(by=operator, endpoint=endpoint)
    assert sending.send_due() >= 1
    client.force_login(operator)
    assert 'id="webhook-alerts"' not in client.get(reverse("analytics:ops-dashboard")).content.decode()


def test_a_crash_between_commit_and_kick_loses_nothing(receiver, pinned, django_capture_on_commit_callbacks):
    scenario = factories.open_campaign(members=3, threshold=9)
    endpoint_for(receiver, brand=scenario.campaign.brand, by=factories.operator(), types=["order.created"])
    # the joins commit; their after-commit kick never runs (the process died)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for user in scenario.members:
            jielong_services.order_join(campaign_id=scenario.campaign.pk, user=user, quantities={scenario.item.pk: 1})
    assert callbacks  # the kick was owed
    assert not Delivery.objects.exists()

    # the periodic run reads the stream from the cursor: recent rows too, without moving past them
    assert fanout.fanout() == 3
    position = Cursor.objects.get(name=fanout.CURSOR).position
    rows = list(Event.objects.filter(name="jielong.order_joined").order_by("pk").values_list("pk", flat=True))
    assert position < rows[0]
    # once they are older than SETTLE the cursor passes them, and nothing is created twice
    pinned.shift(fanout.SETTLE + timedelta(seconds=1))
    assert fanout.fanout() == 0
    assert Cursor.objects.get(name=fanout.CURSOR).position >= rows[-1]
    sending.send_due()
    assert sorted(r.json["data"]["order_id"] for r in receiver.received) == sorted(
        Event.objects.filter(name="jielong.order_joined").values_list("order_id", flat=True)
    )
    assert all(r.verified for r in receiver.received)


def test_the_kick_after_commit_queues_one_run(receiver, pinned, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.run, "delay", lambda: queued.append(1))
    cache.delete(tasks.KICK_KEY)
    scenario = factories.open_campaign(members=2, threshold=9)
    endpoint_for(receiver, brand=scenario.campaign.brand, by=factories.operator(), types=["order.created"])
    with django_capture_on_commit_callbacks(execute=True):
        for user in scenario.members:
            jielong_services.order_join(campaign_id=scenario.campaign.pk, user=user, quantities={scenario.item.pk: 1})
    assert queued == [1]  # two joins, one run (coalesced for a second)
    cache.delete(tasks.KICK_KEY)


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_send_each_delivery_once(receiver):
    operator = factories.operator()
    endpoint = endpoint_for(receiver, brand=factories.brand(), by=operator)
    for _ in range(40):
        services.endpoint_send_test(by=operator, endpoint=endpoint)
    start = Barrier(4)
    done = []

    def sender():
        try:
            start.wait()
            done.append(sending.send_due())
        finally:
            connection.close()

    threads = [Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(done) == 40
    assert not Attempt.objects.exclude(outcome=Attempt.Outcome.OK).values_list("outcome", "error").first()
    assert len(receiver.received) == 40 and len({r.event_id for r in receiver.received}) == 40
    assert Attempt.objects.count() == 40 and set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_the_fan_out_reads_in_batches_and_skips_unwatched_history(receiver, pinned):
    scenario = factories.open_campaign(members=5, threshold=9)
    before = factories.open_campaign(members=1, threshold=9)
    jielong_services.order_join(campaign_id=before.campaign.pk, user=before.members[0], quantities={before.item.pk: 1})
    pinned.shift(fanout.SETTLE * 2)
    assert fanout.fanout() == 0  # nobody listens: the cursor passes the settled rows unread
    passed = Cursor.objects.get(name=fanout.CURSOR).position
    assert passed >= Event.objects.get(name="jielong.order_joined").pk

    endpoint_for(receiver, brand=scenario.campaign.brand, by=factories.operator(), types=["order.created"])
    for user in scenario.members:
        jielong_services.order_join(campaign_id=scenario.campaign.pk, user=user, quantities={scenario.item.pk: 1})
    assert fanout.fanout(batch=2) == 5
    assert fanout.fanout(batch=2) == 0
    assert Delivery.objects.filter(event_type="order.created").count() == 5


def test_old_deliveries_are_pruned_but_pending_ones_kept(receiver, pinned):
    operator = factories.operator()
    endpoint = endpoint_for(receiver, brand=factories.brand(), by=operator)
    for _ in range(3):
        services.endpoint_send_test(by=operator, endpoint=endpoint)
    sending.send_due()
    services.endpoint_send_test(by=operator, endpoint=endpoint)  # still pending
    pinned.shift(sending.KEEP + timedelta(hours=1))
    fresh = services.endpoint_send_test(by=operator, endpoint=endpoint)
    assert sending.prune(batch=2) == 3
    assert Attempt.objects.count() == 0
    assert Delivery.objects.count() == 2 and Delivery.objects.filter(pk=fresh.pk).exists()
