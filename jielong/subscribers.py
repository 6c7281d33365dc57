"""jielong listens to livestream: a session's end opens the campaign prepared for it."""

from groupbuy import events

from . import services


def open_campaigns_when_session_ends(event: events.DomainEvent) -> None:
    services.campaigns_open_for_session(live_session_id=event.payload["live_session_id"])


def register() -> None:
    events.subscribe("livestream.session_ended", open_campaigns_when_session_ends)
