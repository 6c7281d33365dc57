"""核销 exactly once: many phones verify one code at the same moment (real threads, PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from fulfillment.models import Handout, Notice, Parcel, PointVerifier, Verification
from fulfillment.pickup import PickupRefused, verify_pickup
from fulfillment.split import split_day
from groupbuy import clock
from jielong.models import Order
from tests import factories
from tests.fulfillment.day import make_day

PHONES = 12


@pytest.mark.django_db(transaction=True)
def test_many_phones_verifying_one_code_at_once_verify_it_exactly_once():
    day = make_day(suppliers=2, points=2, members=6, campaigns=2)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    handout = max(Handout.objects.filter(delivery_date=day.delivery_date), key=lambda h: h.parcels.count())
    point = handout.pickup_point
    leader = factories.member(nickname="王团长")
    point.leader = leader
    point.save(update_fields=["leader"])
    verifiers = [leader]
    for _ in range(PHONES - 1):
        helper = factories.member()
        PointVerifier.objects.create(pickup_point=point, user=helper, added_by=leader, added_at=clock.now())
        verifiers.append(helper)

    start = threading.Barrier(PHONES)
    won: list[int] = []
    refused: list[str] = []
    failed: list[BaseException] = []

    def phone(user):
        try:
            start.wait(timeout=30)
            verify_pickup(code=handout.code, pickup_point_id=point.pk, by=user)
            won.append(user.pk)
        except PickupRefused as exc:
            refused.append(exc.code)
        except BaseException as exc:  # pragma: no cover - reported below
            failed.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=phone, args=(user,)) for user in verifiers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert failed == []
    assert len(won) == 1
    assert refused == ["already_verified"] * (PHONES - 1)
    handout.refresh_from_db()
    assert handout.verified_by_id == won[0]
    assert Verification.objects.filter(handout=handout).count() == 1
    order_ids = list(handout.parcels.values_list("order_id", flat=True))
    assert len(order_ids) >= 2
    assert set(Parcel.objects.filter(pk__in=order_ids).values_list("state", flat=True)) == {Parcel.State.PICKED_UP}
    assert set(Order.objects.filter(pk__in=order_ids).values_list("status", flat=True)) == {Order.Status.PICKED_UP}
    # the member's receipt is queued once per order, by the one verification that won
    assert sorted(Notice.objects.filter(state="picked_up").values_list("order_id", flat=True)) == sorted(order_ids)
