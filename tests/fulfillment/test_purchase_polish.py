"""Polish of issue 12: one lock per delivery day (confirmations vs 已发货), the member told of a shortage."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from fulfillment import locks, supplier_supply, tracking
from fulfillment.models import BatchMove, Notice, Parcel, PickLine
from fulfillment.split import split_day
from fulfillment.supplier_supply import SupplyError, shortages_reallocate_day, supply_confirm
from fulfillment.tracking import batch_move
from tests.fulfillment.day import make_day
from tests.fulfillment.test_purchase_supply import formed_day

Kind = BatchMove.Kind


def _day_and_line():
    day = make_day(members=8)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    line = PickLine.objects.filter(delivery_date=day.delivery_date, quantity__gt=1).order_by("pk").first()
    return day, line


@pytest.mark.django_db(transaction=True)
def test_a_confirmation_waits_for_a_shipped_step_in_progress_and_is_then_refused():
    """已发货 is being recorded (its transaction still open) when the supplier confirms: the confirmation
    waits for the day's lock and then sees the day shipped — it never slips in beside it."""
    day, line = _day_and_line()
    shipping, release = threading.Event(), threading.Event()
    outcome: list[str] = []

    def ship():
        try:
            with transaction.atomic():
                batch_move(
                    brand_id=day.brand_id,
                    delivery_date=day.delivery_date,
                    kind=Kind.SUPPLIER_SHIPPED,
                    supplier=line.supplier_id,
                )
                shipping.set()
                release.wait(10)
        finally:
            connection.close()

    def confirm():
        try:
            shipping.wait(10)
            supply_confirm(pick_line=PickLine.objects.get(pk=line.pk), confirmed_quantity=line.quantity - 1)
            outcome.append("confirmed")
        except SupplyError as refused:
            outcome.append(refused.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=ship), threading.Thread(target=confirm)]
    for t in threads:
        t.start()
    shipping.wait(10)
    time.sleep(0.5)
    blocked = not outcome  # still waiting for the lock
    release.set()
    for t in threads:
        t.join()

    assert blocked
    assert outcome == ["shipped"]
    line.refresh_from_db()
    assert line.confirmed_quantity is None


@pytest.mark.django_db(transaction=True)
def test_racing_confirmation_and_shipped_never_both_pass_once_shipped(monkeypatch):
    """Pressed at the same moment, over and over: whichever takes the day's lock first goes first; once
    已发货 holds it, the confirmation is refused — never recorded beside a shipment."""
    day, line = _day_and_line()
    acquired: list[str] = []
    guard = threading.Lock()

    def spy(name):
        def take(brand_id, delivery_date):
            locks.lock_day(brand_id, delivery_date)
            with guard:
                acquired.append(name)

        return take

    monkeypatch.setattr(tracking, "lock_day", spy("ship"))
    monkeypatch.setattr(supplier_supply, "lock_day", spy("confirm"))
    for round_ in range(6):
        BatchMove.objects.filter(kind=Kind.SUPPLIER_SHIPPED).delete()
        Parcel.objects.filter(delivery_date=day.delivery_date).update(state=Parcel.State.PENDING)
        acquired.clear()
        barrier = threading.Barrier(2)
        outcome: dict[str, str] = {}

        def ship(barrier, outcome):
            try:
                barrier.wait()
                batch_move(
                    brand_id=day.brand_id,
                    delivery_date=day.delivery_date,
                    kind=Kind.SUPPLIER_SHIPPED,
                    supplier=line.supplier_id,
                )
                outcome["ship"] = "shipped"
            finally:
                connection.close()

        def confirm(barrier, outcome, units):
            try:
                barrier.wait()
                supply_confirm(pick_line=PickLine.objects.get(pk=line.pk), confirmed_quantity=units)
                outcome["confirm"] = "confirmed"
            except SupplyError as refused:
                outcome["confirm"] = refused.code
            finally:
                connection.close()

        threads = [
            threading.Thread(target=ship, args=(barrier, outcome)),
            threading.Thread(target=confirm, args=(barrier, outcome, line.quantity - round_ % 2)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcome["ship"] == "shipped"
        if acquired[0] == "ship":
            assert outcome["confirm"] == "shipped", (round_, acquired)
        else:
            assert outcome["confirm"] == "confirmed", (round_, acquired)


# --- the member is told of a shortage -------------------------------------------------------------


def _told(day) -> dict[int, set[str]]:
    """order index → channels of its SHORTAGE notices."""
    index = {order.pk: n for n, order in enumerate(day.orders)}
    out: dict[int, set[str]] = {}
    for order_id, channel in Notice.objects.filter(state=Parcel.State.SHORTAGE).values_list("order_id", "channel"):
        out.setdefault(index[order_id], set()).add(channel)
    return out


@pytest.mark.django_db
def test_a_shortage_queues_the_members_notice_once_per_order(time_machine):
    day = formed_day(time_machine)  # joined 2, 1, 3, 2 units

    supply_confirm(pick_line=day.pick, confirmed_quantity=5)  # 3 short: the last two joiners

    assert _told(day) == {2: {"inbox", "sms"}, 3: {"inbox", "sms"}}
    inbox = Notice.objects.get(order=day.orders[3], channel="inbox")
    assert inbox.status == Notice.Status.PENDING
    assert "×2" in inbox.text

    # More short: the third joiner was told already (once per order); the second is told now.
    supply_confirm(pick_line=PickLine.objects.get(pk=day.pick.pk), confirmed_quantity=2)
    assert _told(day) == {1: {"inbox", "sms"}, 2: {"inbox", "sms"}, 3: {"inbox", "sms"}}
    assert Notice.objects.filter(state=Parcel.State.SHORTAGE).count() == 6


@pytest.mark.django_db
def test_a_cleared_shortage_withdraws_the_notice_not_yet_sent_and_keeps_the_sent_one(time_machine):
    day = formed_day(time_machine)
    supply_confirm(pick_line=day.pick, confirmed_quantity=5)
    Notice.objects.filter(order=day.orders[3]).update(status=Notice.Status.SENT)  # the last joiner was told

    supply_confirm(pick_line=PickLine.objects.get(pk=day.pick.pk), confirmed_quantity=8)  # all supplied after all

    assert _told(day) == {3: {"inbox", "sms"}}  # order 2's unsent notice is withdrawn

    supply_confirm(pick_line=PickLine.objects.get(pk=day.pick.pk), confirmed_quantity=6)  # short again
    assert _told(day) == {3: {"inbox", "sms"}}  # the last joiner again — told already, not twice
    supply_confirm(pick_line=PickLine.objects.get(pk=day.pick.pk), confirmed_quantity=4)
    assert _told(day) == {2: {"inbox", "sms"}, 3: {"inbox", "sms"}}


@pytest.mark.django_db
def test_a_late_joiner_who_takes_a_shortage_on_reallocation_is_told(time_machine):
    day = formed_day(time_machine)
    supply_confirm(pick_line=day.pick, confirmed_quantity=8)  # everything supplied: nobody told
    assert _told(day) == {}
    # A confirmation left unallocated (written behind the service's back): the re-allocation after a split finds it.
    PickLine.objects.filter(pk=day.pick.pk).update(confirmed_quantity=6)
    hit = shortages_reallocate_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    assert hit
    assert set(_told(day)) == {day.orders.index(o) for o in day.orders if o.pk in hit}
