"""Per live session, the member-aims rows with its aimed bit and with its aimed and watched bits
(``bi.models.SessionAims``, PostgreSQL): 社群→直播观看 of one picked session over every community is then a sum of
eight rows, not a bit test of every member's row of its block.

``bi_member_aims_refresh`` (migration 0004) now first makes and locks the named members' rows, in key order, so a
concurrent refresh of the same member waits; then, in one statement, recomputes the named pairs from the domain
rows once, moves the sessions' counts by the difference between the bits it reads and the bits it writes, and
writes the bits. The truncate handlers clear the counts with the bits. The counts are filled from the bits.
"""

import importlib

from django.db import migrations, models

_watch = importlib.import_module("bi.migrations.0004_watch_facts")
ZERO = _watch.ZERO

REFRESH = f"""
CREATE OR REPLACE FUNCTION bi_member_aims_pairs(users bigint[], sessions bigint[])
RETURNS TABLE (user_id bigint, session_id bigint, is_aimed boolean, is_watched boolean)
LANGUAGE sql STABLE AS $$
    WITH p AS MATERIALIZED (SELECT DISTINCT u AS user_id, s AS session_id FROM unnest(users, sessions) AS p(u, s)),
    aim AS (
        SELECT p.user_id, p.session_id, bool_or(m.joined_at < s.ended_at) AS aimed
        FROM p JOIN community_membership AS m ON m.user_id = p.user_id AND m.status = 'active'
          JOIN livestream_livesession_communities AS l
            ON l.community_id = m.community_id AND l.livesession_id = p.session_id
          JOIN livestream_livesession AS s ON s.id = p.session_id
        GROUP BY 1, 2)
    SELECT p.user_id, p.session_id, coalesce(aim.aimed, FALSE), aim.user_id IS NOT NULL AND w.id IS NOT NULL
    FROM p LEFT JOIN aim ON aim.user_id = p.user_id AND aim.session_id = p.session_id
      LEFT JOIN livestream_watchrecord AS w ON w.session_id = p.session_id AND w.user_id = p.user_id
$$;

CREATE OR REPLACE FUNCTION bi_member_aims_refresh(users bigint[], sessions bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF users IS NULL THEN
        RETURN;
    END IF;
    -- Every named (member, block) gets a row (bits clear) or has its row locked (the WHERE FALSE locks without
    -- writing), in key order: a concurrent refresh of the same member waits here until this one commits.
    INSERT INTO bi_member_aims (user_id, block, aimed, watched)
    SELECT DISTINCT u, (s / 1024)::int, {ZERO}, {ZERO} FROM unnest(users, sessions) AS p(u, s) ORDER BY 1, 2
    ON CONFLICT (user_id, block) DO UPDATE SET aimed = bi_member_aims.aimed WHERE FALSE;
    -- A new snapshot: the locked rows as last committed. The counts move by (after − before) per pair.
    WITH v AS MATERIALIZED (SELECT * FROM bi_member_aims_pairs(users, sessions)),
    moved AS (
        INSERT INTO bi_session_aims (session_id, shard, aimed, watched)
        SELECT session_id, shard, sum(aimed_after - aimed_before), sum(watched_after - watched_before)
        FROM (SELECT v.session_id, (v.user_id % 8)::smallint AS shard,
                     v.is_aimed::int AS aimed_after, get_bit(a.aimed, (v.session_id % 1024)::int) AS aimed_before,
                     (v.is_aimed AND v.is_watched)::int AS watched_after,
                     get_bit(a.aimed, (v.session_id % 1024)::int) & get_bit(a.watched, (v.session_id % 1024)::int)
                       AS watched_before
              FROM v JOIN bi_member_aims AS a ON a.user_id = v.user_id AND a.block = v.session_id / 1024) AS d
        GROUP BY 1, 2 HAVING sum(aimed_after - aimed_before) <> 0 OR sum(watched_after - watched_before) <> 0
        ORDER BY 1, 2
        ON CONFLICT (session_id, shard) DO UPDATE
        SET aimed = bi_session_aims.aimed + EXCLUDED.aimed, watched = bi_session_aims.watched + EXCLUDED.watched)
    UPDATE bi_member_aims AS a
    SET aimed = (a.aimed & ~g.touched) | g.aimed, watched = (a.watched & ~g.touched) | g.watched
    FROM (SELECT user_id, session_id / 1024 AS block, bit_or(bi_session_bit(session_id)) AS touched,
                 coalesce(bit_or(bi_session_bit(session_id)) FILTER (WHERE is_aimed), {ZERO}) AS aimed,
                 coalesce(bit_or(bi_session_bit(session_id)) FILTER (WHERE is_watched), {ZERO}) AS watched
          FROM v GROUP BY 1, 2) AS g
    WHERE a.user_id = g.user_id AND a.block = g.block
      AND ((a.aimed & ~g.touched) | g.aimed, (a.watched & ~g.touched) | g.watched) IS DISTINCT FROM (a.aimed, a.watched);
END
$$;"""

