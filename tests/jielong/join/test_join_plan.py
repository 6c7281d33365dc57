"""The join function's reads do not grow with the campaign: a request's earlier order (its idempotency key,
or the member's live order) is found by a unique-index probe under any plan PL/pgSQL caches.

Version 3 of ``jielong_join`` asked for either order in one OR, which a generic plan (what PL/pgSQL caches
after five calls) cannot serve from the two partial unique indexes: every join read the campaign's orders. The
transaction's own counters (``pg_stat_get_xact_tuples_returned``: rows a scan of the table, or entries a scan
of one of its indexes, gave back) tell a scan from a probe without timing anything."""

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from jielong.join import sql
from tests import factories as f

pytestmark = pytest.mark.django_db

EARLIER = 150  # orders already in the campaign
CANCELLED = 5000  # and cancelled entries: a table of some pages, where a scan costs more than a probe
LATER = 10  # joins whose reads are counted


def _orders_read() -> int:
    """Rows of jielong_order, and entries of its indexes, the current transaction's scans have read so far
    (a table's own counters count only its sequential and bitmap scans; an index scan counts on its index)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT pg_stat_get_xact_tuples_returned(t) + pg_stat_get_xact_tuples_fetched(t)
                      + (SELECT sum(pg_stat_get_xact_tuples_returned(indexrelid)) FROM pg_index WHERE indrelid = t)
               FROM (SELECT 'jielong_order'::regclass::oid AS t) AS target"""
        )
        return cursor.fetchone()[0]


def _requests(given, users, prefix):
    return [
        sql.JoinRequest(user_id=u.pk, items=((given.item.pk, 1),), idempotency_key=f"{prefix}-{u.pk}") for u in users
    ]


@pytest.mark.parametrize("plan", ["force_generic_plan", "force_custom_plan"])
def test_a_join_reads_a_handful_of_orders_however_many_the_campaign_holds(plan):
    if connection.vendor != "postgresql":
        pytest.skip("the join function runs on PostgreSQL")
    given = f.open_campaign(members=EARLIER + LATER, stock=1000, perk_limit=1, threshold=2)
    earlier, later = given.members[:EARLIER], given.members[EARLIER:]
    sql.run_joins(campaign_id=given.campaign.pk, requests=_requests(given, earlier, "a"))
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO jielong_order (campaign_id, user_id, community_id, seq, status, payment_status, is_perk,
                                          total_fen, note, leader_note, refunded_fen, idempotency_key, created_at,
                                          updated_at)
               SELECT campaign_id, user_id, community_id, 1000 + g, 'cancelled', 'unpaid', false, 100, '', '', 0,
                      '', created_at, created_at
               FROM jielong_order, generate_series(1, %s) AS g WHERE campaign_id = %s AND seq = 1""",
            [CANCELLED, given.campaign.pk],
        )
        # What autovacuum does as the table fills. Without statistics every index of a small table costs the
        # same, and which one a plan takes is a coin toss (this machine's PostgreSQL runs without autovacuum:
        # README, "Join benchmark").
        cursor.execute("ANALYZE jielong_order")
        # Its plan invalidation reaches this session at commit, which a test's transaction never reaches: the
        # plans that earlier tests cached while the table was nearly empty go now instead.
        cursor.execute("DISCARD PLANS")

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL plan_cache_mode = {plan}")
        before = _orders_read()
        joined = sql.run_joins(campaign_id=given.campaign.pk, requests=_requests(given, later, "b"))
        retried = sql.run_joins(campaign_id=given.campaign.pk, requests=_requests(given, later[:3], "b"))
        again = sql.run_joins(campaign_id=given.campaign.pk, requests=_requests(given, later[:3], "c"))
        read = _orders_read() - before

    assert [o["created"] for o in joined] == [True] * LATER
    assert [(o["ok"], o["created"], o["id"]) for o in retried] == [(True, False, o["id"]) for o in joined[:3]]
    assert [o["code"] for o in again] == ["already_joined"] * 3
    # 16 requests: a probe or two each, never the campaign's 5,150 entries.
    assert read <= 2 * (LATER + 3 + 3)


def _function_source() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'jielong_join'")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_migration_0017_installs_version_4_and_going_back_restores_version_3():
    if connection.vendor != "postgresql":
        pytest.skip("the join function runs on PostgreSQL")

    def migrate(targets):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)

    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    probe = "idempotency_key = v_key AND idempotency_key <> ''"
    assert probe in _function_source()
    try:
        migrate([("jielong", "0016_order_perk_places")])
        assert probe not in _function_source() and "One lookup finds either." in _function_source()
    finally:
        migrate(leaves)
    assert probe in _function_source()
