"""Fulfilment notices: each member told exactly once per order, state and channel — across racing workers, a
killed worker, a failing gateway — in Chinese, with the point, its hours and the pickup code."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.db.models import Count

from community.models import Membership
from fulfillment import notices
from fulfillment.models import BatchMove, Notice, Parcel
from fulfillment.notices import notices_claim, notices_queue, notices_send
from fulfillment.notices_texts import leader_copy_text
from fulfillment.split import split_day
from fulfillment.tracking import batch_move
from groupbuy import clock
from jielong.models import Order
from livestream.models import Notification
from tests import factories
from tests import sms_fakes as fakes
from tests.fulfillment.day import make_day
from tests.sms_fakes import RecordingSMSProvider

State = Parcel.State
Kind = BatchMove.Kind


class BriefSMSProvider(RecordingSMSProvider):
    """A gateway that takes a moment, so two workers overlap."""

    def send(self, *, phone: str, message: str) -> None:
        time.sleep(0.05)
        super().send(phone=phone, message=message)


@pytest.fixture
def sms(settings):
    settings.SMS_PROVIDER = "tests.sms_fakes.RecordingSMSProvider"
    fakes.sent.clear()
    yield fakes.sent
    fakes.sent.clear()


def ready_day(*, members: int = 12, leaders: bool = True):
    """A split day whose points have leaders and hours, every parcel at its point (the leaders' received)."""
    day = make_day(members=members)
    for i, point in enumerate(day.points):
        point.opening_hours = "9:00-20:00"
        if leaders:
            point.leader = factories.member(nickname=f"团长{i}")
        point.save()
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    return day


def handouts(day) -> int:
    """Pickup codes of the day: a member's orders at one point share one (and one text)."""
    return Parcel.objects.filter(delivery_date=day.delivery_date).values("handout_id").distinct().count()


def receive_all(day, **kw):
    for point in {p.pickup_point for p in Parcel.objects.filter(delivery_date=day.delivery_date)}:
        batch_move(
            brand_id=day.brand_id, delivery_date=day.delivery_date, kind=Kind.POINT_RECEIVED, pickup_point=point, **kw
        )


# --- what is queued ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ready_for_pickup_queues_inbox_and_sms_per_order_and_one_leader_copy_per_point():
    day = ready_day()
    receive_all(day)

    orders = len(day.orders)
    assert Notice.objects.filter(state=State.AT_PICKUP, channel="inbox").count() == orders
    assert handouts(day) < orders, "some members should have two orders at one point"
    # every member has a phone; one text per pickup code
    assert Notice.objects.filter(state=State.AT_PICKUP, channel="sms").count() == handouts(day)
    copies = Notice.objects.filter(state=State.AT_PICKUP, channel="leader_copy")
    assert sorted(copies.values_list("pickup_point_id", flat=True)) == sorted({o.pickup_point_id for o in day.orders})
    assert set(copies.values_list("order_id", "user_id")) == {(None, None)}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "channels"),
    [
        (State.SHIPPED, {"inbox"}),
        (State.PICKED_UP, {"inbox"}),
        (State.SHORTAGE, {"inbox", "sms"}),
        (State.UNCOLLECTED, {"inbox", "sms"}),
        (State.AT_WAREHOUSE, set()),
        (State.OUT_FOR_DELIVERY, set()),
    ],
    ids=lambda v: v if isinstance(v, str) else "-".join(sorted(v)) or "none",
)
def test_each_state_has_its_channels(state, channels):
    day = ready_day()
    ids = [o.pk for o in day.orders[:3]]
    created = notices_queue(order_ids=ids, state=state)
    assert set(Notice.objects.values_list("channel", flat=True)) == channels
    assert created == len(channels) * 3


