"""The watch facts behind the live tiles (``bi.models.ViewerSessions``, ``bi.models.WatchTotal``), kept on
PostgreSQL by statement triggers on ``livestream_watchrecord`` in the transaction that writes the watch records
(the heartbeat's insert and update, bulk SQL, a member's erasure cascading, a truncate) and filled from the rows
already there. Transition tables: a statement of 100,000 rows is one grouped upsert, not 100,000.

A bit is set for a (session, member) pair inserted and cleared for one deleted: a watch record is unique per
pair, so a deleted one leaves no other. An update sets and clears the pairs it changed (none, for a heartbeat)
and moves the seconds by after − before. Upserts go in key order (two statements do not deadlock). Other
databases get the tables, empty and unused: the tiles read the watch records there.
"""

from django.db import migrations, models

import bi.models

PAIRS = "user_id, session_id / 1024 AS block, bit_or(bi_session_bit(session_id)) AS bits"
SET_BITS = """
    INSERT INTO bi_viewer_sessions (user_id, block, sessions)
    SELECT user_id, block, bits FROM (SELECT {pairs} FROM ({rows}) AS p GROUP BY 1, 2) AS g ORDER BY 1, 2
    ON CONFLICT (user_id, block) DO UPDATE SET sessions = bi_viewer_sessions.sessions | EXCLUDED.sessions;
"""
CLEAR_BITS = """
    UPDATE bi_viewer_sessions AS v SET sessions = v.sessions & ~g.bits
    FROM (SELECT {pairs} FROM ({rows}) AS p GROUP BY 1, 2) AS g
    WHERE v.user_id = g.user_id AND v.block = g.block;
"""
ADD_SECONDS = """
    INSERT INTO bi_watch_total (session_id, shard, records, seconds)
    SELECT session_id, shard, sum(records), sum(seconds) FROM ({rows}) AS d
    GROUP BY 1, 2 HAVING sum(records) <> 0 OR sum(seconds) <> 0 ORDER BY 1, 2
    ON CONFLICT (session_id, shard) DO UPDATE
    SET records = bi_watch_total.records + EXCLUDED.records, seconds = bi_watch_total.seconds + EXCLUDED.seconds;
"""
PLUS = "SELECT session_id, user_id % 8 AS shard, 1 AS records, seconds_watched::bigint AS seconds FROM added"
MINUS = "SELECT session_id, user_id % 8 AS shard, -1 AS records, -seconds_watched::bigint AS seconds FROM removed"


def _function(name: str, body: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{body}
    RETURN NULL;
END
$$;"""


PG_UP = (
    """
CREATE OR REPLACE FUNCTION bi_session_bit(session_id bigint) RETURNS bit(1024) LANGUAGE sql IMMUTABLE AS $$
    SELECT set_bit(repeat('0', 1024)::bit(1024), (session_id % 1024)::int, 1)::bit(1024)
$$;"""
    + _function(
        "bi_watch_facts_insert",
        SET_BITS.format(pairs=PAIRS, rows="SELECT session_id, user_id FROM added") + ADD_SECONDS.format(rows=PLUS),
    )
    + _function(
        "bi_watch_facts_delete",
        CLEAR_BITS.format(pairs=PAIRS, rows="SELECT session_id, user_id FROM removed") + ADD_SECONDS.format(rows=MINUS),
    )
    + _function(
        "bi_watch_facts_update",
        CLEAR_BITS.format(
            pairs=PAIRS,
            rows="SELECT session_id, user_id FROM removed EXCEPT SELECT session_id, user_id FROM added",
        )
        + SET_BITS.format(
            pairs=PAIRS,
            rows="SELECT session_id, user_id FROM added EXCEPT SELECT session_id, user_id FROM removed",
        )
        + ADD_SECONDS.format(rows=f"{PLUS} UNION ALL {MINUS}"),
    )
    + _function("bi_watch_facts_truncate", "    DELETE FROM bi_viewer_sessions;\n    DELETE FROM bi_watch_total;")
    + """
CREATE TRIGGER bi_watch_facts_insert AFTER INSERT ON livestream_watchrecord
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bi_watch_facts_insert();
CREATE TRIGGER bi_watch_facts_update AFTER UPDATE ON livestream_watchrecord
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bi_watch_facts_update();
CREATE TRIGGER bi_watch_facts_delete AFTER DELETE ON livestream_watchrecord
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION bi_watch_facts_delete();
CREATE TRIGGER bi_watch_facts_truncate AFTER TRUNCATE ON livestream_watchrecord
    FOR EACH STATEMENT EXECUTE FUNCTION bi_watch_facts_truncate();
"""
    + SET_BITS.format(pairs=PAIRS, rows="SELECT session_id, user_id FROM livestream_watchrecord")
    + ADD_SECONDS.format(
        rows="SELECT session_id, user_id % 8 AS shard, 1 AS records, seconds_watched::bigint AS seconds "
        "FROM livestream_watchrecord"
    )
)
PG_DOWN = (
    "".join(
        f"DROP TRIGGER IF EXISTS bi_watch_facts_{op} ON livestream_watchrecord;\n"
        f"DROP FUNCTION IF EXISTS bi_watch_facts_{op}();\n"
        for op in ("insert", "update", "delete", "truncate")
    )
    + "DROP FUNCTION IF EXISTS bi_session_bit(bigint);\n"
)


def _run(sql_by_vendor):
    def run(apps, schema_editor):
        sql = sql_by_vendor.get(schema_editor.connection.vendor)
        if sql:
            schema_editor.execute(sql, params=None)  # no placeholders: % is the modulo

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("bi", "0003_rollup_rows_know_live"),
        ("livestream", "0003_live_room"),
    ]

    operations = [
        migrations.CreateModel(
            name="ViewerSessions",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_id", models.BigIntegerField()),
                ("block", models.IntegerField()),
                ("sessions", bi.models.SessionBitsField()),
            ],
            options={
                "db_table": "bi_viewer_sessions",
                "constraints": [models.UniqueConstraint(fields=("user_id", "block"), name="bi_viewer_sessions_key")],
            },
        ),
        migrations.CreateModel(
            name="WatchTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("session_id", models.BigIntegerField()),
                ("shard", models.SmallIntegerField()),
                ("records", models.BigIntegerField(default=0)),
                ("seconds", models.BigIntegerField(default=0)),
            ],
            options={
                "db_table": "bi_watch_total",
                "constraints": [models.UniqueConstraint(fields=("session_id", "shard"), name="bi_watch_total_key")],
            },
        ),
        migrations.RunPython(_run({"postgresql": PG_UP}), _run({"postgresql": PG_DOWN})),
    ]
