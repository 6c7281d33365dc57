"""The watch facts behind the live tiles (``bi.models.ViewerSessions``, ``bi.models.WatchTotal``,
``bi.models.MemberAims``), kept on
PostgreSQL by statement triggers on ``livestream_watchrecord`` in the transaction that writes the watch records
(the heartbeat's insert and update, bulk SQL, a member's erasure cascading, a truncate) and filled from the rows
already there. Transition tables: a statement of 100,000 rows is one grouped upsert, not 100,000.

A bit is set for a (session, member) pair inserted and cleared for one deleted: a watch record is unique per
pair, so a deleted one leaves no other. An update sets and clears the pairs it changed (none, for a heartbeat)
and moves the seconds by after − before. Upserts go in key order (two statements do not deadlock). Member aims
follow the watch records, the memberships (member, community, status, join time), the sessions' target
communities and their end: each change names the (member, session) pairs it can move, and
``bi_member_aims_refresh`` recomputes exactly those from the domain rows. Other databases get the tables, empty
and unused: the tiles read the domain rows there.
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
ZERO = "repeat('0', 1024)::bit(1024)"
# MemberAims: the (member, session) pairs given are recomputed from the domain rows — aimed: an active membership
# in a community the session was aimed at, joined before it ended; watched: that, without the end, and a watch
# record. Set-based (hash joins for a bulk load, index lookups for a heartbeat's pair).
AIMS_REFRESH = f"""
CREATE OR REPLACE FUNCTION bi_member_aims_compute(users bigint[], sessions bigint[])
RETURNS TABLE (user_id bigint, block bigint, touched bit(1024), aimed bit(1024), watched bit(1024))
LANGUAGE sql STABLE AS $$
    WITH p AS MATERIALIZED (SELECT DISTINCT u AS user_id, s AS session_id FROM unnest(users, sessions) AS p(u, s)),
    aim AS (
        SELECT p.user_id, p.session_id, bool_or(m.joined_at < s.ended_at) AS aimed
        FROM p JOIN community_membership AS m ON m.user_id = p.user_id AND m.status = 'active'
          JOIN livestream_livesession_communities AS l
            ON l.community_id = m.community_id AND l.livesession_id = p.session_id
          JOIN livestream_livesession AS s ON s.id = p.session_id
        GROUP BY 1, 2),
    v AS (
        SELECT p.user_id, p.session_id, coalesce(aim.aimed, FALSE) AS is_aimed,
               aim.user_id IS NOT NULL AND w.id IS NOT NULL AS is_watched
        FROM p LEFT JOIN aim ON aim.user_id = p.user_id AND aim.session_id = p.session_id
          LEFT JOIN livestream_watchrecord AS w ON w.session_id = p.session_id AND w.user_id = p.user_id)
    SELECT user_id, session_id / 1024, bit_or(bi_session_bit(session_id)),
           coalesce(bit_or(bi_session_bit(session_id)) FILTER (WHERE is_aimed), {ZERO}),
           coalesce(bit_or(bi_session_bit(session_id)) FILTER (WHERE is_watched), {ZERO})
    FROM v GROUP BY 1, 2
$$;

