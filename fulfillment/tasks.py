from celery import shared_task


@shared_task(acks_late=True)
def split_due_days() -> int:
    """Split the days of newly formed campaigns and re-split the days whose orders changed."""
    from .split import split_due

    return len(split_due())
