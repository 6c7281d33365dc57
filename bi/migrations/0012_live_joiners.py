"""The live joiners behind 直播观看→接龙 (``bi.models.LiveJoiner``): per live session and member, the orders that count
in that session's jielongs (the stream's fold writes them, ``bi.rollups``) and whether the member watched it, kept
on PostgreSQL by statement triggers on ``livestream_watchrecord`` (a record added or deleted, its session or member
changed, a truncate); filled from the fold's facts and the watch records already there.

The fold adds a row with ``watched`` read from the watch records while a watch record of that pair may be
committing. Both writers first take a transaction-scoped advisory lock on the member's bucket (key ``(1411, user
id % 1024)``: at most 1,024 per fold batch, one per viewer), in order, so the later waits for the earlier's commit
and sees its rows. The watch triggers are named to fire before ``bi_watch_facts_*``: a watch statement takes its
1411 lock before the referral triggers' 1410 locks, as the fold does. Other databases get the table, empty and
unused: the tile reads the orders and watch records there. Migration 0010's referral triggers lock buckets too
(below).
"""

import importlib

from django.db import migrations, models

# Migration 0010's triggers locked one key per customer: a statement moving more customers than PostgreSQL's lock
# table holds (max_locks_per_transaction × connections, ~6,400 by default) failed with "out of shared memory" — a
# bulk load of watch records referring 130,000 members. They lock the customer's bucket now, as the fold does here.
_referred = importlib.import_module("bi.migrations.0010_referred_new_customers")
PER_CUSTOMER = "pg_advisory_xact_lock(1410, (u & 2147483647)::int) FROM (SELECT DISTINCT user_id AS u FROM"
PER_BUCKET = "pg_advisory_xact_lock(1410, b) FROM (SELECT DISTINCT (user_id % 1024)::int AS b FROM"


def _referred_functions(lock: str) -> str:
    found = "".join(_referred._function(name, *parts) for name, parts in _referred.FUNCTIONS.items())
    assert found.count(PER_CUSTOMER) == len(_referred.FUNCTIONS)
    return found.replace(PER_CUSTOMER, lock)


LOCK = (
    "    PERFORM pg_advisory_xact_lock(1411, b) FROM (SELECT DISTINCT (user_id % 1024)::int AS b FROM ({pairs}) AS p "
    "ORDER BY 1) AS l;\n"
)
# The (member, session, watched) pairs a statement moved: an insert's are watched, a delete's are not (a watch record
# is unique per pair); an update moves the pairs whose session or member changed (none, for a heartbeat).
PAIRS = {
    "insert": "SELECT user_id, session_id, TRUE AS watched FROM added",
    "delete": "SELECT user_id, session_id, FALSE AS watched FROM removed",
    "update": (
        "SELECT o.user_id, o.session_id, FALSE AS watched FROM removed AS o JOIN added AS n ON n.id = o.id "
        "WHERE (o.user_id, o.session_id) <> (n.user_id, n.session_id) "
        "UNION ALL SELECT n.user_id, n.session_id, TRUE FROM removed AS o JOIN added AS n ON n.id = o.id "
        "WHERE (o.user_id, o.session_id) <> (n.user_id, n.session_id)"
    ),
}


def _function(op: str, pairs: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION bi_live_joiner_watch_{op}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS ({pairs}) THEN
        RETURN NULL;
    END IF;
{LOCK.format(pairs=pairs)}
    UPDATE bi_live_joiner AS j SET watched = p.watched
    FROM (SELECT user_id, session_id, bool_or(watched) AS watched FROM ({pairs}) AS p GROUP BY 1, 2) AS p
    WHERE j.user_id = p.user_id AND j.session_id = p.session_id AND j.watched <> p.watched;
    RETURN NULL;
END
$$;"""


TABLES = {
    "insert": "NEW TABLE AS added",
    "delete": "OLD TABLE AS removed",
    "update": "OLD TABLE AS removed NEW TABLE AS added",
}
FILL = """
INSERT INTO bi_live_joiner (session_id, user_id, orders, watched)
SELECT c.live_session_id, o.user_id, count(*),
       EXISTS (SELECT 1 FROM livestream_watchrecord AS w WHERE w.session_id = c.live_session_id AND w.user_id = o.user_id)
FROM bi_rollup_order AS o JOIN bi_rollup_campaign AS c ON c.campaign_id = o.campaign_id
WHERE o.is_joined AND NOT o.is_cancelled AND o.day IS NOT NULL AND o.user_id IS NOT NULL
  AND c.live_session_id IS NOT NULL AND NOT c.is_failed
GROUP BY 1, 2 ORDER BY 2, 1;
"""
PG_UP = (
    "".join(_function(op, pairs) for op, pairs in PAIRS.items())
    + """
CREATE OR REPLACE FUNCTION bi_live_joiner_watch_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE bi_live_joiner SET watched = FALSE WHERE watched;
    RETURN NULL;
END
$$;"""
    + "".join(
        f"\nCREATE TRIGGER bi_live_joiner_watch_{op} AFTER {op.upper()} ON livestream_watchrecord REFERENCING {tables} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION bi_live_joiner_watch_{op}();"
        for op, tables in TABLES.items()
    )
    + "\nCREATE TRIGGER bi_live_joiner_watch_truncate AFTER TRUNCATE ON livestream_watchrecord "
    "FOR EACH STATEMENT EXECUTE FUNCTION bi_live_joiner_watch_truncate();\n" + FILL + _referred_functions(PER_BUCKET)
)
PG_DOWN = _referred_functions(PER_CUSTOMER) + "".join(
    f"DROP TRIGGER IF EXISTS bi_live_joiner_watch_{op} ON livestream_watchrecord;\n"
    f"DROP FUNCTION IF EXISTS bi_live_joiner_watch_{op}();\n"
    for op in (*PAIRS, "truncate")
)


def _run(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("bi", "0011_member_aims_latest"),
        ("livestream", "0003_live_room"),
    ]

    operations = [
        migrations.CreateModel(
            name="LiveJoiner",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("session_id", models.BigIntegerField()),
                ("user_id", models.BigIntegerField()),
                ("orders", models.IntegerField(default=0)),
                ("watched", models.BooleanField(default=False)),
            ],
            options={
                "db_table": "bi_live_joiner",
                "indexes": [
                    models.Index(
                        condition=models.Q(("orders__gt", 0), ("watched", True)),
                        fields=["session_id", "user_id"],
                        name="bi_live_joiner_counted",
                    )
                ],
                "constraints": [models.UniqueConstraint(fields=("user_id", "session_id"), name="bi_live_joiner_key")],
            },
        ),
        migrations.RunPython(_run(PG_UP), _run(PG_DOWN)),
    ]
