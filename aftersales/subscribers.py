"""aftersales listens to fulfilment: a recorded shortage opens a refund request for the member by itself."""

import logging

from fulfillment import events as fulfillment_events
from groupbuy import events

logger = logging.getLogger(__name__)


def open_for_shortage(event: fulfillment_events.ShortageRecorded) -> None:
    from .services import request_open_for_shortage

    # Runs after the shortage committed; if this fails, the periodic sweep opens the request.
    request_open_for_shortage(order_line_id=event.order_line_id, quantity=event.quantity)


def register() -> None:
    events.subscribe(fulfillment_events.ShortageRecorded, open_for_shortage)
