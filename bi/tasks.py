"""The BI app's periodic work: the rollups' catch-up and the stream's export for ClickHouse."""

from celery import shared_task


@shared_task(name="bi.tasks.rollups_catch_up")
def rollups_catch_up() -> int:
    """Fold the stream into the rollups from their cursor (idempotent; see ``bi.rollups``)."""
    from . import rollups

    return rollups.catch_up()


@shared_task(name="bi.tasks.stream_export_recent")
def stream_export_recent() -> int:
    """Write the days that received events lately as JSONEachRow partitions under ``STREAM_EXPORT_DIR``
    (nothing when it is not set; see ``bi.stream_export``)."""
    from . import stream_export

    return stream_export.export_recent()
