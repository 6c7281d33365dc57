"""Each member's activity behind 社群月活率 on a board of every community (``bi.models.MemberActivity``, PostgreSQL):
their active memberships, the earliest join among them and their latest activity of every kind the tile counts (an
active membership's join and last visit, a reservation, a watch record's last heartbeat, a comment, an order, an NPS
answer, a review). Statement triggers on those tables — the orders excepted: the stream's fold refreshes the members
of the joins it folds, and a board counts the joins after its cursor from the orders — name the members a statement
can move, and ``bi_member_activity_refresh`` recomputes exactly those from the domain rows.

Two writers may move one member at the same moment (a heartbeat and a comment; the fold and a visit): each takes a
transaction-scoped advisory lock on the member's bucket (key ``(1412, user id % 1024)``) before it reads the domain
rows, so the later recomputes with the earlier's rows. The triggers are named to fire before the member-aims,
watch-facts and referral triggers of the same tables (1412 before 1410), as the fold takes them. Other databases get
the table, empty and unused.
"""

from django.db import migrations, models

# (table, the timestamp the tile reads, the other columns whose change can move a member)
SOURCES = {
    "community_membership": ("joined_at", "status, last_active_at"),
    "livestream_reservation": ("created_at", ""),
    "livestream_watchrecord": ("last_seen_at", ""),
    "livestream_comment": ("created_at", ""),
    "feedback_npssurvey": ("answered_at", ""),
    "feedback_review": ("created_at", ""),
}

COMPUTE = """
CREATE OR REPLACE FUNCTION bi_member_activity_compute(users bigint[])
RETURNS TABLE (user_id bigint, memberships integer, first_joined timestamptz, last_active timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT u.id, m.n, m.first_joined,
           GREATEST(m.last, (SELECT max(created_at) FROM livestream_reservation WHERE user_id = u.id),
                    (SELECT max(last_seen_at) FROM livestream_watchrecord WHERE user_id = u.id),
                    (SELECT max(created_at) FROM livestream_comment WHERE user_id = u.id),
                    (SELECT max(created_at) FROM jielong_order WHERE user_id = u.id),
                    (SELECT max(answered_at) FROM feedback_npssurvey WHERE user_id = u.id),
                    (SELECT max(created_at) FROM feedback_review WHERE user_id = u.id))
    FROM (SELECT DISTINCT id FROM unnest(users) AS id WHERE id IS NOT NULL) AS u
      CROSS JOIN LATERAL (
        SELECT count(*)::int AS n, min(joined_at) AS first_joined, GREATEST(max(joined_at), max(last_active_at)) AS last
        FROM community_membership WHERE user_id = u.id AND status = 'active') AS m
    WHERE m.n > 0
$$;
CREATE OR REPLACE FUNCTION bi_member_activity_refresh(users bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF users IS NULL OR cardinality(users) = 0 THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(1412, b)
    FROM (SELECT DISTINCT (u % 1024)::int AS b FROM unnest(users) AS u WHERE u IS NOT NULL ORDER BY 1) AS l;
    DELETE FROM bi_member_activity AS a WHERE a.user_id = ANY(users) AND NOT EXISTS (
        SELECT 1 FROM community_membership AS m WHERE m.user_id = a.user_id AND m.status = 'active');
    INSERT INTO bi_member_activity AS a (user_id, memberships, first_joined, last_active)
    SELECT * FROM bi_member_activity_compute(users) ORDER BY 1
    ON CONFLICT (user_id) DO UPDATE
    SET memberships = EXCLUDED.memberships, first_joined = EXCLUDED.first_joined, last_active = EXCLUDED.last_active
    WHERE (a.memberships, a.first_joined, a.last_active)
          IS DISTINCT FROM (EXCLUDED.memberships, EXCLUDED.first_joined, EXCLUDED.last_active);
END
$$;
-- A later activity can only move a member's latest forward: a watch record's heartbeat on a later local day than the
-- stored latest sets it, no recompute. (The tile's window runs from one local midnight to another, so the latest
-- day is what it reads: a heartbeat later the same day writes nothing.)
CREATE OR REPLACE FUNCTION bi_member_activity_bump(users bigint[], ats timestamptz[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Most heartbeats are on the stored latest day: nothing to write, no lock (a recompute meanwhile keeps the day,
    -- since the record's previous heartbeat, committed, was that day too).
    IF users IS NULL OR NOT EXISTS (
        SELECT 1 FROM unnest(users, ats) AS x(u, t) JOIN bi_member_activity AS a ON a.user_id = x.u
        WHERE a.last_active IS NULL
           OR (a.last_active AT TIME ZONE bi_parcel_zone())::date < (x.t AT TIME ZONE bi_parcel_zone())::date) THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(1412, b)
    FROM (SELECT DISTINCT (u % 1024)::int AS b FROM unnest(users) AS u WHERE u IS NOT NULL ORDER BY 1) AS l;
    UPDATE bi_member_activity AS a SET last_active = g.at
    FROM (SELECT u, max(t) AS at FROM unnest(users, ats) AS x(u, t) GROUP BY u) AS g
    WHERE a.user_id = g.u AND (a.last_active IS NULL OR (a.last_active AT TIME ZONE bi_parcel_zone())::date
                                                          < (g.at AT TIME ZONE bi_parcel_zone())::date);
END
$$;
CREATE OR REPLACE FUNCTION bi_member_activity_refill() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bi_member_activity;
    INSERT INTO bi_member_activity (user_id, memberships, first_joined, last_active)
    SELECT * FROM bi_member_activity_compute(ARRAY(SELECT DISTINCT user_id FROM community_membership
                                                   WHERE status = 'active' ORDER BY 1));
END
$$;
CREATE OR REPLACE FUNCTION bi_member_activity_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bi_member_activity_refill();
    RETURN NULL;
END
$$;
"""