CREATE OR REPLACE FUNCTION bi_member_aims_refresh(users bigint[], sessions bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF users IS NULL THEN
        RETURN;
    END IF;
    -- A member's block without a row has every bit clear: a new row is the pairs' values. Rows there (or
    -- inserted meanwhile by another transaction: this statement then does nothing, the next one sees them)
    -- get the pairs' bits replaced, and are written only when that changes them.
    INSERT INTO bi_member_aims (user_id, block, aimed, watched)
    SELECT g.user_id, g.block, g.aimed, g.watched FROM bi_member_aims_compute(users, sessions) AS g
    ORDER BY 1, 2
    ON CONFLICT (user_id, block) DO NOTHING;
    UPDATE bi_member_aims AS a
    SET aimed = (a.aimed & ~g.touched) | g.aimed, watched = (a.watched & ~g.touched) | g.watched
    FROM bi_member_aims_compute(users, sessions) AS g
    WHERE a.user_id = g.user_id AND a.block = g.block
      AND ((a.aimed & ~g.touched) | g.aimed, (a.watched & ~g.touched) | g.watched) IS DISTINCT FROM (a.aimed, a.watched);
END
$$;"""


def _aims(pairs: str) -> str:
    """Recompute MemberAims for the pairs ``pairs`` (SQL giving user_id, session_id)."""
    return (
        f"    PERFORM bi_member_aims_refresh(array_agg(user_id), array_agg(session_id))\n    FROM ({pairs}) AS pairs;\n"
    )


# The memberships a statement changed (for an update: the rows whose member, community, status or join time
# changed, before and after), and each with the sessions aimed at its community.
MEMBERSHIP_CHANGED = """
    SELECT user_id, community_id FROM {rows}
"""
MEMBERSHIP_UPDATED = """
    SELECT o.user_id, o.community_id FROM removed AS o JOIN added AS n ON n.id = o.id
    WHERE (o.user_id, o.community_id, o.status, o.joined_at) IS DISTINCT FROM (n.user_id, n.community_id, n.status, n.joined_at)
    UNION ALL
    SELECT n.user_id, n.community_id FROM removed AS o JOIN added AS n ON n.id = o.id
    WHERE (o.user_id, o.community_id, o.status, o.joined_at) IS DISTINCT FROM (n.user_id, n.community_id, n.status, n.joined_at)
"""


def _membership_pairs(changed: str) -> str:
    return (
        f"SELECT c.user_id, l.livesession_id AS session_id FROM ({changed}) AS c "
        "JOIN livestream_livesession_communities AS l ON l.community_id = c.community_id"
    )


# A session aimed at a community (or no longer): every member of it, that session.
TARGET_PAIRS = (
    "SELECT m.user_id, t.livesession_id AS session_id FROM {rows} AS t "
    "JOIN community_membership AS m ON m.community_id = t.community_id"
)
# A session's end moved: every member of the communities it was aimed at, that session.
ENDED_PAIRS = (
    "SELECT m.user_id, l.livesession_id AS session_id FROM removed AS o JOIN added AS n ON n.id = o.id "
    "JOIN livestream_livesession_communities AS l ON l.livesession_id = n.id "
    "JOIN community_membership AS m ON m.community_id = l.community_id "
    "WHERE o.ended_at IS DISTINCT FROM n.ended_at"
)

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
        SET_BITS.format(pairs=PAIRS, rows="SELECT session_id, user_id FROM added")
        + ADD_SECONDS.format(rows=PLUS)
        + _aims("SELECT user_id, session_id FROM added"),
    )
    + _function(
        "bi_watch_facts_delete",
        CLEAR_BITS.format(pairs=PAIRS, rows="SELECT session_id, user_id FROM removed")
        + ADD_SECONDS.format(rows=MINUS)
        + _aims("SELECT user_id, session_id FROM removed"),
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
        + ADD_SECONDS.format(rows=f"{PLUS} UNION ALL {MINUS}")
        + _aims(
            "(SELECT user_id, session_id FROM removed EXCEPT SELECT user_id, session_id FROM added) UNION ALL "
            "(SELECT user_id, session_id FROM added EXCEPT SELECT user_id, session_id FROM removed)"
        ),
    )
    + _function(
        "bi_watch_facts_truncate",
        f"    DELETE FROM bi_viewer_sessions;\n    DELETE FROM bi_watch_total;\n    UPDATE bi_member_aims SET watched = {ZERO};",
    )
    + AIMS_REFRESH
    + _function("bi_member_aims_membership_insert", _aims(_membership_pairs(MEMBERSHIP_CHANGED.format(rows="added"))))
    + _function("bi_member_aims_membership_delete", _aims(_membership_pairs(MEMBERSHIP_CHANGED.format(rows="removed"))))
    + _function("bi_member_aims_membership_update", _aims(_membership_pairs(MEMBERSHIP_UPDATED)))
    + _function("bi_member_aims_truncate", "    DELETE FROM bi_member_aims;")
    + _function("bi_member_aims_target_insert", _aims(TARGET_PAIRS.format(rows="added")))
    + _function("bi_member_aims_target_delete", _aims(TARGET_PAIRS.format(rows="removed")))
    + _function("bi_member_aims_session_update", _aims(ENDED_PAIRS))
    + """
CREATE TRIGGER bi_watch_facts_insert AFTER INSERT ON livestream_watchrecord
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bi_watch_facts_insert();
CREATE TRIGGER bi_watch_facts_update AFTER UPDATE ON livestream_watchrecord
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bi_watch_facts_update();
CREATE TRIGGER bi_watch_facts_delete AFTER DELETE ON livestream_watchrecord
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION bi_watch_facts_delete();
CREATE TRIGGER bi_watch_facts_truncate AFTER TRUNCATE ON livestream_watchrecord
    FOR EACH STATEMENT EXECUTE FUNCTION bi_watch_facts_truncate();
CREATE TRIGGER bi_member_aims_membership_insert AFTER INSERT ON community_membership
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bi_member_aims_membership_insert();
CREATE TRIGGER bi_member_aims_membership_update AFTER UPDATE ON community_membership
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION bi_member_aims_membership_update();
CREATE TRIGGER bi_member_aims_membership_delete AFTER DELETE ON community_membership
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION bi_member_aims_membership_delete();
CREATE TRIGGER bi_member_aims_membership_truncate AFTER TRUNCATE ON community_membership
    FOR EACH STATEMENT EXECUTE FUNCTION bi_member_aims_truncate();
CREATE TRIGGER bi_member_aims_target_insert AFTER INSERT ON livestream_livesession_communities
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bi_member_aims_target_insert();
CREATE TRIGGER bi_member_aims_target_delete AFTER DELETE ON livestream_livesession_communities
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION bi_member_aims_target_delete();
CREATE TRIGGER bi_member_aims_target_truncate AFTER TRUNCATE ON livestream_livesession_communities
    FOR EACH STATEMENT EXECUTE FUNCTION bi_member_aims_truncate();
CREATE TRIGGER bi_member_aims_session_update AFTER UPDATE ON livestream_livesession
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION bi_member_aims_session_update();
"""
    + SET_BITS.format(pairs=PAIRS, rows="SELECT session_id, user_id FROM livestream_watchrecord")
    + ADD_SECONDS.format(
        rows="SELECT session_id, user_id % 8 AS shard, 1 AS records, seconds_watched::bigint AS seconds "
        "FROM livestream_watchrecord"
    )
    + "\nSELECT bi_member_aims_refresh(array_agg(user_id), array_agg(session_id)) FROM ("
    + "SELECT user_id, session_id FROM livestream_watchrecord UNION "
    + _membership_pairs("SELECT user_id, community_id FROM community_membership")
    + ") AS pairs;\n"
)
AIMS_TRIGGERS = (
    ("membership_insert", "community_membership"),
    ("membership_update", "community_membership"),
    ("membership_delete", "community_membership"),
    ("membership_truncate", "community_membership"),
    ("target_insert", "livestream_livesession_communities"),
    ("target_delete", "livestream_livesession_communities"),
    ("target_truncate", "livestream_livesession_communities"),
    ("session_update", "livestream_livesession"),
)
AIMS_FUNCTIONS = (
    "membership_insert",
    "membership_update",
    "membership_delete",
    "truncate",
    "target_insert",
    "target_delete",
    "session_update",
)
PG_DOWN = (
    "".join(
        f"DROP TRIGGER IF EXISTS bi_watch_facts_{op} ON livestream_watchrecord;\n"
        f"DROP FUNCTION IF EXISTS bi_watch_facts_{op}();\n"
        for op in ("insert", "update", "delete", "truncate")
    )
    + "".join(f"DROP TRIGGER IF EXISTS bi_member_aims_{name} ON {table};\n" for name, table in AIMS_TRIGGERS)
    + "".join(f"DROP FUNCTION IF EXISTS bi_member_aims_{name}();\n" for name in AIMS_FUNCTIONS)
    + "DROP FUNCTION IF EXISTS bi_member_aims_refresh(bigint[], bigint[]);\n"
    + "DROP FUNCTION IF EXISTS bi_member_aims_compute(bigint[], bigint[]);\n"
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
            name="MemberAims",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_id", models.BigIntegerField()),
                ("block", models.IntegerField()),
                ("aimed", bi.models.SessionBitsField()),
                ("watched", bi.models.SessionBitsField()),
            ],
            options={
                "db_table": "bi_member_aims",
                "constraints": [models.UniqueConstraint(fields=("user_id", "block"), name="bi_member_aims_key")],
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
