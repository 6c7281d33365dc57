from celery import shared_task

from . import warmup


@shared_task(acks_late=True)
def run_warmup() -> None:
    """Periodic (~15 s): expand due warm-up rounds and send pending deliveries (safe to run twice, or in parallel)."""
    warmup.run_once()
