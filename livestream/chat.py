"""The live room's conversation: comments and questions (提问), their triage, and moderation.

Who may do what:

- **post**: an active member of one of the session's target communities (or the session's staff),
  while the session is live, not muted, within the rate limit (``LIVE_COMMENT_RATE``, default 5
  comments per 10 s per member and session), 1–200 characters, no blocked word, nothing the database
  cannot store (NUL, lone surrogates). A comment with a blocked word is *refused* (not masked): the
  member is told and may rephrase; nothing is stored.

The rate limit is count-and-claim: a comment first takes its place in the member's window with one
atomic Redis ``INCR`` (the window's expiry set by the same script), and is refused when its number is
over the limit — so any number of parallel comments store at most the limit. When the cache does not
answer, the limit falls back to a window kept in this process, with the same numbers: a member keeps
talking in the room while Redis is down (comments are stored in PostgreSQL and shown on reload), and
one process never lets more than the limit through. With several processes the bound is the limit
per process, which we accept for the minutes Redis is away rather than silencing every room.
- **triage** (pick, merge, mark answered) and **moderation** (hide a comment, mute a member): the
  session's hosts and assistants, and operators.
- **blocked words**: operators, per brand.

Every refusal raises a :class:`DomainError` with a translated message and changes nothing. Pushes to
the room go out after commit (``broadcast``); analytics hear ``livestream.commented`` /
``livestream.asked`` through the domain-event bus.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from community import inputs, throttle
from community import selectors as community_selectors
from community.access import may_manage_community, may_see_brand
from community.models import Brand, Community, User
from groupbuy import clock, events
from groupbuy.commit import after_commit
from groupbuy.errors import DomainError

from . import broadcast, selectors
from . import events as livestream_events
from .models import BannedWord, Comment, LiveSession, Mute

logger = logging.getLogger(__name__)

RATE_PREFIX = "liverate:"


class CommentRefused(DomainError):
    pass


class ModerationError(DomainError):
    pass


class ModerationPermissionError(DomainError):
    pass


# --- reading helpers shared with the panel -------------------------------------------------------


def comment_data(comment: Comment) -> dict:
    """How a comment travels to the browser (names only; phones are masked by ``display_name``)."""
    return {
        "id": comment.pk,
        "kind": comment.kind,
        "user_id": comment.user_id,
        "user": comment.user.display_name,
        "is_staff": comment.user.role != User.Role.MEMBER,
        "text": comment.text,
        "at": timezone.localtime(comment.created_at).strftime("%H:%M"),
    }


def is_muted(*, session: LiveSession, user: User) -> bool:
    return (
        Mute.objects.filter(user=user, session=session).exists()
        or Mute.objects.filter(user=user, community__in=session.communities.all()).exists()
    )


def blocked_word_in(*, brand_id: int, text: str) -> str | None:
    folded = text.casefold()
    for word in BannedWord.objects.filter(brand_id=brand_id).values_list("word", flat=True):
        if word.casefold() in folded:
            return word
    return None


def may_speak(*, session: LiveSession, user: User) -> bool:
    """Members of a target community, and the session's own staff."""
    if selectors.user_may_open_panel(user=user, session=session):
        return True
    if user.role != User.Role.MEMBER:
        return False
    community_ids = community_selectors.member_active_community_ids(user=user)
    return session.communities.filter(pk__in=community_ids).exists()


# --- rate limit -------------------------------------------------------------------------------------


def _comment_limit() -> throttle.Limit:
    count, seconds = getattr(settings, "LIVE_COMMENT_RATE", (5, 10))
    return throttle.Limit(name="comment", count=count, seconds=seconds, prefix=RATE_PREFIX)


# INCR, and open the window's expiry with the first hit: atomic, so the counter can never outlive it.
_CLAIM_SCRIPT = """
local used = redis.call('INCR', KEYS[1])
if used == 1 or redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return used
"""

