"""Events the customer data platform publishes (the stream records every one)."""

from __future__ import annotations

from groupbuy import events


@events.event("cdp.segment_saved")
class SegmentSaved(events.DomainEvent):
    segment_id: int
    brand_id: int
    by: int


@events.event("cdp.round_targeted")
class RoundTargeted(events.DomainEvent):
    round_id: int
    segment_id: int | None  # None: back to the round's own audience
    is_invitation: bool
    by: int


@events.event("cdp.phone_unmasked")
class PhoneUnmasked(events.DomainEvent):
    user_id: int  # whose phone
    by: int


@events.event("cdp.koc_designated")
class KocDesignated(events.DomainEvent):
    user_id: int
    community_id: int
    score: float
    by: int
