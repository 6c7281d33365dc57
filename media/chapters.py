"""Chapters of a session (讲解): one per product explanation, from pin to unpin, the next pin, or the end.

Kept from the livestream app's events (``item_pinned``, ``item_unpinned``, ``session_ended``), in wall-clock
time; :func:`recording_chapters` turns them into offsets of one recording for the replay's chapter list.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from groupbuy import clock
from livestream.models import LiveSession

from .models import Chapter, Recording


def chapter_close(*, session_id: int, at: datetime) -> int:
    """End the open chapter of the session at ``at`` (a no-op when none is open); returns how many closed."""
    return Chapter.objects.filter(session_id=session_id, ended_at__isnull=True).update(ended_at=at)


def chapter_open_for_pin(*, session_id: int) -> Chapter | None:
    """The host pinned a product: close the chapter before it and open one for this product (once per pin)."""
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None or session.pinned_at is None:
            return None
        open_ = Chapter.objects.filter(session_id=session_id, ended_at__isnull=True).first()
        if open_ is not None and open_.started_at == session.pinned_at:
            return open_  # this pin was heard already
        chapter_close(session_id=session_id, at=session.pinned_at)
        try:
            with transaction.atomic():
                return Chapter.objects.create(
                    session_id=session_id,
                    sku_id=session.pinned_sku_id,
                    title=session.pinned_name or "—",
                    started_at=session.pinned_at,
                )
        except IntegrityError:
            return None


def chapter_close_now(*, session_id: int, at: datetime | None = None) -> int:
    return chapter_close(session_id=session_id, at=at or clock.now())


def recording_chapters(recording: Recording) -> list[dict]:
    """The session's chapters that fall in the recording, as ``{title, start, end}`` seconds into its MP4."""
    if recording.duration_seconds is None:
        return []
    length = recording.duration_seconds
    result = []
    for chapter in Chapter.objects.filter(session_id=recording.session_id).order_by("started_at", "pk"):
        start = max(0.0, recording.offset(chapter.started_at))
        end = length if chapter.ended_at is None else min(length, recording.offset(chapter.ended_at))
        if end - start < 1 or start >= length:
            continue
        result.append({"id": chapter.pk, "title": chapter.title, "start": round(start, 1), "end": round(end, 1)})
    return result
