"""Events the highlights app publishes: clips generated from a recording, and the operator's review of them."""

from __future__ import annotations

from groupbuy import events


@events.event("highlights.clips_generated")
class ClipsGenerated(events.DomainEvent):
    """A recording's clips are planned (the files follow from the same task)."""

    live_session_id: int
    recording_id: int
    clips: int


@events.event("highlights.clip_published")
class ClipPublished(events.DomainEvent):
    clip_id: int
    live_session_id: int
    user_id: int


@events.event("highlights.clip_unpublished")
class ClipUnpublished(events.DomainEvent):
    clip_id: int
    live_session_id: int
    user_id: int


@events.event("highlights.clip_trimmed")
class ClipTrimmed(events.DomainEvent):
    clip_id: int
    live_session_id: int
    user_id: int
    start_s: float
    end_s: float


@events.event("highlights.clip_attached")
class ClipAttached(events.DomainEvent):
    """A published clip now shows on a campaign page or goes out with a warm-up round (``None``: detached)."""

    clip_id: int
    live_session_id: int
    user_id: int
    campaign_id: int | None
    warmup_round_id: int | None
