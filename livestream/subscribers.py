"""livestream listens to jielong by event name only (no import): the opened campaign and its joins."""

from functools import partial

from django.db import transaction

from groupbuy import events

from . import broadcast, services
from .models import LiveSession


def show_jielong_in_the_room(event: events.DomainEvent) -> None:
    live_session_id = event.payload.get("live_session_id")
    if live_session_id:
        services.session_jielong_opened(live_session_id=live_session_id, campaign_id=event.payload["campaign_id"])


def refresh_sales_metrics(batch: list[events.DomainEvent]) -> None:
    """Joins arrive in bursts at the end of a live: one query per burst, not per join."""
    campaign_ids = {event.payload.get("campaign_id") for event in batch} - {None}
    if not campaign_ids:
        return
    for session_id in LiveSession.objects.filter(jielong_campaign_id__in=campaign_ids).values_list("pk", flat=True):
        transaction.on_commit(partial(broadcast.metrics_changed, session_id))


def register() -> None:
    events.subscribe("jielong.campaign_opened", show_jielong_in_the_room)
    events.subscribe_many("jielong.order_joined", refresh_sales_metrics)
    events.subscribe_many("jielong.order_cancelled", refresh_sales_metrics)
