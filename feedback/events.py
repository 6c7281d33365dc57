"""Events the feedback app publishes: reviews (晒单) and NPS answers (analytics reads them from the stream)."""

from __future__ import annotations

from groupbuy import events


@events.event("feedback.review_posted")
class ReviewPosted(events.DomainEvent):
    review_id: int
    order_id: int
    campaign_id: int
    community_id: int
    user_id: int
    rating: int
    photos: int


@events.event("feedback.review_hidden")
class ReviewHidden(events.DomainEvent):
    review_id: int
    campaign_id: int
    by: int
    reason: str


@events.event("feedback.nps_asked")
class NpsAsked(events.DomainEvent):
    """Surveys were made for members who picked up (by the pickup subscriber or the sweep)."""

    survey_ids: tuple[int, ...]


@events.event("feedback.nps_answered")
class NpsAnswered(events.DomainEvent):
    survey_id: int
    user_id: int
    campaign_id: int
    community_id: int
    score: int
