"""The latest session of each ``bi_member_aims`` row (PostgreSQL): ``last_aimed`` and ``last_watched``, the highest
session id of its ``aimed`` and ``watched`` bits (NULL when none), stored generated columns, so every writer of the
bits keeps them, and indexed. A board of every community whose sessions are all the sessions from its first one on
(a period up to today) then counts the members aimed at and the viewers among them from the index alone:
``last_aimed >= first`` (see ``bi.metrics.base.targeted_counts``). The columns are not on the model: only SQL reads
them, and other databases do without.
"""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION bi_last_session(block integer, bits bit(1024)) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- bit n (from the left) is session block * 1024 + n: the last 1 is the highest session
    SELECT block::bigint * 1024 + nullif(length(rtrim(bits::text, '0')), 0) - 1
$$;
ALTER TABLE bi_member_aims
    ADD COLUMN last_aimed bigint GENERATED ALWAYS AS (bi_last_session(block, aimed)) STORED,
    ADD COLUMN last_watched bigint GENERATED ALWAYS AS (bi_last_session(block, watched)) STORED;
CREATE INDEX bi_member_aims_last_aimed ON bi_member_aims (last_aimed) INCLUDE (last_watched);
CREATE INDEX bi_member_aims_last_watched ON bi_member_aims (last_watched);
"""
PG_DOWN = """
DROP INDEX IF EXISTS bi_member_aims_last_watched;
DROP INDEX IF EXISTS bi_member_aims_last_aimed;
ALTER TABLE bi_member_aims DROP COLUMN IF EXISTS last_aimed, DROP COLUMN IF EXISTS last_watched;
DROP FUNCTION IF EXISTS bi_last_session(integer, bit);
"""


def _run(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders

    return run


class Migration(migrations.Migration):
    dependencies = [("bi", "0010_referred_new_customers")]

    operations = [migrations.RunPython(_run(PG_UP), _run(PG_DOWN))]
