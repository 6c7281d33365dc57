"""The API's periodic work."""

from celery import shared_task

from . import idempotency


@shared_task(name="api.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Forget idempotency keys older than a week (a retry comes within minutes; the effects keep their own keys)."""
    return idempotency.records_purge()
