"""The referred new customers per day (``bi.models.ReferredNewCustomersAll``, 裂变新客占比's numerator on a board of
every community): the triggers on the customers' first days (the stream's fold) and on the referred members (the
referral triggers) keep it equal to counting the customers among the referred members by first day — through the
fold's late events, the referral writers, bulk writes, truncates, and when both writers move one customer at the
same moment (PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection

from bi import rollups
from bi.metrics import METRICS, Figure
from bi.models import ReferredMember, ReferredNewCustomersAll, RollupCustomerAll
from bi.scope import Scope
from groupbuy import clock
from groupbuy.stream.models import Event
from livestream.models import WatchRecord
from tests import factories as f
from tests.concurrency import held_writes
from tests.migrations import migrated_back

from .stream_data import CUSTOMERS, generate

NOW = clock.now().replace(microsecond=0) - timedelta(days=3)
settle0 = timedelta(0)


@pytest.fixture
def pinned():
    with time_machine.travel(NOW, tick=False):
        yield


def days_ago(n: int) -> date:
    return clock.localdate() - timedelta(days=n)


def agrees() -> dict[date, int]:
    stored = rollups.stored_referred_new()
    assert stored == rollups.referred_new_of_stored()
    return stored


def refer(*user_ids: int) -> None:
    ReferredMember.objects.bulk_create([ReferredMember(user_id=u) for u in user_ids])


def _joined(at, order_id, user_id, community_id=11) -> Event:
    return Event(
        name=rollups.JOINED, occurred_at=at, received_at=at, properties={}, order_id=order_id, campaign_id=7,
        community_id=community_id, user_id=user_id, amount_fen=100,
    )  # fmt: skip


@pytest.mark.django_db
def test_the_fold_and_the_referred_members_keep_the_days_equal_to_the_recount(pinned):
    first, second = generate(clock.now())
    Event.objects.bulk_create(first)
    refer(*CUSTOMERS[:20])  # referred before they are customers
    rollups.catch_up(settle=settle0)
    before = agrees()
    assert 0 < sum(before.values()) <= 20
    assert ReferredNewCustomersAll.objects.count() == len(before)  # one row per day after the fold's compaction

    Event.objects.bulk_create(second)  # late orders move some first days earlier; cancellations move others later
    refer(*CUSTOMERS[40:50])
    rollups.catch_up(settle=settle0, span=37)
    after = agrees()
    assert after != before and sum(after.values()) > sum(before.values())
    assert ReferredNewCustomersAll.objects.count() == len(after)

    ReferredMember.objects.filter(user_id__in=CUSTOMERS[:10]).delete()  # no longer referred
    ReferredMember.objects.filter(user_id=CUSTOMERS[45]).update(user_id=CUSTOMERS[55])  # (any writer)
    assert agrees() == rollups.referred_new_of_stored()

    # A customer's first order, placed long before all the others, moves their first day (an update of the row),
    # and a new customer arrives (an insert).
    early = clock.now() - timedelta(days=60)
    Event.objects.bulk_create([_joined(early, 8000, CUSTOMERS[12]), _joined(early, 8001, 4242)])
    refer(4242)
    rollups.catch_up(settle=settle0)
    days = agrees()
    assert days[rollups.local_day(early)] == 2

    # The whole fold again: the rows go (a delete) and come back.
    rollups.rebuild()
    assert agrees() == days


@pytest.mark.django_db
def test_the_tile_of_every_community_sums_the_periods_days(pinned, settings):
    settings.BI_ROLLUPS = True
    first, _second = generate(clock.now())
    Event.objects.bulk_create(first)
    refer(*CUSTOMERS[::3])
    rollups.catch_up(settle=settle0)
    until = clock.localdate()
    for days in (7, 30, 365):
        scope = Scope(until - timedelta(days=days - 1), until, None, (), False, "", {})
        new = RollupCustomerAll.objects.filter(first_day__gte=scope.since, first_day__lte=scope.until)
        referred = new.filter(user_id__in=CUSTOMERS[::3]).count()
        assert METRICS["referral_share"].compute(scope) == Figure(
            referred / new.count() if new.count() else None, referred, new.count()
        )


@pytest.mark.django_db
def test_a_member_referred_through_a_membership_and_an_inviters_watch_counts_on_their_first_day(pinned):
    inviter, invitee = f.member(), f.member()
    home = f.community()
    at = clock.now() - timedelta(days=2)
    Event.objects.bulk_create([_joined(at, 8100, invitee.pk, home.pk)])
    rollups.catch_up(settle=settle0)
    assert agrees() == {}
    f.membership(user=invitee, community=home, invited_by=inviter)
    now = clock.now()
    record = WatchRecord.objects.create(session=f.live_session(), user=inviter, first_seen_at=now, last_seen_at=now)
    assert agrees() == {rollups.local_day(at): 1}  # the inviter's first watch brings the customer in
    record.delete()
    assert agrees() == {}


@pytest.mark.django_db
def test_a_truncate_of_either_table_empties_the_days(pinned):
    RollupCustomerAll.objects.bulk_create([RollupCustomerAll(user_id=u, first_day=days_ago(u)) for u in (1, 2)])
    refer(1, 2)
    assert agrees() == {days_ago(1): 1, days_ago(2): 1}
    for table in (RollupCustomerAll, ReferredMember):
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table._meta.db_table}")
        assert agrees() == {}
        RollupCustomerAll.objects.get_or_create(user_id=1, first_day=days_ago(1))
        ReferredMember.objects.get_or_create(user_id=1)
        assert agrees() == {days_ago(1): 1}


@pytest.mark.django_db
def test_one_statement_may_move_more_customers_than_the_lock_table_holds(pinned):
    """The triggers lock a bucket of customers (migration 0012), not each one: with a key per customer, 20,000 in one
    statement ran out of PostgreSQL's shared lock table ("out of shared memory")."""
    users = range(1, 20_001)
    RollupCustomerAll.objects.bulk_create(
        [RollupCustomerAll(user_id=u, first_day=days_ago(u % 7)) for u in users], batch_size=len(users)
    )
    ReferredMember.objects.bulk_create([ReferredMember(user_id=u) for u in users], batch_size=len(users))
    assert sum(agrees().values()) == len(users)


