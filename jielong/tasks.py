from celery import shared_task

from . import services


@shared_task(acks_late=True)
def close_due_campaigns() -> list[int]:
    """Periodic: close campaigns whose deadline passed (idempotent, so a redelivery is harmless)."""
    return services.campaigns_close_due()


@shared_task(acks_late=True)
def settle_prices(campaign_id: int) -> int:
    """After a price tier is reached: settle earlier orders down to it (idempotent)."""
    return services.campaign_settle_prices(campaign_id=campaign_id)
