"""Every published domain event becomes one row of the event stream, written in the publishing transaction
(groupbuy.events.publish → groupbuy.stream; analytics.Event reads it)."""

import dataclasses
import json
import typing

import pytest
from django.db import transaction

from analytics.models import Event
from community import events as community_events
from groupbuy import events
from jielong import events as jielong_events
from livestream import events as livestream_events
from tests import factories

COLUMNS = ("user_id", "community_id", "live_session_id", "campaign_id")
# Importing the apps' events modules (above) declares their events; tests declare theirs under "test.".
DECLARED = [cls for name, cls in sorted(events.registry.items()) if not name.startswith("test.")]


def _rows():
    return list(Event.objects.order_by("pk").values_list("name", *COLUMNS, "properties"))


def _expected_row(event: events.DomainEvent):
    payload = json.loads(json.dumps(event.payload))  # stored as JSON: a tuple of ids comes back a list
    return (event.name, *(payload.pop(column, None) for column in COLUMNS), payload)


def _example(cls, *, user_id: int) -> events.DomainEvent:
    """An instance of ``cls`` with a value of the right type in every field (user ids point at a real user)."""
    hints = typing.get_type_hints(cls)
    values = {}
    for n, field in enumerate(dataclasses.fields(cls), start=1):
        hint = hints[field.name]
        if field.name == "user_id":
            values[field.name] = user_id
        elif hint is bool:
            values[field.name] = True
        elif hint is str:
            values[field.name] = f"{field.name} {n}"
        elif hint in (int, int | None):
            values[field.name] = 1000 + n
        elif hint in (float, float | None):
            values[field.name] = 0.5 + n
        elif hint == tuple[int, ...]:
            values[field.name] = (1000 + n, 2000 + n)
        else:
            raise AssertionError(f"teach _example the type {hint!r} of {cls.name}.{field.name}")
    return cls(**values)


@pytest.mark.django_db
def test_a_published_event_becomes_one_row_in_the_publishing_transaction(django_capture_on_commit_callbacks):
    member = factories.member()
    joined = community_events.MemberJoined(membership_id=3, user_id=member.pk, community_id=4, source="import")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        events.publish(joined)
        assert Event.objects.count() == 1  # before any after-commit callback ran
    assert len(callbacks) == 1  # the handlers' dispatch, after commit

    assert _rows() == [
        (
            "community.member_joined",
            member.pk,
            4,
            None,
            None,
            {"membership_id": 3, "invited_by_id": None, "source": "import"},
        )
    ]


@pytest.mark.django_db
def test_nothing_is_recorded_when_the_transaction_rolls_back(django_capture_on_commit_callbacks):
    member = factories.member()

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        events.publish(community_events.MemberLeft(membership_id=3, user_id=member.pk, community_id=4))
        raise RuntimeError("rolled back")

    assert callbacks == []
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_a_batch_is_recorded_in_one_insert_in_publishing_order(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    a, b = factories.member(), factories.member()
    batch = [
        community_events.MemberJoined(membership_id=1, user_id=a.pk, community_id=9),
        community_events.MemberJoined(membership_id=2, user_id=b.pk, community_id=9, invited_by_id=a.pk),
        community_events.MemberLeft(membership_id=1, user_id=a.pk, community_id=9),
    ]

    with django_assert_num_queries(1), django_capture_on_commit_callbacks(execute=False):
        events.publish_many(batch)

    assert _rows() == [_expected_row(event) for event in batch]


def test_the_apps_declare_events_for_the_check_below():
    assert {cls.name.split(".")[0] for cls in DECLARED} >= {"community", "livestream", "jielong"}
    assert community_events.MemberJoined in DECLARED
    assert jielong_events.OrderJoined in DECLARED
    assert livestream_events.SessionEnded in DECLARED


@pytest.mark.django_db(transaction=True)
def test_every_declared_domain_event_is_recorded_exactly_once_with_a_real_commit():
    member = factories.member()
    published = [_example(cls, user_id=member.pk) for cls in DECLARED]

    with transaction.atomic():
        events.publish_many(published)
        assert Event.objects.count() == len(published)

    assert _rows() == [_expected_row(event) for event in published]
