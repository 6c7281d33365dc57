from celery import shared_task


@shared_task(acks_late=True)
def split_due_days() -> int:
    """Split the days of newly formed campaigns and re-split the days whose orders changed."""
    from .split import split_due

    return len(split_due())


@shared_task(acks_late=True)
def send_notices() -> int:
    """Send pending fulfilment notices (periodic, and queued on commit by a move); safe to run in parallel."""
    from .notices import notices_send

    return notices_send()


@shared_task(acks_late=True)
def mark_uncollected() -> int:
    """超时未取: parcels waiting at the point past the configured time, each reminded once (safe to run twice)."""
    from .pickup import parcels_mark_uncollected

    return parcels_mark_uncollected()


@shared_task(acks_late=True)
def analyze_split_tables() -> None:
    """Refresh the planner's statistics of the split's tables after a big split (see ``split.split_day``)."""
    from .split import analyze_split_tables as analyze

    analyze()
