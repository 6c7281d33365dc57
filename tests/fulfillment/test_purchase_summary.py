"""The live purchase summary (采购汇总): its numbers follow joins and cancellations (the real join service),
the pick lines and confirmations per day sit beside them, a join pushes a coalesced snapshot, and the page
works with Redis down."""

from __future__ import annotations

import json
import time as time_module
from datetime import time, timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client, override_settings

from catalogue.models import Supplier
from fulfillment import purchase_broadcast, purchase_subscribers
from fulfillment.models import CampaignDelivery
from fulfillment.purchase import next_cutoff, purchase_summary
from fulfillment.split import split_campaign
from fulfillment.supplier_supply import supply_confirm
from groupbuy import clock
from jielong import services
from jielong.models import Campaign, Order
from tests import factories as f
from tests.fulfillment.test_purchase_supply import formed_day
from tests.jielong.test_redis_down import REDIS_DOWN


def _sku_row(summary: dict, sku_id: int) -> dict:
    for supplier in summary["suppliers"]:
        for sku in supplier["skus"]:
            if sku["id"] == sku_id:
                return sku
    raise AssertionError(f"SKU {sku_id} not in the summary")


def _counts(brand_id: int, sku_id: int) -> tuple[int, int, int]:
    row = _sku_row(purchase_summary(brand_id=brand_id), sku_id)
    return row["open"], row["formed"], row["ordered"]


def _join(scenario, user, quantity):
    return services.order_join(campaign_id=scenario.campaign.pk, user=user, quantities={scenario.item.pk: quantity})


@pytest.mark.django_db
def test_the_numbers_follow_joins_forming_and_cancellations():
    given = f.open_campaign(members=4, threshold=3, perk_limit=0)
    brand_id, sku_id = given.campaign.brand_id, given.sku.pk
    first, second, third, fourth = given.members

    _join(given, first, 2)
    _join(given, second, 3)
    assert _counts(brand_id, sku_id) == (5, 0, 5)  # not formed yet: it may still fail

    _join(given, third, 1)  # the third join forms the group (成团)
    assert Campaign.objects.get(pk=given.campaign.pk).status == Campaign.Status.FORMED
    assert _counts(brand_id, sku_id) == (0, 6, 6)

    _join(given, fourth, 4)
    services.order_cancel(order_id=Order.objects.get(campaign=given.campaign, user=second).pk, user=second)
    assert _counts(brand_id, sku_id) == (0, 7, 7)


@pytest.mark.django_db
def test_failed_campaigns_and_delivered_days_leave_the_summary():
    given = f.open_campaign(members=2, threshold=1, perk_limit=0)
    _join(given, given.members[0], 2)
    brand_id, sku_id = given.campaign.brand_id, given.sku.pk
    assert _counts(brand_id, sku_id) == (0, 2, 2)

    Campaign.objects.filter(pk=given.campaign.pk).update(status=Campaign.Status.COMPLETED)
    CampaignDelivery.objects.create(campaign=given.campaign, delivery_date=clock.localdate() + timedelta(days=1))
    assert _counts(brand_id, sku_id) == (0, 2, 2)  # closed, not delivered yet

    CampaignDelivery.objects.filter(campaign=given.campaign).update(delivery_date=clock.localdate() - timedelta(days=1))
    assert purchase_summary(brand_id=brand_id)["suppliers"][0]["skus"] == []  # delivered yesterday

    Campaign.objects.filter(pk=given.campaign.pk).update(status=Campaign.Status.FAILED)
    CampaignDelivery.objects.all().delete()
    assert purchase_summary(brand_id=brand_id)["suppliers"][0]["skus"] == []


@pytest.mark.django_db
def test_each_day_shows_the_pick_line_the_confirmation_and_the_orders_hit(time_machine):
    day = formed_day(time_machine)
    supply_confirm(pick_line=day.pick, confirmed_quantity=5)

    summary = purchase_summary(brand_id=day.brand_id)

    iso = day.delivery_date.isoformat()
    assert summary["dates"] == [iso]
    [supplier] = [s for s in summary["suppliers"] if s["skus"]]
    row = _sku_row(summary, day.scenario.sku.pk)
    assert (row["ordered"], row["days"][iso]["quantity"], row["days"][iso]["confirmed"], row["days"][iso]["short"]) == (
        8,
        8,
        5,
        3,
    )
    assert supplier["days"][iso] == {"lines": 1, "confirmed": 1, "short_units": 3, "recheck": 0, "shipped": False}
    [short] = supplier["shortages"]
    assert short["units"] == 3
    assert [(o["seq"], o["quantity"], o["parcel"]) for o in short["orders"]] == [(4, 2, "shortage"), (3, 1, "pending")]

    page = _operator().get(f"/ops/fulfilment/purchase/?brand={day.brand_id}").content.decode()
    assert "缺货" in page and "−3" in page and "#4" in page and "最晚接龙的先缺" in page


