from celery import shared_task

from . import services


@shared_task
def process_due_deletions() -> int:
    """Anonymise the accounts whose deletion request passed its cooling-off (safe to run twice)."""
    return services.deletions_process_due()
