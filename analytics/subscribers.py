"""Every domain event becomes a row in the event stream."""

from groupbuy import events

from .services import events_record


def record_domain_events(batch: list[events.DomainEvent]) -> None:
    events_record([(event.name, event.payload) for event in batch])


def register() -> None:
    events.subscribe_many(events.ALL, record_domain_events)
