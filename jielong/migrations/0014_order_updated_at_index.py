"""The index behind ``/api/v1/orders/?updated_after=`` (ordered by change), built without locking the
orders table on PostgreSQL (CONCURRENTLY, outside a transaction)."""

from django.db import migrations, models

INDEX = "order_updated_at_id"


def create(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"CREATE INDEX {concurrently}IF NOT EXISTS {INDEX} ON jielong_order (updated_at, id)")


def drop(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("jielong", "0013_order_updated_at")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(create, drop)],
            state_operations=[
                migrations.AddIndex(model_name="order", index=models.Index(fields=["updated_at", "id"], name=INDEX))
            ],
        )
    ]
