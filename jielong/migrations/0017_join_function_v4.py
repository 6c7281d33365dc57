from pathlib import Path

from django.db import migrations

# The join function lives in the join package, beside its ORM twin (jielong/join/orm.py).
JOIN_DIR = Path(__file__).resolve().parent.parent / "join"
V3_FILE = JOIN_DIR / "jielong_join_v3.sql"
V4_FILE = JOIN_DIR / "jielong_join_v4.sql"


def _run(path: Path):
    def operation(apps, schema_editor):
        # PostgreSQL only: on the embedded SQLite demo joins use the ORM (jielong/join/orm.py).
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(path.read_text())  # no parameters: "%ROWTYPE" is not a placeholder

    return operation


class Migration(migrations.Migration):
    """jielong_join version 4: version 3 with the lookup of a request's earlier order as two unique-index
    probes (its idempotency key, then the member's live order), which any cached plan serves, instead of
    one OR that a generic plan answered by scanning the campaign's orders."""

    dependencies = [("jielong", "0016_order_perk_places")]

    operations = [migrations.RunPython(_run(V4_FILE), _run(V3_FILE))]
