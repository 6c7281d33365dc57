"""Reads for the live room and the host's control panel: the snapshots pushed over the socket.

Each snapshot is whole (not a delta): the room (status, the product being explained, the jielong link),
the question queue, and the live metrics. ``broadcast`` sends them after commit; the consumer sends
them on connect, so a reconnecting client is in sync again.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, F

from catalogue.models import SKU
from groupbuy import clock

from . import chat, hooks, watch
from .models import Comment, LiveSession, Reservation, WatchRecord

RECENT_COMMENTS = 50
QUEUE_LIMIT = 100
REMINDER_BEFORE_END = timedelta(minutes=10)


def jielong_url(campaign_id: int | None) -> str:
    """The members' page of the session's jielong while it still takes joins, through jielong's providers
    ("" without one, or once the campaign has closed: the room must not invite members to a closed jielong)."""
    if not campaign_id or not hooks.campaign_is_open(campaign_id):
        return ""
    return hooks.campaign_url(campaign_id) or ""


def room_snapshot(*, session_id: int) -> dict | None:
    session = LiveSession.objects.filter(pk=session_id).first()
    if session is None:
        return None
    pinned = None
    if session.pinned_at:
        pinned = {
            "sku_id": session.pinned_sku_id,
            "name": session.pinned_name,
            "price_fen": session.pinned_price_fen,
            "image_url": session.pinned_image_url,
        }
    url = jielong_url(session.jielong_campaign_id)
    return {
        "session_id": session.pk,
        "status": session.status,
        "pinned": pinned,
        "jielong": {"url": url} if url else None,
        "replay_url": session.replay_url,
        # The player, the media server's state and the recorded replay, from the media app (None without it).
        "media": hooks.room_media(session.pk),
    }


def recent_comments(*, session_id: int, limit: int = RECENT_COMMENTS) -> list[dict]:
    """The last visible comments (not questions), oldest first."""
    comments = (
        Comment.objects.filter(session_id=session_id, kind=Comment.Kind.COMMENT, status=Comment.Status.VISIBLE)
        .select_related("user")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [chat.comment_data(c) for c in reversed(list(comments))]


def question_queue(*, session_id: int, limit: int = QUEUE_LIMIT) -> dict:
    """Open questions for the assistant and the host: picked ones first, then oldest first."""
    open_questions = Comment.objects.filter(
        session_id=session_id,
        kind=Comment.Kind.QUESTION,
        status=Comment.Status.VISIBLE,
        merged_into__isnull=True,
        answered_at__isnull=True,
    )
    rows = (
        open_questions.select_related("user")
        .annotate(duplicate_count=Count("duplicates"))
        .order_by(F("picked_at").asc(nulls_last=True), "created_at", "pk")[:limit]
    )
    questions = [
        {**chat.comment_data(q), "picked": q.picked_at is not None, "duplicates": q.duplicate_count} for q in rows
    ]
    answered = Comment.objects.filter(
        session_id=session_id, kind=Comment.Kind.QUESTION, merged_into__isnull=True, answered_at__isnull=False
    ).count()
    return {"questions": questions, "open": open_questions.count(), "answered": answered}


def live_metrics(*, session_id: int, now=None) -> dict | None:
    """Online now, peak, comments per minute, reserved vs watching, joins and GMV (when jielong tells)."""
    now = now or clock.now()
    session = LiveSession.objects.filter(pk=session_id).first()
    if session is None:
        return None
    online, peak = watch.online_counts(session_id=session_id)
    reserved_ids = Reservation.objects.filter(session_id=session_id).values("user_id")
    sales = hooks.sales(session_id)
    minutes_left = None
    if session.status == LiveSession.Status.LIVE:
        minutes_left = max(int((session.scheduled_end - now).total_seconds() // 60), 0)
    return {
        "status": session.status,
        "online": online,
        "peak": max(peak or 0, session.peak_online),
        "comments_per_minute": Comment.objects.filter(
            session_id=session_id, created_at__gte=now - timedelta(minutes=1)
        ).count(),
        "reservations": Reservation.objects.filter(session_id=session_id).count(),
        "viewers": WatchRecord.objects.filter(session_id=session_id).count(),
        "reserved_viewers": WatchRecord.objects.filter(session_id=session_id, user_id__in=reserved_ids).count(),
        "joins": sales.joins if sales else None,
        "gmv_fen": sales.gmv_fen if sales else None,
        "minutes_left": minutes_left,
        "remind_jielong": is_reminder_due(session=session, now=now),
    }


def is_reminder_due(*, session: LiveSession, now=None) -> bool:
    """The last ten minutes of a live session whose jielong is not out yet: time to get it ready."""
    now = now or clock.now()
    return (
        session.status == LiveSession.Status.LIVE
        and session.jielong_requested_at is None
        and session.jielong_opened_at is None
        and now >= session.scheduled_end - REMINDER_BEFORE_END
    )


def reminder_at_ms(*, session: LiveSession) -> int | None:
    """When the panel's clock should raise the reminder (epoch ms), for a live session without a jielong yet."""
    if session.status != LiveSession.Status.LIVE or session.jielong_requested_at or session.jielong_opened_at:
        return None
    return int((session.scheduled_end - REMINDER_BEFORE_END).timestamp() * 1000)


def pin_choices(*, session: LiveSession) -> list[hooks.PinCandidate]:
    """What the host may pin: the campaign's items when jielong provides them, else the brand's catalogue."""
    candidates = hooks.pin_candidates(session.pk)
    if candidates:
        return candidates
    skus = (
        SKU.objects.filter(is_active=True, product__is_active=True, product__supplier__brand_id=session.series.brand_id)
        .select_related("product")
        .order_by("product__name", "pk")[:50]
    )
    return [
        hooks.PinCandidate(
            sku_id=sku.pk,
            name=f"{sku.product.name} {sku.spec_label}".strip(),
            price_fen=sku.list_price_fen,
            image_url=sku.product.image.url if sku.product.image else "",
        )
        for sku in skus
    ]
