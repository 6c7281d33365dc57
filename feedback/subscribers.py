"""What the feedback app does when fulfilment reports a pickup (registered in ``FeedbackConfig.ready``)."""

from __future__ import annotations

from fulfillment import events as fulfillment_events
from groupbuy import events


def ask_after_pickup(batch: list) -> None:
    """核销 committed: ask these members the NPS question (the periodic sweep repeats this if we never ran)."""
    from .nps import surveys_ask

    surveys_ask(order_ids=[event.order_id for event in batch])


def register() -> None:
    events.subscribe_many(fulfillment_events.OrderPickedUp, ask_after_pickup)
