"""The live room over WebSockets: one room per session (``/ws/live/<id>/``).

Everyone allowed in the room (members of a target community, the session's staff, operators) is in
the room group (through the process's relay, ``groupbuy.realtime``): new comments, removals of hidden comments, and room snapshots (status, the product being
explained, the jielong link). Staff connections also join the staff group: the question queue and
the live metrics. On connect the consumer sends the current snapshots, so a reconnecting client is in
sync again. Members comment and ask through the socket; staff send their triage actions the same way.

A member's connections are also in their own group (``user_group``): when a membership ends (the
member left or was removed; ``livestream.subscribers``), the consumer checks access again and closes
with 4403 if the member may no longer watch; a staff role change closes it too (``access_changed``), and a
sign-out everywhere with 4401 (``signed_out``). Anything a frame carries that cannot be handled (not
JSON, text the database cannot store, an unexpected error) is answered with an ``error`` message; the
socket stays open.

When the channel layer (Redis) does not answer at connect, the socket is accepted, told
``unavailable`` (the page shows "live interaction is unavailable") and closed with 1013 (try again
later); the page's socket reconnects with backoff and re-syncs from the snapshots once Redis is back.
"""

from __future__ import annotations

import json
import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy

from community import selectors as community_selectors
from groupbuy import realtime
from groupbuy.errors import DomainError

from . import actions, panel, selectors, watch
from .broadcast import BROWSER_FORM, browser_form, room_group, staff_group, user_group
from .models import LiveSession

logger = logging.getLogger(__name__)

STAFF, MEMBER = "staff", "member"
TRY_AGAIN_LATER = 1013  # RFC 6455: the server cannot serve the socket now
UNAVAILABLE = gettext_lazy("Live interaction is unavailable right now; please refresh later.")
UNREADABLE = gettext_lazy("That message could not be read; reload the page and try again.")


def _access(*, session_id: int, user) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    session = LiveSession.objects.filter(pk=session_id).first()
    if session is None:
        return None
    if selectors.user_may_open_panel(user=user, session=session):
        return STAFF
    if user.role != user.Role.MEMBER:
        return None
    community_ids = community_selectors.member_active_community_ids(user=user)
    if selectors.member_session(user=user, session_id=session_id, community_ids=community_ids) is None:
        return None
    return MEMBER


def _initial(*, session_id: int, is_staff: bool) -> list[dict]:
    messages = [
        {"type": "room", "room": panel.room_snapshot(session_id=session_id)},
        {"type": "comments", "comments": panel.recent_comments(session_id=session_id)},
    ]
    if is_staff:
        messages.append({"type": "queue", "queue": panel.question_queue(session_id=session_id)})
        messages.append({"type": "metrics", "metrics": panel.live_metrics(session_id=session_id)})
    return messages


def _perform(*, session_id: int, user, action: str, payload: dict, language: str) -> dict:
    with translation.override(language):
        session = LiveSession.objects.get(pk=session_id)
        try:
            return {"type": "ack", **actions.perform(session=session, user=user, action=action, payload=payload)}
        except DomainError as exc:
            return {"type": "error", "message": exc.message, "code": exc.code}


def _message(text, *, language: str) -> str:
    with translation.override(language):
        return str(text)