@pytest.mark.django_db
def test_the_shape_changes_with_a_confirmation_but_not_with_a_join(time_machine):
    day = formed_day(time_machine)
    iso = day.delivery_date.isoformat()
    assert purchase_summary(brand_id=day.brand_id)["resplit"] == []
    first, second = f.add_member(day.scenario), f.add_member(day.scenario)

    _join(day.scenario, first, 1)  # a late join of the formed campaign: its day needs splitting again
    after_first = purchase_summary(brand_id=day.brand_id)
    assert after_first["resplit"] == [iso]
    _join(day.scenario, second, 2)  # and the next one only moves the figures
    after_second = purchase_summary(brand_id=day.brand_id)
    assert _sku_row(after_second, day.scenario.sku.pk)["formed"] == 11
    assert after_second["shape"] == after_first["shape"]
    assert after_second["version"] >= after_first["version"]

    supply_confirm(pick_line=day.pick, confirmed_quantity=8)  # re-splits the day too
    confirmed = purchase_summary(brand_id=day.brand_id)
    assert confirmed["resplit"] == []
    assert confirmed["shape"] != after_second["shape"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "now, cutoff, expected",
    [
        ("20:00", time(22, 0), "today 22:00"),
        ("22:30", time(22, 0), "tomorrow 22:00"),
        ("00:10", time(0, 5), "tomorrow 00:05"),
    ],
    ids=["before", "after", "just-after-midnight"],
)
def test_the_next_cut_off_is_in_the_brands_local_time(time_machine, now, cutoff, expected):
    local = clock.localtime()
    hour, minute = map(int, now.split(":"))
    time_machine.move_to(local.replace(hour=hour, minute=minute, second=0, microsecond=0), tick=False)
    supplier = Supplier(cutoff_time=cutoff)
    got = clock.localtime(next_cutoff(supplier))
    day, at = expected.split()
    assert got.strftime("%H:%M") == at
    assert got.date() == clock.localdate() + timedelta(days=0 if day == "today" else 1)


def _operator():
    client = Client()
    client.force_login(f.operator())
    return client


@pytest.mark.django_db
def test_the_operator_page_renders_every_supplier_with_links_and_the_day_page_links_to_it(time_machine):
    day = formed_day(time_machine)
    idle = Supplier.objects.create(brand_id=day.brand_id, name="还没订单的农场")
    client = _operator()

    page = client.get(f"/ops/fulfilment/purchase/?brand={day.brand_id}&date={day.delivery_date.isoformat()}")

    assert page.status_code == 200
    text = page.content.decode()
    assert "采购汇总" in text and day.scenario.sku.product.name in text
    assert f"/ops/fulfilment/purchase/suppliers/{idle.pk}/links/" in text
    assert f'data-socket="/ws/fulfilment/purchase/{day.brand_id}/"' in text
    fragment = client.get(f"/ops/fulfilment/purchase/?brand={day.brand_id}&fragment=1")
    assert fragment.status_code == 200 and "<html" not in fragment.content.decode()
    day_page = client.get(f"/ops/fulfilment/{day.brand_id}/{day.delivery_date.isoformat()}/").content.decode()
    assert f"/ops/fulfilment/purchase/?brand={day.brand_id}&amp;date={day.delivery_date.isoformat()}" in day_page


@pytest.mark.django_db
def test_an_unknown_brand_is_a_404():
    assert _operator().get("/ops/fulfilment/purchase/?brand=999999").status_code == 404


# --- broadcasts ---------------------------------------------------------------------------------------


class FakeBroadcaster:
    def __init__(self):
        self.scheduled = []

    def call_at(self, due, job):
        self.scheduled.append(job.args[0])


def test_the_reader_thread_outlives_a_failure_to_close_its_connection(monkeypatch):
    """One failure (here: closing the connection, as under a test that forbids the database) must not end
    the process's one reader thread: every later summary would silently stay unpushed."""
    from fulfillment import purchase

    sent = []

    class Recording(FakeBroadcaster):
        def call_soon(self, job):
            sent.append(job)

    calls = {"n": 0}

    def close_fails_once():
        calls["n"] += 1
        if calls["n"] == 2:  # the close after the first summary
            raise RuntimeError("Database access not allowed")

    monkeypatch.setattr(purchase_broadcast, "broadcaster", Recording)
    monkeypatch.setattr(purchase_broadcast, "close_old_connections", close_fails_once)
    monkeypatch.setattr(purchase, "purchase_summary", lambda *, brand_id: {"brand_id": brand_id, "version": 1})
    reader = purchase_broadcast._Reader()

    reader.queue.put(11)
    reader.queue.put(12)
    deadline = time_module.monotonic() + 10
    while len(sent) < 2 and time_module.monotonic() < deadline:
        time_module.sleep(0.02)

    assert len(sent) == 2 and reader.thread.is_alive()


def test_a_burst_of_changes_schedules_one_summary_per_window(monkeypatch):
    fake = FakeBroadcaster()
    monkeypatch.setattr(purchase_broadcast, "broadcaster", lambda: fake)
    purchase_broadcast.reset_backoff()
    cache.delete(purchase_broadcast._pending_key(7))

    assert all(purchase_broadcast.summary_changed(7) for _ in range(100))
    assert fake.scheduled == [7]

    cache.delete(purchase_broadcast._pending_key(7))  # what the flush does first
    purchase_broadcast.summary_changed(7)
    assert fake.scheduled == [7, 7]


