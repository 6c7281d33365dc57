"""fulfillment 0004: hand-out lines and load lines lose their surrogate id and are keyed by (hand-out, SKU) and
(day, point, SKU). Their rows survive, in place on PostgreSQL and through a rebuild on SQLite, and going back
gives them ids and their unique constraints again."""

import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from groupbuy import clock
from tests.migrations import migrate

BASE_DIR = Path(__file__).resolve().parents[2]
BEFORE = ("fulfillment", "0003_handout_day_index_dropped")
DAY = clock.localdate() + timedelta(days=1)  # the pinned clock's tomorrow

# handout_id, sku_id, quantity / delivery_date, pickup_point_id, sku_id, zone, route_id, quantity
HANDOUT_LINES = [(11, 1, 2), (11, 2, 1), (12, 1, 3)]
LOAD_LINES = [(DAY.isoformat(), 5, 1, "chilled", 7, 5), (DAY.isoformat(), 5, 2, "frozen", None, 1)]
INSERT_HANDOUT_LINE = "INSERT INTO fulfillment_handoutline (handout_id, sku_id, quantity) VALUES ({}, {}, {})"
INSERT_LOAD_LINE = (
    "INSERT INTO fulfillment_loadline (brand_id, delivery_date, pickup_point_id, sku_id, zone, route_id, quantity)"
    " VALUES (1, {}, {}, {}, {}, {}, {})"
)
READ_HANDOUT_LINES = "SELECT handout_id, sku_id, quantity FROM fulfillment_handoutline ORDER BY 1, 2"
READ_LOAD_LINES = (
    "SELECT delivery_date, pickup_point_id, sku_id, zone, route_id, quantity FROM fulfillment_loadline ORDER BY 2, 3"
)


def _insert_statements(mark) -> list[str]:
    statements = [INSERT_HANDOUT_LINE.format(*row) for row in HANDOUT_LINES]
    for day, point, sku, zone, route, quantity in LOAD_LINES:
        statements.append(INSERT_LOAD_LINE.format(mark(day), point, sku, mark(zone), route or "NULL", quantity))
    return statements


def _quoted(value: str) -> str:
    return f"'{value}'"


@pytest.mark.django_db(transaction=True)
def test_postgres_keeps_the_rows_and_goes_back():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        migrate([BEFORE])
        with connection.cursor() as cur:
            for statement in _insert_statements(_quoted):
                cur.execute(statement)

        migrate(leaves)
        with connection.cursor() as cur:
            cur.execute(READ_HANDOUT_LINES)
            assert cur.fetchall() == HANDOUT_LINES
            cur.execute(READ_LOAD_LINES)
            assert [(d.isoformat(), *rest) for d, *rest in cur.fetchall()] == LOAD_LINES
            assert _primary_key("fulfillment_handoutline") == ["handout_id", "sku_id"]
            assert _primary_key("fulfillment_loadline") == ["delivery_date", "pickup_point_id", "sku_id"]
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(INSERT_HANDOUT_LINE.format(11, 1, 9))  # the key holds what the unique constraint held

        migrate([BEFORE])
        with connection.cursor() as cur:
            cur.execute("SELECT count(DISTINCT id) FROM fulfillment_handoutline")
            assert cur.fetchone() == (3,)
            cur.execute(READ_HANDOUT_LINES)
            assert cur.fetchall() == HANDOUT_LINES
            assert _primary_key("fulfillment_loadline") == ["id"]
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(INSERT_LOAD_LINE.format(_quoted(DAY.isoformat()), 5, 1, "'dry'", 7, 1))
    finally:
        migrate(leaves)


def _primary_key(table: str) -> list[str]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT a.attname FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, n) ON true "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY k.n",
            [table],
        )
        return [row[0] for row in cur.fetchall()]


def _manage(data_dir: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(GROUPBUY_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="groupbuy.settings.local")
    done = subprocess.run(
        [sys.executable, "manage.py", *args, "-v", "0"], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_sqlite_rebuilds_the_tables_with_their_rows_and_goes_back(tmp_path):
    _manage(tmp_path, "migrate", *BEFORE)
    database = tmp_path / "groupbuy.sqlite3"
    with sqlite3.connect(database) as db:
        for statement in _insert_statements(_quoted):
            db.execute(statement)

    _manage(tmp_path, "migrate")
    with sqlite3.connect(database) as db:
        assert db.execute(READ_HANDOUT_LINES).fetchall() == HANDOUT_LINES
        assert db.execute(READ_LOAD_LINES).fetchall() == LOAD_LINES
        columns = [row[1] for row in db.execute("PRAGMA table_info(fulfillment_handoutline)")]
        assert "id" not in columns
        keyed = {row[1]: row[5] for row in db.execute("PRAGMA table_info(fulfillment_loadline)") if row[5]}
        assert keyed == {"delivery_date": 1, "pickup_point_id": 2, "sku_id": 3}
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(INSERT_HANDOUT_LINE.format(11, 1, 9))
        # The load lines' route index came through the rebuild.
        assert db.execute("SELECT 1 FROM sqlite_master WHERE name = 'load_line_day_route'").fetchone()

    _manage(tmp_path, "migrate", *BEFORE)
    with sqlite3.connect(database) as db:
        assert db.execute(READ_HANDOUT_LINES).fetchall() == HANDOUT_LINES
        assert db.execute("SELECT count(DISTINCT id) FROM fulfillment_loadline").fetchone() == (2,)
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(INSERT_LOAD_LINE.format(_quoted(DAY.isoformat()), 5, 1, "'dry'", 7, 1))
