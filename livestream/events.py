"""Events the livestream app publishes: the session's life, reservations, watching and the room."""

from __future__ import annotations

from groupbuy import events


@events.event("livestream.session_started")
class SessionStarted(events.DomainEvent):
    live_session_id: int
    user_id: int


@events.event("livestream.session_ended")
class SessionEnded(events.DomainEvent):
    live_session_id: int
    user_id: int


@events.event("livestream.session_rescheduled")
class SessionRescheduled(events.DomainEvent):
    live_session_id: int
    user_id: int


@events.event("livestream.session_cancelled")
class SessionCancelled(events.DomainEvent):
    live_session_id: int
    user_id: int


@events.event("livestream.reserved")
class Reserved(events.DomainEvent):
    live_session_id: int
    user_id: int


@events.event("livestream.reservation_cancelled")
class ReservationCancelled(events.DomainEvent):
    live_session_id: int
    user_id: int


@events.event("livestream.item_pinned")
class ItemPinned(events.DomainEvent):
    live_session_id: int
    user_id: int
    sku_id: int | None


@events.event("livestream.item_unpinned")
class ItemUnpinned(events.DomainEvent):
    """The host took the product being explained down (the end of its explanation, 讲解结束)."""

    live_session_id: int
    user_id: int


@events.event("livestream.jielong_requested")
class JielongRequested(events.DomainEvent):
    """The host pressed 发布接龙 in the control panel."""

    live_session_id: int
    user_id: int


@events.event("livestream.entered")
class Entered(events.DomainEvent):
    live_session_id: int
    user_id: int


@events.event("livestream.heartbeat")
class Heartbeat(events.DomainEvent):
    """At most one per member and minute (not one per 10-second beat)."""

    live_session_id: int
    user_id: int
    seconds_watched: int


@events.event("livestream.left")
class Left(events.DomainEvent):
    live_session_id: int
    user_id: int
    seconds_connected: int


@events.event("livestream.commented")
class Commented(events.DomainEvent):
    live_session_id: int
    user_id: int
    comment_id: int


@events.event("livestream.asked")
class Asked(events.DomainEvent):
    live_session_id: int
    user_id: int
    comment_id: int


@events.event("livestream.comment_hidden")
class CommentHidden(events.DomainEvent):
    live_session_id: int
    user_id: int
    comment_id: int


@events.event("livestream.member_muted")
class MemberMuted(events.DomainEvent):
    live_session_id: int | None
    community_id: int | None
    user_id: int
    muted_by: int


@events.event("livestream.question_answered")
class QuestionAnswered(events.DomainEvent):
    live_session_id: int
    user_id: int
    comment_id: int
