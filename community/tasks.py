from celery import shared_task

from . import rhythm


@shared_task(acks_late=True)
def publish_due_posts() -> list[int]:
    """Periodic (every 30 s): publish scheduled posts whose time has come. Safe to run twice or in parallel."""
    return rhythm.posts_publish_due()
