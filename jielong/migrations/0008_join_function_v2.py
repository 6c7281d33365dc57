import importlib
from pathlib import Path

from django.db import migrations

# Version 2 is read from the join package, where it lives beside its ORM twin (jielong/join/orm.py).
V2_FILE = Path(__file__).resolve().parent.parent / "join" / "jielong_join_v2.sql"


def _v1_sql() -> str:
    return importlib.import_module("jielong.migrations.0007_join_function").SQL


def _run(read_sql):
    def operation(apps, schema_editor):
        # PostgreSQL only: on the embedded SQLite demo joins use the ORM (jielong/join/orm.py).
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(read_sql())  # no parameters: "%ROWTYPE" is not a placeholder

    return operation


class Migration(migrations.Migration):
    """jielong_join version 2: the same rules with fewer statements per join."""

    dependencies = [("jielong", "0007_join_function")]

    operations = [migrations.RunPython(_run(V2_FILE.read_text), _run(_v1_sql))]
