"""jielong.join.after_join: events for created joins only, one broadcast per campaign, tier settling
when a join reached a tier; the after-join thread runs its batches in order and finishes on stop."""

import pytest

from groupbuy import events
from jielong import broadcast
from jielong import events as jielong_events
from jielong.join import after_join
from tests import factories as f

CREATED = {"ok": True, "created": True, "community": 5, "id": 11, "total_fen": 1590, "is_perk": True}


@pytest.fixture
def heard(monkeypatch):
    got = {"events": [], "broadcasts": [], "settled": []}

    def hear(event):
        got["events"].append(event)

    monkeypatch.setattr(broadcast, "snapshot_changed", lambda campaign_id: got["broadcasts"].append(campaign_id))
    monkeypatch.setattr(after_join, "settle_prices_later", lambda campaign_id: got["settled"].append(campaign_id))
    for topic in (jielong_events.OrderJoined, jielong_events.GroupFormed):
        events.subscribe(topic, hear)
    yield got
    for topic in (jielong_events.OrderJoined, jielong_events.GroupFormed):
        events.unsubscribe(topic, hear)


@pytest.mark.django_db
def test_only_created_joins_are_told_and_a_reached_tier_is_settled(heard, django_capture_on_commit_callbacks):
    outcomes = [
        CREATED,
        CREATED | {"created": False, "id": 12},  # a retry: its order was told the first time
        {"ok": False, "code": "sold_out"},
        CREATED | {"id": 13, "formed": True, "joined": 3, "settle": True},
    ]

    users = [f.member().pk for _ in range(4)]
    with django_capture_on_commit_callbacks(execute=True):
        after_join.after_join(7, user_ids=users, outcomes=outcomes)

    assert [(type(e).__name__, getattr(e, "order_id", None), e.user_id if hasattr(e, "user_id") else None)
            for e in heard["events"]] == [
        ("OrderJoined", 11, users[0]),
        ("OrderJoined", 13, users[3]),
        ("GroupFormed", None, None),
    ]  # fmt: skip
    assert heard["broadcasts"] == [7]
    assert heard["settled"] == [7]


@pytest.mark.django_db
def test_nothing_to_settle_when_no_tier_was_reached(heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        after_join.after_join(7, user_ids=[f.member().pk], outcomes=[CREATED])

    assert heard["settled"] == []
    assert heard["broadcasts"] == [7]


def test_the_after_join_thread_runs_batches_in_order_and_finishes_on_stop(monkeypatch):
    done = []
    monkeypatch.setattr(after_join, "run_after_joins", lambda work: done.append(sorted(work)))

    thread = after_join.AfterJoinThread()
    for batch in ({1: []}, {2: [], 3: []}, {4: []}):
        thread.queue.put(batch)
    thread.stop()

    assert done == [[1], [2, 3], [4]]
    assert not thread.thread.is_alive()