class LiveRoomConsumer(AsyncJsonWebsocketConsumer):
    # No channel of its own: group messages reach the consumer through this process's relays
    # (groupbuy.realtime). An alias that names no configured layer gives ``channel_layer = None``, so a
    # socket costs no Redis subscription and can still be accepted (and told why) while Redis is away.
    channel_layer_alias = "livestream.relay-only"

    async def connect(self) -> None:
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        self.user = self.scope.get("user")
        access = await database_sync_to_async(_access)(session_id=self.session_id, user=self.user)
        if access is None:
            await self.close(code=4403)
            return
        self.access = access
        self.connected_at = time.monotonic()
        groups = [room_group(self.session_id), user_group(self.user.pk)]
        if access == STAFF:
            groups.append(staff_group(self.session_id))
        self.joined = []
        try:
            for group in groups:
                self.joined.append(group)
                await realtime.relay(group).add(self)
        except Exception:
            logger.warning("live room %s: the channel layer does not answer", self.session_id, exc_info=True)
            await self._leave_groups()
            await self.accept()
            message = _message(UNAVAILABLE, language=self._language())
            await self.send_json({"type": "unavailable", "message": message})
            await self.close(code=TRY_AGAIN_LATER)
            return
        await self.accept()
        self.accepted = True
        for message in await database_sync_to_async(_initial)(session_id=self.session_id, is_staff=access == STAFF):
            await self.send_json(message)

    async def _leave_groups(self) -> None:
        joined, self.joined = getattr(self, "joined", []), []
        for group in joined:
            try:
                await realtime.relay(group).discard(self)
            except Exception:
                logger.warning("live room %s: could not leave %s", self.session_id, group, exc_info=True)

    async def disconnect(self, code: int) -> None:
        self.accepted = False
        await self._leave_groups()
        if getattr(self, "access", None) == MEMBER:
            await database_sync_to_async(watch.left_record)(
                session_id=self.session_id,
                user_id=self.user.pk,
                seconds_connected=int(time.monotonic() - self.connected_at),
            )

    def _language(self) -> str:
        requested = (self.scope.get("cookies") or {}).get(settings.LANGUAGE_COOKIE_NAME, "")
        try:
            return translation.get_supported_language_variant(requested)
        except LookupError:
            return settings.LANGUAGE_CODE

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        try:
            content = json.loads(text_data) if text_data is not None else None
        except ValueError:
            content = None
        if not isinstance(content, dict):
            message = _message(UNREADABLE, language=self._language())
            await self.send_json({"type": "error", "message": message, "code": "bad_frame"})
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict):
            return
        action = str(content.get("action") or "")
        payload = content.get("data") if isinstance(content.get("data"), dict) else {}
        try:
            reply = await database_sync_to_async(_perform)(
                session_id=self.session_id, user=self.user, action=action, payload=payload, language=self._language()
            )
        except Exception:
            # One bad frame must not close the room for this phone.
            logger.exception("live room %s: action %r failed", self.session_id, action)
            message = _message(UNREADABLE, language=self._language())
            reply = {"type": "error", "message": message, "code": "failed"}
        reply["action"] = action
        if "ref" in content:
            reply["ref"] = content["ref"]
        await self.send_json(reply)

    # --- group messages (relayed by this process's member of the group, see groupbuy.realtime) ----

    async def relay_message(self, message: dict) -> None:
        # Straight to the socket, not through ``dispatch``: Channels' dispatch first closes old
        # database connections on the one thread all this process's consumers share for database
        # work, so each relayed message waited in line behind every socket's connects and leaves —
        # once per watcher. During a join storm that line is long, and the room heard 发布接龙
        # seconds late. Relayed messages touch no database.
        if not getattr(self, "accepted", False):
            return
        if message.get("type") in BROWSER_FORM:
            await self.send(text_data=message.get("text") or await self.encode_json(browser_form(message)))
        elif message.get("type") == "live.membership_ended":
            await self.live_membership_ended(message)
        elif message.get("type") == "live.signed_out":
            await self.live_signed_out(message)
        elif message.get("type") == "live.access_changed":
            await self.live_access_changed(message)

    # Group messages reach a consumer only through the relay (``relay_message``); these handlers keep
    # a message dispatched any other way working the same.
    async def _send_relayed(self, message: dict) -> None:
        await self.relay_message(message)

    live_comments = live_comment_removed = live_room = live_queue = live_metrics = _send_relayed

    async def _close_for_good(self, kind: str, code: int) -> None:
        """Tell the page why (it reloads on each of these) and close with a final 44xx code."""
        self.accepted = False
        await self.send_json({"type": kind})
        await self.close(code=code)

    async def live_signed_out(self, message: dict) -> None:
        """The user signed out everywhere: this socket's session is over too (4401, and the page reloads
        to the sign-in)."""
        await self._close_for_good("signed_out", 4401)

    async def live_access_changed(self, message: dict) -> None:
        """The user's role changed: this socket was opened (and its actions are checked) under the old one.
        It closes (4403) and the page reloads, which opens the panel or room again as the new role allows."""
        await self._close_for_good("access_changed", 4403)

    async def live_membership_ended(self, message: dict) -> None:
        """One of this user's memberships ended: may they still watch this room?"""
        access = await database_sync_to_async(_access)(session_id=self.session_id, user=self.user)
        if access is None:
            await self._close_for_good("membership_revoked", 4403)
