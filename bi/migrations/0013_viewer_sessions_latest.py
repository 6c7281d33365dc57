"""The latest session of each ``bi_viewer_sessions`` row (PostgreSQL): ``last_session``, the highest session id of its
bits (NULL when none), a stored generated column (``bi_last_session`` of migration 0011), indexed. A board of every
community whose sessions are all the sessions from its first one on (a period up to today) then counts its viewers
(直播观看→接龙's denominator) from the index: ``last_session >= first`` (see ``bi.metrics.base.viewer_count``). Only
a new (session, member) pair writes the row: a heartbeat does not. Not on the model, as 0011's columns.
"""

from django.db import migrations

PG_UP = """
ALTER TABLE bi_viewer_sessions ADD COLUMN last_session bigint GENERATED ALWAYS AS (bi_last_session(block, sessions)) STORED;
CREATE INDEX bi_viewer_sessions_last ON bi_viewer_sessions (last_session);
"""
PG_DOWN = """
DROP INDEX IF EXISTS bi_viewer_sessions_last;
ALTER TABLE bi_viewer_sessions DROP COLUMN IF EXISTS last_session;
"""


def _run(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders

    return run


class Migration(migrations.Migration):
    dependencies = [("bi", "0012_live_joiners")]

    operations = [migrations.RunPython(_run(PG_UP), _run(PG_DOWN))]
