"""The typed domain-event bus (groupbuy/events.py): after-commit delivery, batches, the wildcard, isolation
of a failing subscriber, and the checks that keep events declared."""

import dataclasses
import logging
from contextlib import contextmanager

import pytest
from django.db import transaction

from groupbuy import events


@events.event("test.parcel_packed")
class ParcelPacked(events.DomainEvent):
    parcel_id: int
    note: str = ""


@events.event("test.parcel_sent")
class ParcelSent(events.DomainEvent):
    parcel_id: int


@contextmanager
def subscribed(topic, handler, *, batch=False):
    """Subscribe ``handler`` for the block only: the bus is process-wide."""
    (events.subscribe_many if batch else events.subscribe)(topic, handler)
    try:
        yield handler
    finally:
        events.unsubscribe(topic, handler)


# --- delivery after commit ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_subscriber_hears_an_event_only_once_the_transaction_commits(django_capture_on_commit_callbacks):
    heard = []
    with subscribed(ParcelPacked, heard.append), django_capture_on_commit_callbacks(execute=True) as callbacks:
        events.publish(ParcelPacked(parcel_id=7, note="fragile"))
        assert heard == []  # not before the commit

    assert heard == [ParcelPacked(parcel_id=7, note="fragile")]
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_an_event_published_in_a_rolled_back_savepoint_is_never_delivered(django_capture_on_commit_callbacks):
    heard = []
    with (
        subscribed(ParcelPacked, heard.append),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        events.publish(ParcelPacked(parcel_id=7))
        raise RuntimeError("changed our mind")

    assert heard == []
    assert callbacks == []


@pytest.mark.django_db(transaction=True)
def test_with_a_real_transaction_the_event_arrives_at_commit_and_not_after_a_rollback():
    heard = []
    with subscribed(ParcelPacked, heard.append):
        with transaction.atomic():
            events.publish(ParcelPacked(parcel_id=1))
            assert heard == []
        assert heard == [ParcelPacked(parcel_id=1)]

        with pytest.raises(RuntimeError), transaction.atomic():
            events.publish(ParcelPacked(parcel_id=2))
            raise RuntimeError("rolled back")

    assert heard == [ParcelPacked(parcel_id=1)]


@pytest.mark.django_db(transaction=True)
def test_outside_any_transaction_the_event_is_delivered_at_once():
    heard = []
    with subscribed(ParcelSent, heard.append):
        events.publish(ParcelSent(parcel_id=3))

    assert heard == [ParcelSent(parcel_id=3)]


# --- batches and the wildcard ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_publish_many_gives_batch_handlers_one_call_and_per_event_handlers_each_event(
    django_capture_on_commit_callbacks,
):
    batch = [ParcelPacked(parcel_id=1), ParcelSent(parcel_id=1), ParcelPacked(parcel_id=2)]
    packed_batches, sent_batches, packed_one_by_one = [], [], []
    with (
        subscribed(ParcelPacked, packed_batches.append, batch=True),
        subscribed(ParcelSent, sent_batches.append, batch=True),
        subscribed(ParcelPacked, packed_one_by_one.append),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        events.publish_many(batch)

    assert len(callbacks) == 1
    assert packed_batches == [[ParcelPacked(parcel_id=1), ParcelPacked(parcel_id=2)]]  # one call, in order
    assert sent_batches == [[ParcelSent(parcel_id=1)]]
    assert packed_one_by_one == [ParcelPacked(parcel_id=1), ParcelPacked(parcel_id=2)]


@pytest.mark.django_db
def test_the_wildcard_hears_every_event_one_by_one_and_as_the_whole_batch(django_capture_on_commit_callbacks):
    batch = [ParcelPacked(parcel_id=1), ParcelSent(parcel_id=1), ParcelPacked(parcel_id=2)]
    every_event, every_batch = [], []
    with (
        subscribed(events.ALL, every_event.append),
        subscribed(events.ALL, every_batch.append, batch=True),
        django_capture_on_commit_callbacks(execute=True),
    ):
        events.publish_many(batch)
        events.publish(ParcelSent(parcel_id=2))

    assert every_event == [*batch, ParcelSent(parcel_id=2)]
    assert every_batch == [batch, [ParcelSent(parcel_id=2)]]


@pytest.mark.django_db
def test_publishing_an_empty_batch_schedules_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        events.publish_many([])

    assert callbacks == []


@pytest.mark.django_db
def test_subscribing_the_same_handler_twice_delivers_once(django_capture_on_commit_callbacks):
    heard = []
    events.subscribe(ParcelSent, heard.append)
    try:
        with subscribed(ParcelSent, heard.append), django_capture_on_commit_callbacks(execute=True):
            events.publish(ParcelSent(parcel_id=4))
    finally:
        events.unsubscribe(ParcelSent, heard.append)

    assert heard == [ParcelSent(parcel_id=4)]


@pytest.mark.django_db
def test_after_unsubscribing_a_handler_hears_nothing(django_capture_on_commit_callbacks):
    heard = []
    with subscribed(ParcelSent, heard.append):
        pass

    with django_capture_on_commit_callbacks(execute=True):
        events.publish(ParcelSent(parcel_id=5))

    assert heard == []


# --- a failing subscriber ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failing_subscriber_is_logged_and_the_others_still_hear_the_event(django_capture_on_commit_callbacks, caplog):
    def broken(_event):
        raise ValueError("subscriber bug")

    def broken_batch(_batch):
        raise ValueError("batch subscriber bug")

    heard, heard_batches = [], []
    with (
        subscribed(ParcelPacked, broken),
        subscribed(ParcelPacked, heard.append),
        subscribed(ParcelPacked, broken_batch, batch=True),
        subscribed(ParcelPacked, heard_batches.append, batch=True),
        caplog.at_level(logging.ERROR, logger="groupbuy.events"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        events.publish(ParcelPacked(parcel_id=9))

    assert heard == [ParcelPacked(parcel_id=9)]
    assert heard_batches == [[ParcelPacked(parcel_id=9)]]
    failures = [record for record in caplog.records if record.name == "groupbuy.events"]
    assert len(failures) == 2
    assert all("failed for test.parcel_packed" in record.getMessage() for record in failures)
    assert [str(record.exc_info[1]) for record in failures] == ["subscriber bug", "batch subscriber bug"]


# --- only declared events ----------------------------------------------------------------------------------------


class Undeclared(events.DomainEvent):
    """A DomainEvent subclass never passed through ``@events.event``."""


@pytest.mark.django_db
@pytest.mark.parametrize(
    "thing",
    [
        pytest.param(object(), id="plain-object"),
        pytest.param({"name": "test.parcel_packed", "parcel_id": 1}, id="dict"),
        pytest.param(Undeclared(), id="undeclared-subclass"),
    ],
)
def test_publishing_something_that_is_not_a_declared_event_raises_and_schedules_nothing(
    thing, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(TypeError):
            events.publish(thing)
        with pytest.raises(TypeError):
            events.publish_many([ParcelPacked(parcel_id=1), thing])

    assert callbacks == []


@pytest.mark.parametrize(
    "topic",
    [
        pytest.param("test.parcel_packed", id="bare-string"),
        pytest.param(Undeclared, id="undeclared-class"),
        pytest.param(dict, id="not-an-event"),
    ],
)
@pytest.mark.parametrize("subscribe", [events.subscribe, events.subscribe_many], ids=["subscribe", "subscribe_many"])
def test_subscribing_to_anything_but_a_declared_class_or_all_raises(subscribe, topic):
    with pytest.raises(TypeError):
        subscribe(topic, print)


def test_declaring_a_second_class_under_a_taken_name_raises():
    @events.event("test.declared_once")
    class First(events.DomainEvent):
        pass

    try:
        with pytest.raises(ValueError, match="declared twice"):

            @events.event("test.declared_once")
            class Second(events.DomainEvent):
                pass

        assert events.registry["test.declared_once"] is First
    finally:
        events.registry.pop("test.declared_once", None)


def test_events_are_frozen_keyword_only_and_carry_their_payload():
    packed = ParcelPacked(parcel_id=1, note="fragile")

    with pytest.raises(TypeError):
        ParcelPacked(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        packed.parcel_id = 2
    assert (packed.name, packed.payload) == ("test.parcel_packed", {"parcel_id": 1, "note": "fragile"})