def _refresh(users: str) -> str:
    return f"""
    IF EXISTS ({users}) THEN
        PERFORM bi_member_activity_refresh(ARRAY(SELECT DISTINCT user_id FROM ({users}) AS c ORDER BY 1));
    END IF;"""


def _bump(rows: str) -> str:
    # One pass over the transition tables (a heartbeat's statement runs this): no rows, a NULL array, no work.
    return f"""
    PERFORM bi_member_activity_bump(array_agg(user_id ORDER BY user_id), array_agg(at ORDER BY user_id))
    FROM ({rows}) AS c(user_id, at);"""


# Watch records (a heartbeat a minute per viewer): a new record or a later heartbeat only moves its member's latest
# forward; a record deleted, moved to another member or set back is recomputed.
FORWARD = "o.user_id = n.user_id AND n.last_seen_at >= o.last_seen_at"
WATCH_BODIES = {
    "insert": _bump("SELECT user_id, last_seen_at FROM added"),
    "delete": _refresh("SELECT user_id FROM removed"),
    "update": _bump(
        "SELECT n.user_id, n.last_seen_at FROM removed AS o JOIN added AS n ON n.id = o.id "
        f"WHERE n.last_seen_at <> o.last_seen_at AND {FORWARD}"
    )
    + "\n    PERFORM bi_member_activity_refresh(ARRAY(SELECT DISTINCT user_id FROM ("
    + (
        f"SELECT o.user_id FROM removed AS o JOIN added AS n ON n.id = o.id WHERE NOT ({FORWARD}) "
        f"UNION ALL SELECT n.user_id FROM removed AS o JOIN added AS n ON n.id = o.id WHERE NOT ({FORWARD})"
    )
    + ") AS c ORDER BY 1));",
}


APPEND_ONLY = ("livestream_reservation", "livestream_comment", "feedback_review")


def _functions(table: str, at: str, others: str) -> str:
    watched = f"user_id, {at}" + (f", {others}" if others else "")
    changed = (
        f"SELECT {{side}}.user_id FROM removed AS o JOIN added AS n ON n.id = o.id "
        f"WHERE ({', '.join('o.' + c.strip() for c in watched.split(','))}) "
        f"IS DISTINCT FROM ({', '.join('n.' + c.strip() for c in watched.split(','))})"
    )
    bodies = {
        "insert": _refresh("SELECT user_id FROM added"),
        "delete": _refresh("SELECT user_id FROM removed"),
        "update": _refresh(changed.format(side="o") + " UNION ALL " + changed.format(side="n")),
    }
    if table == "livestream_watchrecord":
        bodies = WATCH_BODIES
    elif table in APPEND_ONLY:  # a new row only moves its member's latest forward (a live's chat: no recompute)
        bodies["insert"] = _bump(f"SELECT user_id, {at} FROM added")
    return "".join(
        f"""
CREATE OR REPLACE FUNCTION bi_member_activity_{table}_{op}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{body}
    RETURN NULL;
END
$$;"""
        for op, body in bodies.items()
    )


TABLES = {
    "insert": "NEW TABLE AS added",
    "delete": "OLD TABLE AS removed",
    "update": "OLD TABLE AS removed NEW TABLE AS added",
}
PG_UP = (
    COMPUTE
    + "".join(_functions(table, at, others) for table, (at, others) in SOURCES.items())
    + "".join(
        f"\nCREATE TRIGGER bi_member_activity_{table}_{op} AFTER {op.upper()} ON {table} REFERENCING {tables} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION bi_member_activity_{table}_{op}();"
        for table in SOURCES
        for op, tables in TABLES.items()
    )
    + "".join(
        f"\nCREATE TRIGGER bi_member_activity_{table}_truncate AFTER TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION bi_member_activity_truncated();"
        for table in SOURCES
    )
    + """
CREATE INDEX bi_member_activity_last ON bi_member_activity (last_active) INCLUDE (first_joined);
CREATE INDEX bi_member_activity_joined ON bi_member_activity (first_joined);
SELECT bi_member_activity_refill();
"""
)
PG_DOWN = (
    "".join(
        f"DROP TRIGGER IF EXISTS bi_member_activity_{table}_{op} ON {table};\n"
        f"DROP FUNCTION IF EXISTS bi_member_activity_{table}_{op}();\n"
        for table in SOURCES
        for op in TABLES
    )
    + "".join(f"DROP TRIGGER IF EXISTS bi_member_activity_{table}_truncate ON {table};\n" for table in SOURCES)
    + "DROP FUNCTION IF EXISTS bi_member_activity_truncated();\n"
    + "DROP FUNCTION IF EXISTS bi_member_activity_refill();\n"
    + "DROP FUNCTION IF EXISTS bi_member_activity_bump(bigint[], timestamptz[]);\n"
    + "DROP FUNCTION IF EXISTS bi_member_activity_refresh(bigint[]);\n"
    + "DROP FUNCTION IF EXISTS bi_member_activity_compute(bigint[]);\n"
    + "DROP INDEX IF EXISTS bi_member_activity_last;\nDROP INDEX IF EXISTS bi_member_activity_joined;\n"
)


def _run(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("bi", "0013_viewer_sessions_latest"),
        ("feedback", "0001_reviews_nps"),
        ("jielong", "0017_join_function_v4"),
    ]

    operations = [
        migrations.CreateModel(
            name="MemberActivity",
            fields=[
                ("user_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("memberships", models.IntegerField()),
                ("first_joined", models.DateTimeField(null=True)),
                ("last_active", models.DateTimeField(null=True)),
            ],
            options={"db_table": "bi_member_activity"},
        ),
        migrations.RunPython(_run(PG_UP), _run(PG_DOWN)),
    ]