_local_windows: dict[str, tuple[float, int]] = {}
_local_lock = threading.Lock()


def _rate_key(session_id: int, user_id: int) -> str:
    # The same key space as community.throttle (``<prefix><name>:<subject>``), so ``clear_all`` finds it.
    return f"{RATE_PREFIX}{_comment_limit().name}:{session_id}:{user_id}"


def _rate_claim(session_id: int, user_id: int) -> tuple[bool, Callable[[], None]]:
    """Take this comment's place in the member's window: (whether it fits the limit, how to give it back).

    Counting happens before the check, in one atomic step, so parallel comments cannot all read
    "4 so far" and all be stored.
    """
    limit = _comment_limit()
    key = _rate_key(session_id, user_id)
    backend = getattr(cache, "_cache", None)
    try:
        if hasattr(backend, "get_client"):
            client = backend.get_client(key, write=True)
            used = int(client.eval(_CLAIM_SCRIPT, 1, cache.make_key(key), limit.seconds))
        else:
            used = throttle.hit(limit, f"{session_id}:{user_id}")  # locmem: incr is atomic under its lock
    except Exception:
        logger.warning("live comment rate: the cache does not answer; counting in this process", exc_info=True)
        return _local_claim(key, limit), partial(_local_release, key)
    return used <= limit.count, partial(_cache_release, key)


def _cache_release(key: str) -> None:
    with contextlib.suppress(Exception):  # the window closed, or the cache is away: nothing to give back
        cache.decr(key)


def _local_claim(key: str, limit: throttle.Limit) -> bool:
    now = time.monotonic()
    with _local_lock:
        for stale in [k for k, (started, _used) in _local_windows.items() if now - started >= limit.seconds]:
            del _local_windows[stale]
        started, used = _local_windows.get(key, (now, 0))
        _local_windows[key] = (started, used + 1)
        return used + 1 <= limit.count


def _local_release(key: str) -> None:
    with _local_lock:
        started, used = _local_windows.get(key, (0.0, 0))
        if used:
            _local_windows[key] = (started, used - 1)


def rate_clear_all() -> None:
    """Forget every comment-rate counter (tests)."""
    throttle.clear_all(prefix=RATE_PREFIX)
    with _local_lock:
        _local_windows.clear()


def unstorable(text: str) -> bool:
    """NUL and lone surrogates: PostgreSQL refuses the one, UTF-8 cannot encode the other."""
    return inputs.unstorable(text)


def refuse_unstorable_text() -> None:
    raise CommentRefused(
        _("Your message contains characters that cannot be sent; remove them and try again."), code="bad_text"
    )


def _refuse_unstorable(text: str) -> None:
    if unstorable(text):
        refuse_unstorable_text()


# --- posting ----------------------------------------------------------------------------------------


def comment_post(*, session: LiveSession, user: User, text: str, kind: str = Comment.Kind.COMMENT) -> Comment:
    """Post a comment or a question (提问) in a live room; refused with a clear message otherwise."""
    text = (text or "").strip()
    if kind not in Comment.Kind.values:
        raise CommentRefused(_("Unknown kind of message."))
    _refuse_unstorable(text)
    if not text:
        raise CommentRefused(_("Write something first."))
    if len(text) > Comment.MAX_LENGTH:
        raise CommentRefused(
            _("Keep it to %(limit)d characters or fewer (yours has %(length)d).")
            % {"limit": Comment.MAX_LENGTH, "length": len(text)}
        )
    session = LiveSession.objects.select_related("series").get(pk=session.pk)
    if session.status != LiveSession.Status.LIVE:
        raise CommentRefused(_("Comments are open only while the session is live."))
    if not may_speak(session=session, user=user):
        raise CommentRefused(_("Only members of this live's communities may comment."))
    if is_muted(session=session, user=user):
        raise CommentRefused(_("You have been muted in this live and cannot comment."))
    if blocked_word_in(brand_id=session.series.brand_id, text=text):
        raise CommentRefused(_("Your message contains a blocked word; please rephrase it."))
    fits, release = _rate_claim(session.pk, user.pk)
    if not fits:
        release()  # a refused comment leaves the counter as it was
        raise CommentRefused(_("You are commenting too fast; wait a few seconds."))
    try:
        with transaction.atomic():
            comment = Comment.objects.create(session=session, user=user, text=text, kind=kind)
            said = livestream_events.Asked if kind == Comment.Kind.QUESTION else livestream_events.Commented
            events.publish(said(live_session_id=session.pk, user_id=user.pk, comment_id=comment.pk))
            after_commit(broadcast.comment_posted, comment.pk)
    except BaseException:
        release()
        raise
    return comment