PAIRS = 6


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fold_first", [True, False])
def test_the_fold_and_a_referral_moving_one_customer_at_the_same_moment(fold_first):
    """Each pair: one transaction writes a customer's first day as the fold does (a new customer, or a first day
    moved), another makes them referred or not (as the referral triggers do); each holds its write a moment before
    committing. Neither sees the other's row when it writes — without the advisory locks the count would be lost or
    doubled — and the days end equal to the recount."""
    day, earlier = days_ago(10), days_ago(18)
    users = list(range(7000, 7000 + PAIRS))
    moved = users[1::2]  # customers already, referred; the fold moves their first day while they stop being referred
    RollupCustomerAll.objects.bulk_create([RollupCustomerAll(user_id=u, first_day=day) for u in moved])
    refer(*moved)
    writes = []
    for u in users:
        if u in moved:
            fold = lambda u=u: RollupCustomerAll.objects.filter(user_id=u).update(first_day=earlier)  # noqa: E731
            referral = lambda u=u: ReferredMember.objects.filter(user_id=u).delete()  # noqa: E731
        else:
            fold = lambda u=u: RollupCustomerAll.objects.create(user_id=u, first_day=day)  # noqa: E731
            referral = lambda u=u: ReferredMember.objects.create(user_id=u)  # noqa: E731
        writes += [(fold, 0 if fold_first else 0.1), (referral, 0.1 if fold_first else 0)]
    held_writes(writes)
    assert agrees() == {day: PAIRS - len(moved)}


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_days_from_the_customers_and_referred_members_already_there():
    with migrated_back("bi", "0009_referred_members"):
        RollupCustomerAll.objects.bulk_create([RollupCustomerAll(user_id=u, first_day=days_ago(30)) for u in (1, 2)])
        refer(2)
    assert agrees() == {days_ago(30): 1}
