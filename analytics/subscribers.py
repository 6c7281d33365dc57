"""Every domain event becomes a row in the event stream."""

from groupbuy import events

from .services import event_record


def record_domain_event(event: events.DomainEvent) -> None:
    event_record(name=event.name, **dict(event.payload))


def register() -> None:
    events.subscribe("*", record_domain_event)
