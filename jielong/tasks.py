from celery import shared_task

from . import services
from .join import after_join


@shared_task(acks_late=True)
def close_due_campaigns() -> list[int]:
    """Periodic: close campaigns whose deadline passed (idempotent, so a redelivery is harmless)."""
    return services.campaigns_close_due()


@shared_task(acks_late=True)
def deliver_owed_after_join_work() -> list[int]:
    """Periodic: the broadcasts and tier settling joins left owed while Redis was down (idempotent)."""
    return after_join.outbox_sweep()


@shared_task(acks_late=True)
def settle_prices(campaign_id: int) -> int:
    """After a price tier is reached: settle earlier orders down to it (idempotent)."""
    return services.campaign_settle_prices(campaign_id=campaign_id)
