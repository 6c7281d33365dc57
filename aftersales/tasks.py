from celery import shared_task


@shared_task(acks_late=True)
def escalate_due() -> int:
    """Requests past their SLA go to the operator (each once), and shortages a lost event missed get a request."""
    from .services import requests_escalate_due, shortages_sweep

    shortages_sweep()
    return requests_escalate_due()
