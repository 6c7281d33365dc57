"""Background work for the event stream."""

from typing import Any

from celery import shared_task

from .services import event_record


@shared_task(name="analytics.event_record")
def event_record_task(name: str, payload: dict[str, Any] | None = None) -> int:
    """Record one event off the request path (for producers that should not wait on the write).

    Thin on purpose: the payload is plain JSON (ids, not objects), the service does the work.
    Not ``acks_late``: a redelivered message would append the event twice.
    """
    return event_record(name=name, **dict(payload or {})).pk
