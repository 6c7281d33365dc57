from celery import shared_task


@shared_task(acks_late=True)
def ask_nps() -> int:
    """The sweep behind the pickup subscriber: surveys for recent pickups that have none, and untold ones told."""
    from .nps import surveys_ask

    return surveys_ask()
