"""The periodic sweeps that read parcels across days by a state's time find them through a partial index, not
by reading every parcel ever delivered (a year at 100k orders a day is ~36M rows, read every 10 minutes).

Each sweep runs for real; its parcel query, as it was sent, is then planned with sequential scans priced out
(a test table is small enough that PostgreSQL would rightly scan it): the plan must use the sweep's index."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from fission.commissions import commissions_catch_up
from fulfillment.pickup import parcels_mark_uncollected

pytestmark = pytest.mark.django_db


def _parcel_query(run, marker: str) -> str:
    with CaptureQueriesContext(connection) as captured:
        run()
    queries = [q["sql"] for q in captured.captured_queries if '"fulfillment_parcel"' in q["sql"] and marker in q["sql"]]
    assert queries, f"the sweep sent no parcel query with {marker}"
    return queries[0]


def _plan(sql: str) -> str:
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cur.fetchall())


def test_the_uncollected_sweep_reads_the_waiting_parcels_by_their_index():
    sql = _parcel_query(parcels_mark_uncollected, '"at_pickup_at" <=')
    assert "parcel_waiting_since" in _plan(sql)


def test_the_commissions_catch_up_reads_the_fortnights_pickups_by_their_index():
    sql = _parcel_query(commissions_catch_up, '"picked_up_at" >=')
    assert "parcel_picked_up_at" in _plan(sql)
