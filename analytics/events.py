"""Events the analytics app publishes itself: what only the edge of a request sees."""

from __future__ import annotations

from groupbuy import events


@events.event("analytics.link_opened")
class LinkOpened(events.DomainEvent):
    """Someone not signed in opened a share link (an invitation, a live room, a jielong); the stream
    row carries their anonymous device id, which merges into their person when they sign in."""

    path: str
    kind: str  # join / live / jielong
    ref: str = ""  # the invitation or sharer code in the link, if any
    live_session_id: int | None = None