# --- triage and moderation --------------------------------------------------------------------------


def _require_staff(*, session: LiveSession, by: User) -> None:
    if not selectors.user_may_open_panel(user=by, session=session):
        raise ModerationPermissionError(_("Only this session's hosts, assistants and operators may do that."))


def _locked_comment(*, session: LiveSession, comment_id: int, kind: str | None = None) -> Comment:
    comment = Comment.objects.select_for_update().filter(pk=comment_id, session=session).first()
    if comment is None or (kind and comment.kind != kind):
        raise ModerationError(_("That message is not in this session."))
    return comment


def comment_hide(*, session: LiveSession, comment_id: int, by: User) -> Comment:
    """Hide a comment or question from the room (it stays on record, marked hidden)."""
    _require_staff(session=session, by=by)
    with transaction.atomic():
        comment = _locked_comment(session=session, comment_id=comment_id)
        if comment.status == Comment.Status.HIDDEN:
            raise ModerationError(_("That message is already hidden."))
        comment.status = Comment.Status.HIDDEN
        comment.hidden_by = by
        comment.save(update_fields=["status", "hidden_by"])
        events.publish(
            livestream_events.CommentHidden(live_session_id=session.pk, user_id=by.pk, comment_id=comment.pk)
        )
        transaction.on_commit(partial(broadcast.comment_removed, session.pk, comment.pk))
    return comment


def member_mute(
    *, by: User, user: User, session: LiveSession | None = None, community: Community | None = None, reason: str = ""
) -> Mute:
    """Mute (禁言) a member in one session (its staff), or in a whole community (operators only)."""
    if (session is None) == (community is None):
        raise ModerationError(_("Mute a member either in one session or in one community."))
    if session is not None:
        _require_staff(session=session, by=by)
    elif not (by.is_operator and may_manage_community(user=by, community=community)):
        raise ModerationPermissionError(_("Only operators may mute a member in a whole community."))
    if user.role != User.Role.MEMBER:
        raise ModerationError(_("Only members can be muted."))
    reason = reason.strip()[:200]
    try:
        with transaction.atomic():
            mute = Mute.objects.create(session=session, community=community, user=user, muted_by=by, reason=reason)
            events.publish(
                livestream_events.MemberMuted(
                    live_session_id=session.pk if session else None,
                    community_id=community.pk if community else None,
                    user_id=user.pk,
                    muted_by=by.pk,
                )
            )
    except IntegrityError:
        raise ModerationError(_("%(name)s is already muted.") % {"name": user.display_name}) from None
    return mute


def question_pick(*, session: LiveSession, comment_id: int, by: User) -> Comment:
    """Put a question in front of the host (the assistant's "pick")."""
    _require_staff(session=session, by=by)
    with transaction.atomic():
        question = _locked_comment(session=session, comment_id=comment_id, kind=Comment.Kind.QUESTION)
        if question.answered_at or question.merged_into_id or question.status == Comment.Status.HIDDEN:
            raise ModerationError(_("That question is no longer in the queue."))
        question.picked_at = None if question.picked_at else clock.now()
        question.save(update_fields=["picked_at"])
        transaction.on_commit(partial(broadcast.queue_changed, session.pk))
    return question


