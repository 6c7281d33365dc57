from celery import shared_task


@shared_task(acks_late=True)
def attribute_orders() -> int:
    """The sweep behind the join subscriber: recent orders a help-seller's link brought and nobody attributed."""
    from .attribution import attribution_sweep

    return attribution_sweep()


@shared_task(acks_late=True)
def catch_up_commissions() -> int:
    """The sweep behind the pickup and refund hooks (batch pickups, late payments)."""
    from .commissions import commissions_catch_up

    return commissions_catch_up()
