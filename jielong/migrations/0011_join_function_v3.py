from pathlib import Path

from django.db import migrations

# The join function lives in the join package, beside its ORM twin (jielong/join/orm.py).
JOIN_DIR = Path(__file__).resolve().parent.parent / "join"
V2_FILE = JOIN_DIR / "jielong_join_v2.sql"
V3_FILE = JOIN_DIR / "jielong_join_v3.sql"


def _run(path: Path):
    def operation(apps, schema_editor):
        # PostgreSQL only: on the embedded SQLite demo joins use the ORM (jielong/join/orm.py).
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(path.read_text())  # no parameters: "%ROWTYPE" is not a placeholder

    return operation


class Migration(migrations.Migration):
    """jielong_join version 3: version 2 plus the refund-abuse blacklist (community.Flag): a person
    flagged in the campaign's brand is refused ('not_available') and nothing changes."""

    dependencies = [("jielong", "0010_ledger"), ("community", "0007_refund_abuse_flags")]

    operations = [migrations.RunPython(_run(V3_FILE), _run(V2_FILE))]
