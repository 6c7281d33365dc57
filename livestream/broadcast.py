"""Real-time pushes to a live room, sent after commit from the process's broadcaster thread (groupbuy/broadcaster.py).

Every connection to a session's room is in ``room_group``; the hosts', assistants' and operators'
connections are also in ``staff_group``. New comments go out in small batches: each process collects
the comments committed in it for ``COMMENT_BATCH_SECONDS`` and sends them as one message per room, so
a burst of comments costs a bounded number of messages and none is lost in between. Everything
else is a full snapshot — the room (pinned product, jielong link, status), the question
queue, the live metrics — so a client that missed a message simply takes the next, and re-syncs on
reconnect. Snapshots are coalesced like the jielong progress: the first change in a window claims a
cache key and schedules one flush ``COALESCE_SECONDS`` later, so a burst of heartbeats or questions
becomes a bounded number of messages.

Redis down: the cache cannot hold the coalescing keys, so each process coalesces in its own memory
instead (the same window, one flush per process); the sends themselves then fail on the broadcaster
thread, which logs them. Nothing here raises into the request that committed the change, and every
socket re-syncs from full snapshots when it reconnects.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from functools import partial

from django.core.cache import cache

from groupbuy.broadcaster import broadcaster

COALESCE_SECONDS = 0.2
COMMENT_BATCH_SECONDS = 0.25
METRICS_COALESCE_SECONDS = 1.0

ROOM, QUEUE, METRICS = "room", "queue", "metrics"

logger = logging.getLogger(__name__)


def room_group(session_id: int) -> str:
    return f"live.session.{session_id}"


def staff_group(session_id: int) -> str:
    return f"live.session.{session_id}.staff"


def user_group(user_id: int) -> str:
    """Every live-room connection of one user (told when a membership of theirs ends)."""
    return f"live.user.{user_id}"


def _pending_key(what: str, session_id: int) -> str:
    return f"live:broadcast-pending:{what}:{session_id}"


# --- what the rest of the app calls (after commit) -------------------------------------------------


def comment_posted(comment_id: int) -> None:
    """A visible comment goes to the whole room (batched); a question only to the staff's queue."""
    _add_comment(comment_id)


def comment_removed(session_id: int, comment_id: int) -> None:
    message = _with_text({"type": "live.comment_removed", "comment_id": comment_id})
    broadcaster().call_soon(partial(_messages, [(room_group(session_id), message)]))
    queue_changed(session_id)


def _to_user(user_id: int, kind: str) -> None:
    broadcaster().call_soon(partial(_messages, [(user_group(user_id), {"type": kind})]))


def membership_ended(user_id: int) -> None:
    """One of the user's memberships ended: their open rooms check access again (and close if it is gone)."""
    _to_user(user_id, "live.membership_ended")


def signed_out(user_id: int) -> None:
    """Every session of the user ended: their open rooms close."""
    _to_user(user_id, "live.signed_out")


def access_changed(user_id: int) -> None:
    """The user's role changed: their open rooms and panels close, and the pages reload under the new one."""
    _to_user(user_id, "live.access_changed")


def room_changed(session_id: int) -> None:
    _schedule(ROOM, session_id, COALESCE_SECONDS)


def queue_changed(session_id: int) -> None:
    _schedule(QUEUE, session_id, COALESCE_SECONDS)


def metrics_changed(session_id: int) -> None:
    _schedule(METRICS, session_id, METRICS_COALESCE_SECONDS)


_local_pending: set[tuple[str, int]] = set()
_local_pending_lock = threading.Lock()


def _claim_window(what: str, session_id: int) -> bool:
    """The first change of a window claims it (across processes in the cache, else in this process)."""
    try:
        return bool(cache.add(_pending_key(what, session_id), 1, timeout=10))
    except Exception:
        logger.warning("live broadcast: the cache does not answer; coalescing %s in this process", what, exc_info=True)
    with _local_pending_lock:
        if (what, session_id) in _local_pending:
            return False
        _local_pending.add((what, session_id))
        return True


def _release_window(what: str, session_id: int) -> None:
    with _local_pending_lock:
        _local_pending.discard((what, session_id))
    try:
        cache.delete(_pending_key(what, session_id))
    except Exception:
        logger.warning("live broadcast: the cache does not answer; %s window closed in this process", what)


def _schedule(what: str, session_id: int, delay: float) -> None:
    if _claim_window(what, session_id):
        broadcaster().call_at(time.monotonic() + delay, partial(_flush, what, session_id))


# --- runs on the broadcaster thread ----------------------------------------------------------------


# What each message becomes in the browser (consumers.py sends the same for a message without text).
BROWSER_FORM = {
    "live.comments": ("new_comments", "comments"),
    "live.comment_removed": ("comment_removed", "comment_id"),
    "live.room": ("room", "room"),
    "live.queue": ("queue", "queue"),
    "live.metrics": ("metrics", "metrics"),
}


def browser_form(message: dict) -> dict:
    kind, key = BROWSER_FORM[message["type"]]
    return {"type": kind, key: message[key]}


def _with_text(message: dict) -> dict:
    """The message with its browser text, serialised once here rather than once per socket: every
    process's relay writes the same text to each of its watchers (consumers.py)."""
    return {**message, "text": json.dumps(browser_form(message))}


def _messages(sends: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    return sends


def _send_comments(comment_ids: list[int]) -> list[tuple[str, dict]]:
    from . import chat
    from .models import Comment

    comments = Comment.objects.select_related("user").filter(pk__in=comment_ids, status=Comment.Status.VISIBLE)
    by_room: dict[int, list[dict]] = {}
    for comment in comments.order_by("created_at", "pk"):
        if comment.kind == Comment.Kind.COMMENT:
            by_room.setdefault(comment.session_id, []).append(chat.comment_data(comment))
        else:
            _schedule(QUEUE, comment.session_id, COALESCE_SECONDS)
        _schedule(METRICS, comment.session_id, METRICS_COALESCE_SECONDS)
    return [
        (room_group(session_id), _with_text({"type": "live.comments", "comments": batch}))
        for session_id, batch in by_room.items()
    ]


def _flush(what: str, session_id: int) -> list[tuple[str, dict]]:
    from . import panel

    # Delete the key before reading, so a change committed after the read opens a new window.
    _release_window(what, session_id)
    if what == ROOM:
        snapshot = panel.room_snapshot(session_id=session_id)
        return [(room_group(session_id), _with_text({"type": "live.room", "room": snapshot}))] if snapshot else []
    if what == QUEUE:
        queue = panel.question_queue(session_id=session_id)
        return [(staff_group(session_id), _with_text({"type": "live.queue", "queue": queue}))]
    snapshot = panel.live_metrics(session_id=session_id)
    return [(staff_group(session_id), _with_text({"type": "live.metrics", "metrics": snapshot}))] if snapshot else []


_comment_ids: list[int] = []
_comment_lock = threading.Lock()


def _add_comment(comment_id: int) -> None:
    """Collect comments committed in this process; the first of a batch schedules the send."""
    with _comment_lock:
        first = not _comment_ids
        _comment_ids.append(comment_id)
    if first:
        broadcaster().call_at(time.monotonic() + COMMENT_BATCH_SECONDS, _take_comments)


def _take_comments() -> list[tuple[str, dict]]:
    global _comment_ids
    with _comment_lock:
        comment_ids, _comment_ids = _comment_ids, []
    return _send_comments(comment_ids)
