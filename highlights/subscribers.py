"""What the highlights app hears (registered in ``HighlightsConfig.ready``): a recording's MP4 is ready."""

from __future__ import annotations

from groupbuy import events
from media import events as media_events

from . import tasks


def on_recording_ready(event: media_events.RecordingReady) -> None:
    # After the commit that made it ready (the bus runs handlers then); the worker cuts within the minute.
    tasks.generate_clips.delay(event.recording_id)


def register() -> None:
    events.subscribe(media_events.RecordingReady, on_recording_ready)