@pytest.mark.django_db
def test_queueing_again_adds_nothing():
    day = ready_day()
    ids = [o.pk for o in day.orders]
    first = notices_queue(order_ids=ids, state=State.AT_PICKUP)
    again = notices_queue(order_ids=ids + ids, state=State.AT_PICKUP)
    assert first == Notice.objects.count() > 0
    assert again == 0
    assert Notice.objects.count() == first


@pytest.mark.django_db
def test_members_without_a_phone_get_no_sms_row():
    day = ready_day()
    quiet = day.orders[0].user
    quiet.phone = None
    quiet.username = f"quiet{quiet.pk}"
    quiet.save()
    notices_queue(order_ids=[o.pk for o in day.orders], state=State.AT_PICKUP)
    assert not Notice.objects.filter(user=quiet, channel="sms").exists()
    assert Notice.objects.filter(user=quiet, channel="inbox").exists()


@pytest.mark.django_db
def test_a_members_orders_sharing_a_pickup_code_get_one_text_and_an_inbox_message_each():
    day = ready_day()
    shared = (
        Parcel.objects.filter(delivery_date=day.delivery_date)
        .values("handout_id")
        .annotate(n=Count("pk"))
        .filter(n=2)
        .order_by("handout_id")
        .values_list("handout_id", flat=True)
        .first()
    )
    assert shared, "the generated day should have a member with two orders at one point"
    pair = sorted(Parcel.objects.filter(handout_id=shared).values_list("order_id", flat=True))

    notices_queue(order_ids=pair, state=State.AT_PICKUP)
    notices_queue(order_ids=pair, state=State.AT_PICKUP)  # again: nothing new

    assert Notice.objects.filter(channel="inbox").count() == 2
    text = Notice.objects.get(channel="sms")
    assert text.order_id == pair[0]
    assert "您的 2 个订单" in text.text
    assert all(f"#{seq}" in text.text for seq in Order.objects.filter(pk__in=pair).values_list("seq", flat=True))


@pytest.mark.django_db
def test_a_cancelled_order_is_not_told():
    day = ready_day()
    gone = day.orders[0]
    Parcel.objects.filter(pk=gone.pk).update(state=State.CANCELLED)
    notices_queue(order_ids=[gone.pk], state=State.SHIPPED)
    assert not Notice.objects.exists()


# --- the words --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_ready_texts_name_the_point_its_hours_and_the_pickup_code(sms):
    day = ready_day()
    receive_all(day)
    order = day.orders[0]
    parcel = Parcel.objects.select_related("pickup_point", "handout").get(pk=order.pk)
    point, code = parcel.pickup_point, parcel.handout.code

    notices_send()

    inbox = Notification.objects.filter(user=order.user, title__contains=point.name)
    assert inbox.count() == 1
    message = inbox.get()
    assert f"取货码 {code}" in message.body
    assert "营业时间：9:00-20:00" in message.body
    assert point.address in message.body
    assert message.link == f"/m/jielong/orders/{order.pk}/"
    texts = [text for phone, text in sms if phone == order.user.phone and code in text]
    assert len(texts) == 1
    assert texts[0].startswith("【源味集】")
    assert point.name in texts[0]


@pytest.mark.django_db
def test_the_leader_copy_counts_what_arrived_and_goes_to_the_points_leader(sms):
    day = ready_day()
    point = day.points[0]
    arrived = clock.now().replace(hour=4, minute=0, second=0, microsecond=0)  # 12:00 in Shanghai
    with time_machine.travel(arrived, tick=False):
        batch_move(brand_id=day.brand_id, delivery_date=day.delivery_date, kind=Kind.POINT_RECEIVED, pickup_point=point)
        notices_send()
    count = Parcel.objects.filter(pickup_point=point).count()

    copy = Notice.objects.get(channel="leader_copy", pickup_point=point)
    assert copy.text == f"{point.name}：今天 12:00 到货 {count} 份，请凭取货码取货。营业时间：9:00-20:00。"
    assert copy.status == "sent"
    leader_note = Notification.objects.get(user=point.leader)
    assert leader_note.body == copy.text
    assert leader_note.link == f"/m/pickup/points/{point.pk}/?date={day.delivery_date.isoformat()}"  # their counter
    assert "微信群" in leader_note.title or "WeChat" not in leader_note.title


