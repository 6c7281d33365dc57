"""The event stream's periodic work."""

from celery import shared_task

from . import relay as stream_relay


@shared_task(name="groupbuy.stream.tasks.relay")
def relay() -> dict[str, int]:
    """Run the stream's durable consumers from their cursors (idempotent; see ``groupbuy.stream.relay``)."""
    return stream_relay.relay()
