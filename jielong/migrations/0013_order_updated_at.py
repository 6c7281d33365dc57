"""``Order.updated_at`` for the public API's incremental sync (issue 16): a database default on insert and,
on PostgreSQL and SQLite, a trigger that stamps every update that changes the row (the join function and
the services' queryset ``update()``s never pass through ``Model.save``).

Existing rows get the migration's time (PostgreSQL stores the default once, no table rewrite). The index
comes in 0014, built CONCURRENTLY on PostgreSQL."""

import django.db.models.functions.datetime
from django.db import migrations, models

PG_UP = """
CREATE OR REPLACE FUNCTION jielong_order_touch() RETURNS trigger AS $$
BEGIN
    -- clock_timestamp(), not now(): closer to the commit in a long transaction (the API still serves
    -- only rows older than a short settle, and documents an overlap window for clients).
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS jielong_order_touch ON jielong_order;
CREATE TRIGGER jielong_order_touch BEFORE UPDATE ON jielong_order
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION jielong_order_touch();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS jielong_order_touch ON jielong_order;
DROP FUNCTION IF EXISTS jielong_order_touch();
"""
# SQLite: an AFTER trigger writes the row again (recursive triggers are off, so it does not fire itself).
SQLITE_UP = """
CREATE TRIGGER IF NOT EXISTS jielong_order_touch AFTER UPDATE ON jielong_order
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE jielong_order SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = NEW.id;
END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS jielong_order_touch;"


def _run(sql_by_vendor):
    def run(apps, schema_editor):
        sql = sql_by_vendor.get(schema_editor.connection.vendor)
        if sql:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("jielong", "0012_ledger_commissions")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="updated_at",
            field=models.DateTimeField(
                db_default=django.db.models.functions.datetime.Now(), editable=False, verbose_name="changed at"
            ),
        ),
        migrations.RunPython(
            _run({"postgresql": PG_UP, "sqlite": SQLITE_UP}), _run({"postgresql": PG_DOWN, "sqlite": SQLITE_DOWN})
        ),
    ]
