"""The live joiners (``bi.models.LiveJoiner``, 直播观看→接龙's numerator when the rollups are read): the stream's fold
keeps each (session, member)'s orders that count equal to recounting them from the raw stream — through late
openings, a jielong moved to another live, cancellations and failures — and the watch-record triggers keep
``watched`` equal to whether a watch record exists, also when the fold and a first watch write one pair at the same
moment (PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bi import rollups
from bi.metrics import METRICS
from bi.metrics.base import live_joiner_count
from bi.models import LiveJoiner, RollupCampaign, RollupOrder
from bi.scope import Scope
from groupbuy import clock
from groupbuy.stream.models import Event
from livestream.models import WatchRecord
from tests import factories as f
from tests.concurrency import held_writes
from tests.migrations import migrated_back

from .stream_data import generate

settle0 = timedelta(0)


def _event(name: str, **fields) -> Event:
    at = clock.now() - timedelta(hours=1)
    return Event(name=name, occurred_at=at, received_at=at, properties={}, **fields)


def _opened(campaign_id: int, session_id: int | None) -> Event:
    return _event(rollups.OPENED, campaign_id=campaign_id, live_session_id=session_id)


def _joined(order_id: int, campaign_id: int, user_id: int) -> Event:
    return _event(
        rollups.JOINED, order_id=order_id, campaign_id=campaign_id, user_id=user_id, community_id=11, amount_fen=100
    )


def agrees() -> dict[tuple[int, int], int]:
    stored = rollups.stored_live_joiners()
    assert stored == rollups.recompute_live_joiners()
    assert rollups.live_joiners_watched_wrongly() == []
    return stored


def _watch(session, user) -> WatchRecord:
    at = clock.now()
    return WatchRecord.objects.create(session=session, user=user, first_seen_at=at, last_seen_at=at)


@pytest.mark.django_db
def test_the_fold_keeps_the_orders_equal_to_the_recount_through_late_openings_and_moves(pinned):
    first, second = generate(clock.now())
    Event.objects.bulk_create(first)
    rollups.catch_up(settle=settle0)
    assert {s for s, _u in agrees()} == {501, 502}
    folded_105 = RollupOrder.objects.filter(campaign_id=105, is_joined=True, is_cancelled=False).count()
    assert folded_105  # a jielong no live launched, with orders folded already
    # Second wave: more orders, cancellations and a failed jielong; then 105 turns out to be 503's, and 101 moves to
    # 502, after their orders were written.
    Event.objects.bulk_create([*second, _opened(105, 503), _opened(101, 502)])
    rollups.catch_up(settle=settle0)
    stored = agrees()
    assert (
        sum(n for (s, _u), n in stored.items() if s == 503)
        == RollupOrder.objects.filter(campaign_id=105, is_joined=True, is_cancelled=False).count()
    )
    assert RollupCampaign.objects.get(pk=101).live_session_id == 502
    rollups.rebuild()
    assert rollups.stored_live_joiners() == stored


@pytest.mark.django_db
def test_watched_follows_the_watch_records_before_and_after_the_fold(pinned, settings):
    settings.BI_ROLLUPS = True
    session, other = f.live_session(), f.live_session()
    a, b, c = f.member(), f.member(), f.member()
    _watch(session, a)
    _watch(other, c)  # another live: not this one's viewer
    Event.objects.bulk_create(
        [_opened(7, session.pk), *(_joined(n, 7, u.pk) for n, u in enumerate((a, b, c), start=1))]
    )
    scope = Scope(clock.localdate(), clock.localdate(), None, (session.pk,), True, "", {})
    assert live_joiner_count(scope) == 1  # the tail: a's order, and a watched
    rollups.catch_up(settle=settle0)
    assert agrees() == {(session.pk, u.pk): 1 for u in (a, b, c)}
    assert set(LiveJoiner.objects.filter(watched=True).values_list("user_id", flat=True)) == {a.pk}
    _watch(session, b)  # b watches after ordering
    WatchRecord.objects.filter(session=session, user=a).delete()  # a's record gone (an erasure)
    agrees()
    assert live_joiner_count(scope) == 1
    assert set(LiveJoiner.objects.filter(watched=True).values_list("user_id", flat=True)) == {b.pk}
    WatchRecord.objects.filter(session=other).update(session=session)  # c's record moved to this live
    agrees()
    assert live_joiner_count(scope) == 2
    WatchRecord.objects.all().delete()
    assert live_joiner_count(scope) == 0
    assert rollups.live_joiners_watched_wrongly() == []


@pytest.mark.django_db
def test_the_tile_counts_the_unfolded_tail_as_the_fold_will(pinned, settings):
    settings.BI_ROLLUPS = True
    session = f.live_session()
    a, b, c = f.member(), f.member(), f.member()
    for user in (a, b, c):
        _watch(session, user)
    Event.objects.bulk_create([_opened(7, session.pk), _joined(1, 7, a.pk), _joined(2, 7, b.pk)])
    rollups.catch_up(settle=settle0)
    scope = Scope(clock.localdate(), clock.localdate(), None, (session.pk,), True, "", {})
    assert live_joiner_count(scope) == 2
    # Not folded yet: b cancels, c joins twice and cancels one; a second jielong of the live fails.
    Event.objects.bulk_create(
        [
            _event(rollups.CANCELLED, order_id=2, campaign_id=7),
            _joined(3, 7, c.pk),
            _joined(4, 7, c.pk),
            _event(rollups.CANCELLED, order_id=3, campaign_id=7),
            _opened(8, session.pk),
            _joined(5, 8, b.pk),
            _event(rollups.FAILED, campaign_id=8),
        ]
    )
    with_tail = live_joiner_count(scope)
    assert with_tail == 2  # a and c
    rollups.catch_up(settle=settle0)
    assert live_joiner_count(scope) == with_tail
    agrees()
    figure = METRICS["viewer_to_joiner"].compute(scope)
    assert (figure.numerator, figure.denominator) == (2, 3)


PAIRS = 6


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fold_first", [True, False])
def test_the_fold_and_a_first_watch_of_one_pair_at_the_same_moment(fold_first):
    """Each member: one transaction adds their order as the fold does, another writes their first watch record of
    the live; each holds its write a moment before committing. Neither sees the other's row when it writes —
    without the advisory locks ``watched`` would stay false — and every row ends watched."""
    session = f.live_session()
    users = [f.member() for _ in range(PAIRS)]
    writes = []
    for user in users:
        fold = lambda u=user: rollups._write_live_joiners({(session.pk, u.pk): 1})  # noqa: E731
        watch = lambda u=user: _watch(session, u)  # noqa: E731
        writes += [(fold, 0 if fold_first else 0.1), (watch, 0.1 if fold_first else 0)]
    held_writes(writes)
    assert LiveJoiner.objects.filter(watched=True).count() == PAIRS
    assert rollups.live_joiners_watched_wrongly() == []


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_rows_from_the_folded_orders_and_the_watch_records():
    session = f.live_session()
    a, b = f.member(), f.member()
    with migrated_back("bi", "0011_member_aims_latest"):
        RollupCampaign.objects.bulk_create(
            [RollupCampaign(campaign_id=7, live_session_id=session.pk), RollupCampaign(campaign_id=8)]
        )
        day = clock.localdate()
        RollupOrder.objects.bulk_create(
            [
                RollupOrder(order_id=1, campaign_id=7, user_id=a.pk, day=day, is_joined=True),
                RollupOrder(order_id=2, campaign_id=7, user_id=a.pk, day=day, is_joined=True),
                RollupOrder(order_id=3, campaign_id=7, user_id=b.pk, day=day, is_joined=True, is_cancelled=True),
                RollupOrder(order_id=4, campaign_id=8, user_id=b.pk, day=day, is_joined=True),  # not a live's
            ]
        )
        _watch(session, a)
    assert list(LiveJoiner.objects.values_list("session_id", "user_id", "orders", "watched")) == [
        (session.pk, a.pk, 2, True)
    ]
