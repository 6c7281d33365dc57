from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "sql" / "jielong_join_v1.sql").read_text()
DROP = "DROP FUNCTION IF EXISTS jielong_join(bigint, jsonb, timestamptz); DROP FUNCTION IF EXISTS jielong_sku_label(bigint);"


def _run(sql):
    def operation(apps, schema_editor):
        # PostgreSQL only: on the embedded SQLite demo joins use the ORM (services._order_join_orm).
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)  # no parameters: the body's "%ROWTYPE" is not a placeholder

    return operation


class Migration(migrations.Migration):
    """The join as one PL/pgSQL function (see jielong/sql/jielong_join_v1.sql and services.order_join)."""

    dependencies = [("jielong", "0006_builder_images_changes")]

    operations = [migrations.RunPython(_run(SQL), _run(DROP))]
