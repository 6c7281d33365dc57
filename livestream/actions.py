"""Parse one live-room action (from the socket or the panel's POST) and call the one service it names.

Members may ``comment`` and ``ask``; the session's staff may also triage, moderate, pin and publish the
jielong. Each service checks its own permission, so a member who sends a staff action is refused by
the service with the same clear message as anyone else.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from community.models import User
from groupbuy.errors import DomainError

from . import chat, services
from .models import Comment, LiveSession


class BadAction(DomainError):
    pass


def _int(payload: dict[str, Any], key: str) -> int:
    try:
        return int(payload.get(key))
    except (TypeError, ValueError):
        raise BadAction(_("That request is incomplete; reload the page and try again.")) from None


def _member(session: LiveSession, user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise BadAction(_("That member is not in this session."))
    return user


def perform(*, session: LiveSession, user: User, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Run ``action``; returns what to acknowledge. Raises :class:`DomainError` when refused."""
    if any(isinstance(value, str) and chat.unstorable(value) for value in payload.values()):
        chat.refuse_unstorable_text()
    if action in ("comment", "ask"):
        kind = Comment.Kind.QUESTION if action == "ask" else Comment.Kind.COMMENT
        comment = chat.comment_post(session=session, user=user, text=str(payload.get("text") or ""), kind=kind)
        return {"comment": chat.comment_data(comment)}
    if action == "hide":
        chat.comment_hide(session=session, comment_id=_int(payload, "comment_id"), by=user)
        return {}
    if action == "mute":
        target = _member(session, _int(payload, "user_id"))
        chat.member_mute(session=session, user=target, by=user, reason=str(payload.get("reason") or ""))
        return {"message": _("%(name)s is muted in this live.") % {"name": target.display_name}}
    if action == "pick":
        chat.question_pick(session=session, comment_id=_int(payload, "comment_id"), by=user)
        return {}
    if action == "merge":
        chat.question_merge(
            session=session, comment_id=_int(payload, "comment_id"), into_id=_int(payload, "into_id"), by=user
        )
        return {}
    if action == "answer":
        chat.question_answer(session=session, comment_id=_int(payload, "comment_id"), by=user)
        return {}
    if action == "pin":
        services.session_pin_item(session=session, by=user, sku_id=_int(payload, "sku_id"))
        return {}
    if action == "unpin":
        services.session_unpin_item(session=session, by=user)
        return {}
    if action == "publish_jielong":
        services.session_publish_jielong(session=session, by=user)
        return {"message": _("The jielong is being published to the communities.")}
    raise BadAction(_("Unknown action."))
