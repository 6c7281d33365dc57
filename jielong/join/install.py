"""The migrations that change the join function's version install it from its SQL file, beside this module."""

from pathlib import Path

JOIN_DIR = Path(__file__).resolve().parent


def install(name: str):
    """A ``RunPython`` operation that runs the SQL file ``name`` of this package on PostgreSQL (on the embedded
    SQLite demo joins use the ORM twin, ``jielong/join/orm.py``)."""
    path = JOIN_DIR / name

    def operation(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(path.read_text())  # no parameters: "%ROWTYPE" is not a placeholder

    return operation
