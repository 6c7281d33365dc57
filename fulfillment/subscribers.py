"""fulfillment listens to jielong: a formed group (成团) is split into pick, load and hand-out lists."""

from groupbuy import events
from jielong import events as jielong_events

from . import tasks


def split_when_group_forms(event: jielong_events.GroupFormed) -> None:
    # The sweep finds the formed campaign anyway; this only saves the wait for it.
    tasks.split_due_days.delay()


def register() -> None:
    events.subscribe(jielong_events.GroupFormed, split_when_group_forms)
