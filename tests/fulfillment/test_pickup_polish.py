"""The pickup counter shows everything outstanding at a point (earlier days' orders still waiting, 超时未取 of
any day), and the 已取货 list says the date when it is not today, newest first."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from fulfillment.models import Handout, Parcel
from fulfillment.pickup import verify_pickup
from fulfillment.split import split_day
from tests import factories
from tests.fulfillment.day import make_day
from tests.fulfillment.test_pickup import arrive

pytestmark = pytest.mark.django_db
State = Parcel.State


def at(day, days: int, hour: int, minute: int = 0) -> datetime:
    """A local moment ``days`` after the delivery day."""
    return timezone.make_aware(datetime.combine(day.delivery_date + timedelta(days=days), time(hour, minute)))


@pytest.fixture
def point_day():
    """A split day; two hand-outs of one point arrived on the delivery day; the point's leader."""
    day = make_day(suppliers=2, points=2, members=10, campaigns=1)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    point = day.points[0]
    handouts = list(Handout.objects.filter(pickup_point=point).order_by("pk")[:3])
    assert len(handouts) == 3
    leader = factories.member(nickname="王团长")
    point.leader = leader
    point.save(update_fields=["leader"])
    return day, point, handouts, leader


def _live(handout) -> int:
    return handout.parcels.exclude(state__in=[State.CANCELLED, State.SHORTAGE]).count()


def test_the_points_page_counts_earlier_days_still_waiting_and_every_late_order(client, point_day):
    day, point, (waiting, late, _other), leader = point_day
    arrive(waiting, at=at(day, 0, 8))
    arrive(late, at=at(day, 0, 8))
    Parcel.objects.filter(handout=late).exclude(state__in=[State.CANCELLED, State.SHORTAGE]).update(
        state=State.UNCOLLECTED
    )
    client.force_login(leader)
    with time_machine.travel(at(day, 1, 10), tick=False):  # the day after: nothing is delivered today
        page = client.get(reverse("fulfillment:pickup-points")).content.decode()
        home = client.get(reverse("community:member-home")).content.decode()

    card = page[page.index(f'id="point-{point.pk}"') :]
    assert re.search(r'class="pk-picked-up">(\d+)<', card).group(1) == "0"
    assert re.search(r'class="pk-outstanding">(\d+)<', card).group(1) == str(_live(waiting))
    assert re.search(r'class="pk-uncollected">(\d+)<', card).group(1) == str(_live(late))
    assert "其他日期" in card
    assert f"<b>{_live(waiting)}</b>" in home


def test_todays_counter_lists_earlier_days_waiting_and_their_late_pickups(client, point_day):
    day, point, (waiting, _late, _other), leader = point_day
    arrive(waiting, at=at(day, 0, 8))
    client.force_login(leader)
    url = reverse("fulfillment:pickup-point", args=[point.pk])
    with time_machine.travel(at(day, 1, 10), tick=False):
        page = client.get(url).content.decode()
        outstanding = page[page.index('id="outstanding"') : page.index('id="picked-up"')]
        assert waiting.user.display_name in outstanding
        assert f"{day.delivery_date.month}月{day.delivery_date.day}日" in outstanding

        verify_pickup(code=waiting.code, pickup_point_id=point.pk, by=leader)
        page = client.get(url).content.decode()
    picked = page[page.index('id="picked-up"') :]
    assert waiting.user.display_name in picked  # collected today, from the day before


def test_the_picked_up_list_says_the_date_when_not_today_newest_first(client, point_day):
    day, point, (first, second, _other), leader = point_day
    for handout in (first, second):
        arrive(handout, at=at(day, 0, 8))
    verify_pickup(code=first.code, pickup_point_id=point.pk, by=leader, now=at(day, 0, 23, 50))
    verify_pickup(code=second.code, pickup_point_id=point.pk, by=leader, now=at(day, 1, 0, 10))
    client.force_login(leader)
    url = reverse("fulfillment:pickup-point", args=[point.pk]) + f"?date={day.delivery_date.isoformat()}"
    with time_machine.travel(at(day, 1, 9), tick=False):
        page = client.get(url).content.decode()
    picked = page[page.index('id="picked-up"') :]
    assert picked.index(second.user.display_name) < picked.index(first.user.display_name)
    d0 = day.delivery_date
    assert f"{d0.month}月{d0.day}日 23:50" in picked  # not today: the date is said
    assert re.search(r">\s*00:10<", picked)  # today: the time alone


def test_the_points_page_counts_other_days_orders_picked_up_today(client, point_day):
    day, point, (waiting, _late, _other), leader = point_day
    arrive(waiting, at=at(day, 0, 8))
    verify_pickup(code=waiting.code, pickup_point_id=point.pk, by=leader, now=at(day, 1, 9))
    client.force_login(leader)
    with time_machine.travel(at(day, 1, 10), tick=False):
        page = client.get(reverse("fulfillment:pickup-points")).content.decode()
    card = page[page.index(f'id="point-{point.pk}"') :]
    assert re.search(r'class="pk-picked-up">(\d+)<', card).group(1) == str(_live(waiting))