def test_the_summary_is_read_off_the_broadcaster_thread_and_a_slow_read_widens_the_window(monkeypatch):
    from fulfillment import purchase

    sent = []

    class Recording(FakeBroadcaster):
        def call_soon(self, job):
            sent.append(job)

    def slow_summary(*, brand_id):
        time_module.sleep(0.7)
        return {"brand_id": brand_id, "version": 41}

    monkeypatch.setattr(purchase_broadcast, "broadcaster", Recording)
    monkeypatch.setattr(purchase, "purchase_summary", slow_summary)
    cache.set(purchase_broadcast._pending_key(5), 1)

    started = time_module.monotonic()
    assert purchase_broadcast._flush(5) == []  # the broadcaster thread only hands it over
    assert time_module.monotonic() - started < 0.2
    deadline = time_module.monotonic() + 10
    while not sent and time_module.monotonic() < deadline:
        time_module.sleep(0.05)

    [(group, message)] = sent[0]()
    assert group == "fulfillment.purchase.5"
    assert json.loads(message["text"]) == {"type": "snapshot", "snapshot": {"brand_id": 5, "version": 41}}
    assert cache.get(purchase_broadcast._pending_key(5)) is None  # cleared before the read
    assert purchase_broadcast._windows.pop(5) >= 1.4  # twice the read: reading at most a third of the time


@pytest.mark.django_db
def test_a_join_asks_for_one_push_of_its_brand(django_capture_on_commit_callbacks, monkeypatch):
    pushed = []
    monkeypatch.setattr(purchase_subscribers, "summary_changed", pushed.append)
    given = f.open_campaign(members=2, threshold=5, perk_limit=0)

    with django_capture_on_commit_callbacks(execute=True):
        _join(given, given.members[0], 1)

    assert pushed == [given.campaign.brand_id]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_operators_socket_gets_the_summary_and_then_the_join():
    from groupbuy.asgi import application

    purchase_broadcast.reset_backoff()
    given = await sync_to_async(f.open_campaign)(members=3, threshold=5, perk_limit=0)
    brand_id, sku_id = given.campaign.brand_id, given.sku.pk
    operator = await sync_to_async(f.operator)()

    ws = WebsocketCommunicator(
        application, f"/ws/fulfilment/purchase/{brand_id}/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    ws.scope["user"] = operator
    connected, _ = await ws.connect()
    assert connected
    first = (await ws.receive_json_from(timeout=5))["snapshot"]
    assert first["suppliers"][0]["skus"] == []

    for user, quantity in zip(given.members, (2, 3, 1), strict=True):
        await sync_to_async(_join)(given, user, quantity)

    received = []
    while not received or _sku_row(received[-1], sku_id)["ordered"] < 6:
        received.append((await ws.receive_json_from(timeout=10))["snapshot"])
    assert len(received) <= 3  # coalesced: never more pushes than joins
    assert [s["version"] for s in received] == sorted(s["version"] for s in received)
    assert received[0]["version"] >= first["version"]
    assert _sku_row(received[-1], sku_id)["open"] == 6
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_only_operators_may_watch_the_summary():
    from groupbuy.asgi import application

    given = await sync_to_async(f.open_campaign)(members=1)
    ws = WebsocketCommunicator(
        application, f"/ws/fulfilment/purchase/{given.campaign.brand_id}/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    ws.scope["user"] = given.members[0]
    connected, code = await ws.connect()
    assert (connected, code) == (False, 4403)
    await ws.disconnect()


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_joins_succeed_the_page_renders_and_nothing_is_pushed():
    purchase_broadcast.reset_backoff()
    given = f.open_campaign(members=2, threshold=5, perk_limit=0)
    member = Client()
    member.force_login(given.members[0])

    with override_settings(**REDIS_DOWN):
        joined = member.post(
            f"/m/jielong/{given.campaign.pk}/join/", {f"qty_{given.item.pk}": "2", "idempotency_key": "k"}
        )
        assert purchase_broadcast.summary_changed(given.campaign.brand_id) is False  # backing off, no wait
        page = _operator().get(f"/ops/fulfilment/purchase/?brand={given.campaign.brand_id}")

    assert joined.status_code == 302
    assert page.status_code == 200
    assert _counts(given.campaign.brand_id, given.sku.pk) == (2, 0, 2)
    purchase_broadcast.reset_backoff()


@pytest.mark.django_db
def test_a_formed_campaign_split_shows_its_day(time_machine):
    given = f.open_campaign(members=2, threshold=1, perk_limit=0)
    _join(given, given.members[0], 3)
    campaign = Campaign.objects.get(pk=given.campaign.pk)
    result = split_campaign(campaign)
    summary = purchase_summary(brand_id=campaign.brand_id)
    row = _sku_row(summary, given.sku.pk)
    assert row["days"][result.delivery_date.isoformat()]["quantity"] == 3
    assert row["days"][result.delivery_date.isoformat()]["confirmed"] is None