def question_merge(*, session: LiveSession, comment_id: int, into_id: int, by: User) -> Comment:
    """Merge a duplicate question into another one; answering that one answers both."""
    _require_staff(session=session, by=by)
    if comment_id == into_id:
        raise ModerationError(_("A question cannot be merged into itself."))
    with transaction.atomic():
        # Lock both rows in a fixed order.
        rows = list(
            Comment.objects.select_for_update()
            .filter(pk__in=[comment_id, into_id], session=session, kind=Comment.Kind.QUESTION)
            .order_by("pk")
        )
        by_pk = {c.pk: c for c in rows}
        duplicate, target = by_pk.get(comment_id), by_pk.get(into_id)
        if duplicate is None or target is None:
            raise ModerationError(_("That message is not in this session."))
        if target.merged_into_id or target.status == Comment.Status.HIDDEN:
            raise ModerationError(_("Merge into a question that is still in the queue."))
        if duplicate.merged_into_id or duplicate.answered_at:
            raise ModerationError(_("That question is no longer in the queue."))
        duplicate.merged_into = target
        duplicate.save(update_fields=["merged_into"])
        # Duplicates of the duplicate follow it, so the queue stays one level deep.
        Comment.objects.filter(merged_into=duplicate).update(merged_into=target)
        transaction.on_commit(partial(broadcast.queue_changed, session.pk))
    return duplicate


def question_answer(*, session: LiveSession, comment_id: int, by: User) -> Comment:
    """Mark a question answered (with the duplicates merged into it)."""
    _require_staff(session=session, by=by)
    with transaction.atomic():
        question = _locked_comment(session=session, comment_id=comment_id, kind=Comment.Kind.QUESTION)
        if question.answered_at:
            raise ModerationError(_("That question is already answered."))
        if question.merged_into_id or question.status == Comment.Status.HIDDEN:
            raise ModerationError(_("That question is no longer in the queue."))
        now = clock.now()
        question.answered_at = now
        question.save(update_fields=["answered_at"])
        Comment.objects.filter(merged_into=question, answered_at__isnull=True).update(answered_at=now)
        events.publish(
            livestream_events.QuestionAnswered(
                live_session_id=session.pk, user_id=question.user_id, comment_id=question.pk
            )
        )
        transaction.on_commit(partial(broadcast.queue_changed, session.pk))
        transaction.on_commit(partial(broadcast.metrics_changed, session.pk))
    return question


# --- blocked words (operators) ----------------------------------------------------------------------


def banned_word_add(*, brand: Brand, word: str, by: User) -> BannedWord:
    if not (by.is_operator and may_see_brand(user=by, brand=brand)):
        raise ModerationPermissionError(_("Only operators manage the blocked words."))
    word = (word or "").strip()
    _refuse_unstorable(word)
    if not word:
        raise ModerationError(_("Enter a word to block."))
    if len(word) > 32:
        raise ModerationError(_("A blocked word has at most 32 characters."))
    if BannedWord.objects.filter(brand=brand, word__iexact=word).exists():
        raise ModerationError(_("“%(word)s” is already blocked.") % {"word": word})
    try:
        with transaction.atomic():
            return BannedWord.objects.create(brand=brand, word=word, created_by=by)
    except IntegrityError:
        raise ModerationError(_("“%(word)s” is already blocked.") % {"word": word}) from None


def banned_word_remove(*, brand: Brand, word_id: int, by: User) -> None:
    if not (by.is_operator and may_see_brand(user=by, brand=brand)):
        raise ModerationPermissionError(_("Only operators manage the blocked words."))
    deleted, _rows = BannedWord.objects.filter(brand=brand, pk=word_id).delete()
    if not deleted:
        raise ModerationError(_("That word is not on the list."))
