"""The CDP's periodic work: the brand models' snapshots kept fresh for the pages (``cdp.snapshots``)."""

from celery import shared_task


@shared_task(name="cdp.tasks.models_refresh")
def models_refresh() -> int:
    """Compute again the snapshots that are half their life old or out of date (idempotent)."""
    from . import snapshots

    return snapshots.refresh_all()
