from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "sql" / "jielong_join_v1.sql").read_text()


class Migration(migrations.Migration):
    """The join as one PL/pgSQL function (see jielong/sql/jielong_join_v1.sql and services.order_join)."""

    dependencies = [("jielong", "0006_builder_images_changes")]

    operations = [
        migrations.RunSQL(
            SQL,
            reverse_sql="DROP FUNCTION IF EXISTS jielong_join(bigint, jsonb, timestamptz); "
            "DROP FUNCTION IF EXISTS jielong_sku_label(bigint);",
        )
    ]
