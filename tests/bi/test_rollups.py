"""The stream's rollups (bi.rollups): incremental == recomputed from the raw stream, whatever the order events
come in; idempotent; rebuilt by one command; the tiles read them (and the stream after the cursor)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from bi import rollups
from bi.metrics import METRICS, Figure
from bi.models import RollupCampaign, RollupCustomer, RollupDay, RollupDayAll
from bi.scope import Scope
from groupbuy import clock
from groupbuy.stream.models import Cursor, Event
from tests.migrations import migrated_back

from .stream_data import COMMUNITIES, generate

pytestmark = pytest.mark.django_db

NOW = clock.now().replace(microsecond=0) - timedelta(days=3)
settle0 = timedelta(0)


def _scope(*, days=30, communities=None, sessions=(), picked=False) -> Scope:
    until = clock.localdate()
    return Scope(until - timedelta(days=days - 1), until, communities, tuple(sessions), picked, "", {})


SCOPES = {
    "30 days, all": dict(days=30),
    "7 days, all": dict(days=7),
    "30 days, one community": dict(communities=(COMMUNITIES[0],)),
    "30 days, two communities": dict(communities=COMMUNITIES[1:]),
    "session 501": dict(sessions=(501,), picked=True),
    "both sessions, one community": dict(sessions=(501, 502), picked=True, communities=(COMMUNITIES[2],)),
}
TILES = ("gmv_gross", "gmv_net", "average_order_value", "aov_live_lift", "nps", "pickup_rate", "referral_share")
LTV_TILES = ("lifetime_value", "ltv_change")


@pytest.fixture
def pinned():
    with time_machine.travel(NOW, tick=False):
        yield


def _write(rows):
    Event.objects.bulk_create(rows)


def test_rollup_equals_recomputation_with_late_and_out_of_order_events(pinned):
    first, second = generate(clock.now())
    _write(first)
    assert rollups.catch_up(settle=settle0) == len(first)
    assert rollups.stored() == rollups.recompute()  # after the first wave

    _write(second)  # late refunds about old days, cancellations after their join was folded, a failed jielong
    assert rollups.catch_up(settle=settle0, span=37) == len(second)  # small transactions: many cursor moves
    stored = rollups.stored()
    assert stored == rollups.recompute()
    assert rollups.stored_all() == rollups.over_communities(stored)  # the all-communities table
    live = set(RollupCampaign.objects.filter(live_session_id__isnull=False).values_list("pk", flat=True))
    assert live == {101, 102, 103, 104}
    for model in (RollupDay, RollupDayAll):
        assert {(c, is_live) for c, is_live in model.objects.values_list("campaign_id", "is_live")} == {
            (c, c in live) for c in model.objects.values_list("campaign_id", flat=True)
        }
    assert sum(v[0] for v in stored.values()) > 50 and sum(v[2] for v in stored.values()) > 0
    assert sum(v[3] for v in stored.values()) > 10
    assert not any(key[2] == 112 and values[0] for key, values in stored.items())  # the failed jielong
    # LTV's facts: each customer's first day per community and the new customers per day, as recomputed; the
    # refunds by the day they were paid add up to the refunds of the orders that count.
    firsts = rollups.recompute_customers()
    assert rollups.stored_customers() == firsts
    assert rollups.stored_new_customers() == rollups.new_customers_of(firsts)
    assert len({u for u, _c in firsts}) < len(firsts)  # customers of more than one community
    assert sum(v[6] for v in stored.values()) == sum(v[2] for v in stored.values()) > 0
    assert any(v[6] and not v[0] for v in stored.values())  # a refund paid on a day without orders of its own
    # 取货率's facts: parcels that reached the point (moved in batches), and of them the ones picked up.
    assert sum(v[7] for v in stored.values()) > sum(v[8] for v in stored.values()) > 20
    assert all(v[7] <= v[0] and v[8] <= v[7] for v in stored.values())


def _order_event(name, at, order_id, **fields):
    return Event(
        name=name, occurred_at=at, received_at=at, properties=fields.pop("properties", {}), order_id=order_id, **fields
    )


def test_a_parcel_counts_at_the_point_once_moved_there_and_picked_up_by_the_latest_row(pinned):
    """An order's parcel: a step before the point does not count; 核销 counts it picked up, its undoing puts it back
    at the point, 超时未取 keeps it there; rows about it before its join wait for the join; a cancelled order's parcel
    does not count."""
    at = clock.now() - timedelta(days=1)
    day = rollups.local_day(at)

    def joined(order_id):
        return _order_event(
            "jielong.order_joined", at, order_id, campaign_id=7, community_id=11, user_id=order_id, amount_fen=100
        )

    def moved(state, *order_ids):
        return _order_event(rollups.MOVED, at, None, properties={"state": state, "order_ids": list(order_ids)})

    def parcels():
        rollups.catch_up(settle=settle0)
        row = RollupDay.objects.get(day=day, community_id=11, campaign_id=7)
        return row.parcels_at_point, row.parcels_picked_up

    _write([moved("at_pickup", 1), joined(1), joined(2), joined(3), moved("shipped", 2, 3)])  # order 1's move first
    assert parcels() == (1, 0)
    _write([moved("at_pickup", 2, 3), _order_event(rollups.PICKED_UP, at, 1), _order_event(rollups.PICKED_UP, at, 2)])
    assert parcels() == (3, 2)
    _write([_order_event(rollups.UNDONE, at, 2), _order_event(rollups.UNCOLLECTED, at, 3)])
    assert parcels() == (3, 1)
    _write([_order_event(rollups.CANCELLED, at, 3, campaign_id=7)])
    assert parcels() == (2, 1)
    assert rollups.matches_recomputation()


def test_catch_up_twice_changes_nothing_and_unsettled_rows_wait(pinned):
    first, second = generate(clock.now())
    _write(first)
    rollups.catch_up(settle=settle0)
    before = rollups.stored()
    assert rollups.catch_up(settle=settle0) == 0
    assert rollups.stored() == before

    for row in second:
        row.received_at = clock.now()  # just received: not settled yet
    _write(second)
    assert rollups.catch_up() == 0
    assert rollups.stored() == before
    assert rollups.catch_up(now=clock.now() + timedelta(minutes=2)) == len(second)
    assert rollups.stored() == rollups.recompute()


def test_rebuild_command_gives_the_same_rollups(pinned):
    first, second = generate(clock.now())
    _write(first)
    rollups.catch_up(settle=settle0)
    _write(second)
    rollups.catch_up(settle=settle0)
    incremental = rollups.stored()
    RollupDay.objects.update(gross_fen=0)  # damaged
    call_command("rollups_rebuild")  # (no --check: this stream has no domain rows for the live queries)
    assert rollups.matches_recomputation()
    assert rollups.stored() == incremental
    assert rollups.stored_all() == rollups.over_communities(incremental)


@pytest.mark.parametrize("name", list(SCOPES))
def test_tiles_from_rollups_equal_the_recomputation_and_include_the_tail(pinned, settings, name):
    settings.BI_ROLLUPS = True
    first, second = generate(clock.now())
    _write(first)
    rollups.catch_up(settle=settle0)
    _write(second)  # not folded yet: the tiles add the stream after the cursor
    scope = _scope(**SCOPES[name])
    with_tail = {key: METRICS[key].compute(scope) for key in TILES}
    rollups.catch_up(settle=settle0)
    assert {key: METRICS[key].compute(scope) for key in TILES} == with_tail
    assert with_tail == _expected(scope)


def _expected(scope: Scope) -> dict:
    """The tiles by hand from the recomputed day rows (sessions' jielongs as the generator opened them)."""
    from bi.metrics.sales import FROM_SALES, lift_figure
    from bi.metrics.service import nps_figure

    live = {101: 501, 102: 501, 103: 502, 104: 502}
    rows = []
    for (day, community, campaign), values in rollups.recompute().items():
        if scope.session_picked:
            if live.get(campaign) not in scope.session_ids:
                continue
        elif not scope.since <= day <= scope.until:
            continue
        if scope.community_ids is not None and community not in scope.community_ids:
            continue
        rows.append((campaign, values))

    def sales(keep=lambda c: True):
        picked = [v for c, v in rows if keep(c)]
        return rollups.Sales(*(sum(v[i] for v in picked) for i in range(3)))

    figures = {key: FROM_SALES[key](sales()) for key in FROM_SALES}
    figures["aov_live_lift"] = lift_figure(sales(lambda c: c in live), sales(lambda c: c not in live))
    figures["nps"] = nps_figure(rollups.Answers(*(sum(v[i] for _c, v in rows) for i in range(3, 6))))
    at_point, picked_up = (sum(v[i] for _c, v in rows) for i in (7, 8))
    figures["pickup_rate"] = Figure(picked_up / at_point if at_point else None, picked_up, at_point)
    # 裂变新客占比 over every community and a period: customers whose first order anywhere is in it (no memberships
    # here, so nobody was referred); other boards read the (empty) orders table.
    new = 0
    if scope.community_ids is None and not scope.session_picked:
        firsts: dict[int, object] = {}
        for (user_id, _community), day in rollups.recompute_customers().items():
            firsts[user_id] = min(day, firsts.get(user_id, day))
        new = sum(scope.since <= day <= scope.until for day in firsts.values())
    figures["referral_share"] = Figure(0 / new if new else None, 0, new)
    return figures


@pytest.mark.parametrize("name", list(SCOPES))
def test_ltv_from_rollups_equals_the_recomputation_and_includes_the_tail(pinned, settings, name):
    """LTV and its change read the customers' first days and the refunds by the day paid; with a second wave not
    folded yet (cancelled first orders, late refunds, a failed jielong), the tail moves them as the fold will."""
    settings.BI_ROLLUPS = True
    first, second = generate(clock.now())
    _write(first)
    rollups.catch_up(settle=settle0)
    _write(second)
    scope = _scope(**SCOPES[name])
    with_tail = {key: METRICS[key].compute(scope) for key in LTV_TILES}
    rollups.catch_up(settle=settle0)
    assert {key: METRICS[key].compute(scope) for key in LTV_TILES} == with_tail
    assert with_tail == _expected_ltv(scope)
    assert with_tail["lifetime_value"].value


def _expected_ltv(scope: Scope) -> dict:
    """LTV at the period's start and end by hand: Σ amounts of the orders before the moment, less the refunds paid
    before it, over the customers whose first order in the scope's communities is before it."""
    from bi.metrics.sales import _ltv_figure

    days = rollups.recompute()
    firsts = rollups.recompute_customers()

    def at(end):
        rows = [v for (day, c, _j), v in days.items() if day < end and _in(scope, c)]
        net = sum(v[1] for v in rows) - sum(v[6] for v in rows)
        customers = {u for (u, c), day in firsts.items() if day < end and _in(scope, c)}
        return _ltv_figure(net, len(customers))

    start, end = at(scope.since), at(scope.until + timedelta(days=1))
    change = Figure(end.value / start.value - 1) if start.value and end.value is not None else Figure(None)
    return {"lifetime_value": end, "ltv_change": change}


def _in(scope: Scope, community_id: int) -> bool:
    return scope.community_ids is None or community_id in scope.community_ids


# What the fold of the version before each migration wrote: a day row without LTV facts, a customer without parcels.
_WRITTEN_BEFORE = {
    "0004_watch_facts": "INSERT INTO bi_rollup_day_all (day, campaign_id, is_live, orders, gross_fen, refund_fen,"
    " nps_answers, nps_promoters, nps_detractors) VALUES (%s, 101, false, 3, 900, 0, 0, 0, 0)",
    "0005_customer_facts": "INSERT INTO bi_rollup_customer (user_id, community_id, first_day) VALUES (7, 11, %s)",
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("before", list(_WRITTEN_BEFORE))
def test_migrations_0005_and_0006_empty_the_rollups_and_set_the_cursor_back_so_they_are_folded_again(pinned, before):
    first, _second = generate(clock.now())
    _write(first)
    with migrated_back("bi", before):
        with connection.cursor() as cursor:
            cursor.execute(_WRITTEN_BEFORE[before], [clock.localdate()])
        Cursor.objects.update_or_create(name=rollups.CURSOR, defaults={"position": 10**9})
    assert not RollupDayAll.objects.exists() and not RollupCustomer.objects.exists()
    assert rollups.position() == 0
    assert rollups.catch_up(settle=settle0) == len(first)
    assert rollups.matches_recomputation()


@pytest.mark.django_db(transaction=True)
def test_migration_0007_fills_each_customers_first_day_anywhere_from_their_first_days_per_community(pinned):
    today = clock.localdate()
    with migrated_back("bi", "0006_parcel_facts"), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bi_rollup_customer (user_id, community_id, first_day) VALUES (%s, %s, %s)",
            [(7, 11, today), (7, 12, today - timedelta(days=3)), (8, 11, today - timedelta(days=1))],
        )
    assert rollups.stored_customers_all() == {7: today - timedelta(days=3), 8: today - timedelta(days=1)}


def test_a_board_folds_the_unfolded_tail_once_for_all_its_tiles(pinned, settings):
    from django.test.utils import CaptureQueriesContext

    from bi.metrics import ROLLUP_TILES, figures

    settings.BI_ROLLUPS = True
    first, second = generate(clock.now())
    _write(first)
    rollups.catch_up(settle=settle0)
    _write(second)  # the tail
    scope = _scope(days=30)
    one_by_one = {key: METRICS[key].compute(scope) for key in ROLLUP_TILES}
    with CaptureQueriesContext(connection) as captured:
        together = figures(scope, ROLLUP_TILES)
    assert together == one_by_one
    tail_reads = [q for q in captured.captured_queries if 'FROM "stream_event"' in q["sql"]]
    assert len(tail_reads) == 1