TRUNCATES = _watch._function(
    "bi_watch_facts_truncate",
    "    DELETE FROM bi_viewer_sessions;\n    DELETE FROM bi_watch_total;\n"
    f"    UPDATE bi_member_aims SET watched = {ZERO};\n    UPDATE bi_session_aims SET watched = 0;",
) + _watch._function("bi_member_aims_truncate", "    DELETE FROM bi_member_aims;\n    DELETE FROM bi_session_aims;")

# From the bits: per block, each session of it that has a row, against the block's member rows.
FILL = """
INSERT INTO bi_session_aims (session_id, shard, aimed, watched)
SELECT s.id, (a.user_id % 8)::smallint,
       count(*) FILTER (WHERE get_bit(a.aimed, (s.id % 1024)::int) = 1),
       count(*) FILTER (WHERE get_bit(a.aimed, (s.id % 1024)::int) & get_bit(a.watched, (s.id % 1024)::int) = 1)
FROM livestream_livesession AS s JOIN bi_member_aims AS a ON a.block = s.id / 1024
GROUP BY 1, 2 HAVING count(*) FILTER (WHERE get_bit(a.aimed, (s.id % 1024)::int) = 1) > 0
ORDER BY 1, 2;
"""

# 0004's per-block compute has no caller now (the refresh reads the pairs); going back makes it again.
PG_UP = REFRESH + "\nDROP FUNCTION IF EXISTS bi_member_aims_compute(bigint[], bigint[]);\n" + TRUNCATES + FILL
PG_DOWN = (
    _watch.AIMS_REFRESH
    + _watch._function(
        "bi_watch_facts_truncate",
        f"    DELETE FROM bi_viewer_sessions;\n    DELETE FROM bi_watch_total;\n    UPDATE bi_member_aims SET watched = {ZERO};",
    )
    + _watch._function("bi_member_aims_truncate", "    DELETE FROM bi_member_aims;")
    + "\nDROP FUNCTION IF EXISTS bi_member_aims_pairs(bigint[], bigint[]);\n"
)


def _run(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders: % is the modulo

    return run


class Migration(migrations.Migration):
    dependencies = [("bi", "0014_member_activity")]

    operations = [
        migrations.CreateModel(
            name="SessionAims",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("session_id", models.BigIntegerField()),
                ("shard", models.SmallIntegerField()),
                ("aimed", models.BigIntegerField(default=0)),
                ("watched", models.BigIntegerField(default=0)),
            ],
            options={
                "db_table": "bi_session_aims",
                "constraints": [models.UniqueConstraint(fields=("session_id", "shard"), name="bi_session_aims_key")],
            },
        ),
        migrations.RunPython(_run(PG_UP), _run(PG_DOWN)),
    ]