@pytest.mark.django_db
def test_the_leader_copy_is_empty_until_something_arrives():
    day = ready_day()
    assert leader_copy_text(point=day.points[0], delivery_date=day.delivery_date) == ""


@pytest.mark.django_db
def test_a_point_without_a_leader_marks_its_copy_failed_and_says_why():
    day = ready_day(leaders=False)
    Membership.objects.filter(community=day.points[0].community, role="leader").delete()
    receive_all(day)
    notices_send()
    copies = Notice.objects.filter(channel="leader_copy")
    assert set(copies.values_list("status", "last_error")) == {("failed", "no leader to tell")}


@pytest.mark.django_db
def test_shortage_texts_name_what_is_short():
    from fulfillment.models import PickLine, Shortage

    day = ready_day()
    order = day.orders[0]
    line = order.lines.select_related("item__sku__product").first()
    pick = PickLine.objects.get(delivery_date=day.delivery_date, sku=line.item.sku)
    Shortage.objects.create(order_line=line, pick_line=pick, quantity=1, created_at=clock.now())

    notices_queue(order_ids=[order.pk], state=State.SHORTAGE)

    text = Notice.objects.get(order=order, channel="inbox").text
    assert line.item.sku.product.name in text and "×1" in text and "退款" in text


# --- exactly once when sending ------------------------------------------------------------------------


@pytest.mark.django_db
def test_sending_twice_sends_once(sms):
    day = ready_day()
    receive_all(day)
    notices_send()
    notices_send()
    orders = len(day.orders)
    assert Notice.objects.exclude(status="sent").count() == 0
    assert len(sms) == handouts(day) and len(set(sms)) == handouts(day)
    leaders = {p.leader_id for p in day.points if p.parcels.exists()}
    assert Notification.objects.count() == orders + len(leaders)


@pytest.mark.django_db(transaction=True)
def test_two_racing_workers_send_each_notice_once(settings, monkeypatch):
    settings.SMS_PROVIDER = "tests.fulfillment.test_notices.BriefSMSProvider"
    fakes.sent.clear()
    monkeypatch.setattr(notices, "BATCH", 3)
    day = ready_day(members=16)
    receive_all(day)
    rows = Notice.objects.count()
    sms_rows = Notice.objects.filter(channel="sms").count()
    barrier = threading.Barrier(2)
    claimed, errors = [], []

    def worker():
        try:
            barrier.wait()
            claimed.append(notices_send())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    try:
        assert errors == []
        assert all(claimed), "both workers should have had a share of the rows"
        assert sum(claimed) == rows
        assert Notice.objects.filter(status="sent", attempts=1).count() == rows
        assert len(fakes.sent) == sms_rows
        assert len(set(fakes.sent)) == sms_rows
        inbox = Notice.objects.filter(channel="inbox").count()
        leaders = Notice.objects.filter(channel="leader_copy").count()
        assert Notification.objects.count() == inbox + leaders
    finally:
        fakes.sent.clear()


