"""Running the migrations inside a test (PostgreSQL, ``django_db(transaction=True)``): back to a migration, then
forward to the latest again, as a deployment would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets) -> None:
    """Migrate to ``targets`` ((app, migration) pairs), with a graph read afresh (the last run changed it)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@contextmanager
def migrated_back(app: str, name: str) -> Iterator[None]:
    """The database as of ``app``'s migration ``name`` inside the block (rows written there meet the later
    migrations as a deployment's would), then every app forward to its latest again, even when the block fails."""
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        migrate([(app, name)])
        yield
    finally:
        migrate(leaves)
