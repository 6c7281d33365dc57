"""Batch moves (物流追踪): each step moves the right parcels, only forward; refusals change nothing."""

from __future__ import annotations

import pytest

from fulfillment.models import BatchMove, Notice, Parcel
from fulfillment.split import split_day
from fulfillment.tracking import TrackingError, batch_move
from jielong.models import Order
from tests.fulfillment.day import make_day

pytestmark = pytest.mark.django_db
Kind = BatchMove.Kind
State = Parcel.State


def split(day):
    return split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)


def move(day, kind, **target):
    return batch_move(brand_id=day.brand_id, delivery_date=day.delivery_date, kind=kind, **target)


def states(day) -> dict[int, str]:
    return dict(Parcel.objects.filter(delivery_date=day.delivery_date).values_list("order_id", "state"))


def test_point_received_moves_the_points_parcels_to_pickup_and_orders_to_ready():
    day = make_day()
    split(day)
    point = day.points[0]
    made = move(day, Kind.POINT_RECEIVED, pickup_point=point)
    at_point = set(Parcel.objects.filter(pickup_point=point).values_list("order_id", flat=True))
    assert made.parcels == len(at_point) > 0
    assert {s for o, s in states(day).items() if o in at_point} == {State.AT_PICKUP}
    assert set(Order.objects.filter(pk__in=at_point).values_list("status", flat=True)) == {Order.Status.READY}
    assert Notice.objects.filter(state=State.AT_PICKUP, channel="inbox").count() == len(at_point)


def test_an_unsplit_day_is_refused():
    day = make_day()
    with pytest.raises(TrackingError):
        move(day, Kind.POINT_RECEIVED, pickup_point=day.points[0])
    assert not BatchMove.objects.exists()
