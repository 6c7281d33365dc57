from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def _run(name):
    def operation(apps, schema_editor):
        # PostgreSQL only: on the embedded SQLite demo joins use the ORM (services._order_join_orm).
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute((SQL_DIR / name).read_text())  # no parameters: "%ROWTYPE" is not a placeholder

    return operation


class Migration(migrations.Migration):
    """jielong_join version 2: the same rules with fewer statements per join."""

    dependencies = [("jielong", "0007_join_function")]

    operations = [migrations.RunPython(_run("jielong_join_v2.sql"), _run("jielong_join_v1.sql"))]
