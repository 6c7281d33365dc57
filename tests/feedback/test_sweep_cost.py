"""The NPS sweep at a busy day's scale: the first pass asks everyone in a few statements per batch, the next
pass (every five minutes) finds nothing to do in a handful of statements."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback.models import NpsSurvey
from feedback.nps import NOTIFY_BATCH, surveys_ask
from fulfillment.models import Parcel
from groupbuy import clock
from livestream.models import Notification
from tests.feedback.scenario import delivered_day

pytestmark = pytest.mark.django_db


def test_the_sweep_asks_thousands_once_and_then_costs_a_handful_of_statements():
    day = delivered_day(members=1500, campaigns=2)
    now = clock.now()
    Parcel.objects.update(state=Parcel.State.PICKED_UP, picked_up_at=now, state_changed_at=now)
    pairs = Parcel.objects.count()  # one order per member per campaign
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as first:
        told = surveys_ask()
    first_seconds = time.perf_counter() - started
    assert told == pairs == NpsSurvey.objects.count() == Notification.objects.count()
    batches = -(-pairs // NOTIFY_BATCH)
    assert len(first) <= 4 + batches * 7  # each batch's NpsAsked is one row of the event stream, in its transaction
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # autovacuum would have, between two sweeps five minutes apart
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as again:
        assert surveys_ask() == 0
    again_seconds = time.perf_counter() - started
    assert len(again) <= 6, [q["sql"] for q in again]
    print(
        f"\n{pairs} pickups: asked in {first_seconds:.2f} s ({len(first)} statements); a no-op sweep {again_seconds * 1000:.0f} ms"
    )
    assert day.brand_id
