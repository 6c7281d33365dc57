"""The stream exported by day as JSONEachRow, read by embedded ClickHouse (chdb): the stream-backed tiles as
ClickHouse SQL give PostgreSQL's figures (the rollups' path) over the same data."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command

from bi import clickhouse, rollups, stream_export
from bi.metrics import METRICS
from groupbuy import clock
from groupbuy.stream.models import Event

from .stream_data import generate
from .test_rollups import NOW, SCOPES, _scope

pytestmark = pytest.mark.django_db
chdb_session = pytest.importorskip("chdb.session")


@pytest.fixture(scope="module")
def chdb():
    session = chdb_session.Session()  # importing chdb and starting it is slow: one per module
    yield session
    session.close()


def test_export_partitions_by_day_and_clickhouse_gives_postgresqls_figures(chdb, settings, tmp_path):
    settings.BI_ROLLUPS = True
    with time_machine.travel(NOW, tick=False):
        first, second = generate(clock.now())
        # The builder took a live's jielong off every live, and gave another jielong to a live.
        at = clock.now() - timedelta(days=1)
        second += [
            Event(name=rollups.CHANGED, occurred_at=at, received_at=at, properties={}, campaign_id=104),
            Event(
                name=rollups.CHANGED,
                occurred_at=at,
                received_at=at,
                properties={},
                campaign_id=106,
                live_session_id=501,
            ),
        ]
        Event.objects.bulk_create(first + second)
        rollups.catch_up(settle=timedelta(0))
        call_command("stream_export", "--out", str(tmp_path))

        days = sorted(p.name for p in tmp_path.iterdir())
        expected_days = sorted({f"day={clock.localtime(e.occurred_at).date().isoformat()}" for e in first + second})
        assert days == expected_days
        lines = [json.loads(line) for d in days for line in (tmp_path / d / "events.jsonl").read_text().splitlines()]
        assert len(lines) == len(first) + len(second)
        assert {tuple(line) for line in lines} == {stream_export.COLUMNS}
        sample = next(line for line in lines if line["name"] == "feedback.nps_answered")
        assert "score" in json.loads(sample["properties"])

        clickhouse.load(chdb, str(tmp_path), table="events_test")
        rows = chdb.query("SELECT count(), uniqExact(toDate(occurred_at, 'Asia/Shanghai')) FROM events_test", "CSV")
        assert rows.bytes().decode().strip() == f"{len(lines)},{len(days)}"
        for name, picked in SCOPES.items():
            scope = _scope(**picked)
            ours = {key: METRICS[key].compute(scope) for key in clickhouse.TILES}
            theirs = clickhouse.figures(chdb, scope, table="events_test")
            assert theirs == ours, name
        chdb.query("DROP TABLE events_test")


def test_export_refuses_a_reversed_period(tmp_path):
    with pytest.raises(Exception, match="nothing was exported"):
        call_command("stream_export", "--out", str(tmp_path), "--since", "2026-05-02", "--until", "2026-05-01")
    assert list(tmp_path.iterdir()) == []
