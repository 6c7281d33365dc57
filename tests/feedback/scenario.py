"""A small delivered day for feedback tests: one community, one point, members with orders, split; ``pick_up``
hands an order over through the real 核销."""

from __future__ import annotations

from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from community.models import Membership
from fulfillment.models import Handout, Parcel
from fulfillment.pickup import verify_pickup
from fulfillment.split import split_day
from groupbuy import clock
from jielong.models import Order
from tests import factories
from tests.fulfillment.day import Day, make_day


def delivered_day(*, members: int = 3, campaigns: int = 1) -> Day:
    day = make_day(suppliers=1, points=1, members=members, campaigns=campaigns)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    return day


def leader_of(day: Day):
    point = day.points[0]
    user = factories.member(nickname="王团长")
    factories.membership(user=user, community=point.community, role=Membership.Role.LEADER)
    return user


def arrive(order: Order) -> Handout:
    handout = Parcel.objects.get(pk=order.pk).handout
    now = clock.now()
    Parcel.objects.filter(handout=handout).update(state=Parcel.State.AT_PICKUP, at_pickup_at=now, state_changed_at=now)
    return handout


def pick_up(order: Order) -> Handout:
    """The van arrived and the member showed their code at the counter (verified by an operator)."""
    handout = arrive(order)
    verify_pickup(code=handout.code, pickup_point_id=handout.pickup_point_id, by=factories.operator())
    return handout


def photo(*, name: str = "veg.jpg", size=(2400, 1800), exif: bool = True) -> SimpleUploadedFile:
    picture = Image.new("RGB", size, (60, 160, 90))
    buffer = BytesIO()
    extra = {}
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "PhoneMaker"  # Make
        tags[0x0132] = "2020:01:01 10:00:00"
        extra["exif"] = tags.tobytes()
    picture.save(buffer, format="JPEG", **extra)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")