@pytest.mark.django_db
def test_a_killed_workers_sms_is_sent_once_by_another_after_its_lease_runs_out(sms):
    day = ready_day()
    receive_all(day)
    start = clock.now()
    # The killed worker: it claimed a batch (inbox rows delivered, SMS rows leased) and died before sending.
    _claimed, leased = notices_claim(now=start)
    assert leased and all(row.status == "sending" for row in leased)
    stuck = {row.pk for row in leased}

    notices_send(now=start)  # the lease still runs: nobody takes the claimed rows
    assert Notice.objects.filter(pk__in=stuck, status="sending").count() == len(stuck)
    sent_before = len(sms)

    with time_machine.travel(start + notices.LEASE + timedelta(seconds=1), tick=False):
        notices_send()
        # The killed worker comes back to life after losing its lease: it must not send.
        for row in leased:
            notices._send_sms(row, start)

    orders = len(day.orders)
    assert len(sms) == handouts(day) and len(set(sms)) == handouts(day)
    assert len(sms) - sent_before == len(stuck)
    retried = Notice.objects.filter(pk__in=stuck)
    assert set(retried.values_list("status", "attempts")) == {("sent", 2)}
    assert Notification.objects.filter(user__isnull=False).count() == orders + len(
        {p.leader_id for p in day.points if p.parcels.exists()}
    )


@pytest.mark.django_db
def test_a_worker_killed_inside_the_claim_rolls_back_whole(monkeypatch, sms):
    day = ready_day()
    receive_all(day)
    calls = []
    original = notices._member_link

    def dies_on_third(order_id):
        calls.append(order_id)
        if len(calls) == 3:
            raise SystemExit("worker killed")
        return original(order_id)

    monkeypatch.setattr(notices, "_member_link", dies_on_third)
    with pytest.raises(SystemExit):
        notices_send()
    monkeypatch.setattr(notices, "_member_link", original)
    assert Notification.objects.count() == 0
    assert not Notice.objects.exclude(status="pending").exists()

    notices_send()
    assert Notice.objects.filter(status="sent", attempts=1).count() == Notice.objects.count()


@pytest.mark.django_db
def test_a_failing_gateway_retries_then_gives_up_with_the_reason(settings, caplog):
    settings.SMS_PROVIDER = "tests.sms_fakes.FailingSMSProvider"
    day = ready_day(members=2)
    receive_all(day)
    now = clock.now()
    with caplog.at_level(logging.INFO):
        for attempt in range(notices.MAX_ATTEMPTS + 1):
            notices_send(now=now + attempt * notices.RETRY_AFTER * notices.MAX_ATTEMPTS)
    texts = Notice.objects.filter(channel="sms")
    assert set(texts.values_list("status", "attempts", "last_error")) == {
        ("failed", notices.MAX_ATTEMPTS, "gateway down")
    }
    assert Notice.objects.filter(channel="inbox", status="sent").count() == len(day.orders)
    # Logs carry neither a pickup code nor a full phone number.
    codes = set(Parcel.objects.values_list("handout__code", flat=True))
    for record in caplog.records:
        message = record.getMessage()
        assert not any(code in message for code in codes)
        assert not any(o.user.phone[3:] in message for o in day.orders)


def test_a_rush_of_moves_queues_one_sender_a_second_to_run_after_them(monkeypatch):
    """Each move's rows are pending before the sender queued for it runs: the first move queues one a second
    ahead, the moves of the next three quarters of a second rely on it, a later one queues the next."""
    from fulfillment import tasks

    queued: list[dict] = []
    monkeypatch.setattr(tasks.send_notices, "apply_async", lambda **kw: queued.append(kw))
    monkeypatch.setattr(notices, "_send_reserved_until", 0.0)
    clock_s = [1000.0]
    monkeypatch.setattr(notices.time, "monotonic", lambda: clock_s[0])

    notices._send_soon()
    clock_s[0] += 0.7
    notices._send_soon()
    assert queued == [{"countdown": notices.SEND_DELAY_S}]
    clock_s[0] += 0.1  # 0.8 s after the first: too close to its run to count on it
    notices._send_soon()
    assert len(queued) == 2

    def broker_down(**kw):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks.send_notices, "apply_async", broker_down)
    clock_s[0] += 5
    notices._send_soon()  # logged; the periodic task sends instead, and the next move tries again
    monkeypatch.setattr(tasks.send_notices, "apply_async", lambda **kw: queued.append(kw))
    notices._send_soon()
    assert len(queued) == 3
