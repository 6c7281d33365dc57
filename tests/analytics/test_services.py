"""The event stream's writes (analytics/services.py, tasks.py): ids go to columns, the rest to properties."""

import copy
from datetime import timedelta

import pytest

from analytics import services
from analytics.models import Event
from analytics.tasks import event_record_task
from groupbuy import clock
from tests import factories

pytestmark = pytest.mark.django_db

FIELDS = ("name", "user_id", "community_id", "live_session_id", "campaign_id", "properties")


def _rows():
    return list(Event.objects.order_by("pk").values_list(*FIELDS))


def test_event_record_puts_the_four_ids_in_columns_and_everything_else_in_properties():
    member = factories.member()

    event = services.event_record(
        name="jielong.order_joined",
        user_id=member.pk,
        community_id=11,
        live_session_id=12,
        campaign_id=13,
        order_id=14,
        total_fen=1590,
        is_perk=True,
    )

    assert _rows() == [
        ("jielong.order_joined", member.pk, 11, 12, 13, {"order_id": 14, "total_fen": 1590, "is_perk": True})
    ]
    assert Event.objects.get().pk == event.pk


def test_an_event_without_ids_leaves_the_id_columns_empty():
    services.event_record(name="community.roster_imported", filename="名单.xlsx", new_members=3)

    assert _rows() == [
        ("community.roster_imported", None, None, None, None, {"filename": "名单.xlsx", "new_members": 3})
    ]


def test_event_record_stamps_the_current_time_unless_told_when(time_machine):
    moment = clock.now()
    time_machine.move_to(moment, tick=False)
    three_days_ago = moment - timedelta(days=3)

    now_event = services.event_record(name="livestream.entered", live_session_id=1)
    past_event = services.event_record(name="livestream.left", live_session_id=1, occurred_at=three_days_ago)

    stamped = dict(Event.objects.values_list("pk", "occurred_at"))
    assert stamped == {now_event.pk: moment, past_event.pk: three_days_ago}
    assert Event.objects.get(pk=past_event.pk).properties == {}  # occurred_at is not a property


def test_events_record_writes_a_batch_in_one_insert_in_order_and_leaves_the_payloads_alone(
    django_assert_num_queries,
):
    member = factories.member()
    batch = [
        ("livestream.entered", {"live_session_id": 5, "user_id": member.pk}),
        ("livestream.heartbeat", {"live_session_id": 5, "user_id": member.pk, "seconds_watched": 60}),
        ("jielong.group_formed", {"campaign_id": 8, "joined": 20}),
    ]
    before = copy.deepcopy(batch)

    with django_assert_num_queries(1):
        written = services.events_record(batch)

    assert batch == before  # the caller's dicts are not emptied into columns
    assert _rows() == [
        ("livestream.entered", member.pk, None, 5, None, {}),
        ("livestream.heartbeat", member.pk, None, 5, None, {"seconds_watched": 60}),
        ("jielong.group_formed", None, None, None, 8, {"joined": 20}),
    ]
    assert [event.pk for event in written] == list(Event.objects.order_by("pk").values_list("pk", flat=True))


def test_an_empty_batch_writes_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert services.events_record([]) == []


def test_the_background_task_records_one_event_and_returns_its_pk():
    pk = event_record_task("livestream.reserved", {"live_session_id": 3, "source": "poster"})

    assert _rows() == [("livestream.reserved", None, None, 3, None, {"source": "poster"})]
    assert Event.objects.get().pk == pk


def test_the_background_task_takes_no_payload():
    event_record_task("ops.opened_dashboard")

    assert _rows() == [("ops.opened_dashboard", None, None, None, None, {})]
