"""What the media app hears from livestream (registered in ``MediaConfig.ready``): pins make chapters, and the
end of a session closes the last chapter and stops the pushes."""

from __future__ import annotations

from groupbuy import events
from livestream import events as livestream_events
from livestream.models import LiveSession

from . import chapters


def on_item_pinned(event: livestream_events.ItemPinned) -> None:
    chapters.chapter_open_for_pin(session_id=event.live_session_id)


def on_item_unpinned(event: livestream_events.ItemUnpinned) -> None:
    chapters.chapter_close_now(session_id=event.live_session_id)


def on_session_ended(event: livestream_events.SessionEnded) -> None:
    ended_at = LiveSession.objects.filter(pk=event.live_session_id).values_list("ended_at", flat=True).first()
    chapters.chapter_close_now(session_id=event.live_session_id, at=ended_at)


def register() -> None:
    events.subscribe(livestream_events.ItemPinned, on_item_pinned)
    events.subscribe(livestream_events.ItemUnpinned, on_item_unpinned)
    events.subscribe(livestream_events.SessionEnded, on_session_ended)
