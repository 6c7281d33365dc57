"""The catalogue's periodic work."""

from celery import shared_task

from . import stock


@shared_task(name="catalogue.tasks.announce_low_stock")
def announce_low_stock() -> int:
    """Publish ``catalogue.stock_low`` for SKUs that ran low (idempotent; see ``stock.stock_low_announce``)."""
    return stock.stock_low_announce()
