"""Real-time progress of a campaign: every watcher of a campaign page gets its snapshots.

Fan-out: a campaign can have a thousand watchers, and at the end of a live they all want every
snapshot. Each server process joins the campaign's group once (``groupbuy.realtime``) and writes each
snapshot, already serialised by the broadcaster, straight to its local watchers' sockets.
"""

from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.serializers.json import DjangoJSONEncoder

from groupbuy import realtime

from . import access, selectors
from .broadcast import campaign_group
from .models import Campaign


class CampaignProgressConsumer(AsyncJsonWebsocketConsumer):
    """Sends the full snapshot on connect, then every snapshot broadcast for the campaign.

    The channel layer delivers at most once, so messages are whole snapshots with a version:
    a client that missed one simply takes the next, and re-syncs on reconnect.
    """

    async def connect(self) -> None:
        self.campaign_id = int(self.scope["url_route"]["kwargs"]["campaign_id"])
        try:
            # Drafts are for staff: a member never gets a draft's snapshot, even one broadcast to the group.
            self.sees_drafts = await database_sync_to_async(_may_watch)(self.campaign_id, self.scope.get("user"))
        except access.CampaignNotFound:
            await self.close(code=4404)
            return
        except access.CampaignForbidden:
            await self.close(code=4403)
            return
        # Join the relay before reading the snapshot: a change committed in between is then
        # either in the snapshot or in a broadcast that reaches us.
        await realtime.relay(campaign_group(self.campaign_id)).add(self)
        self.watching = True
        snapshot = await database_sync_to_async(selectors.campaign_snapshot)(campaign_id=self.campaign_id)
        if snapshot is None:
            await self.close(code=4404)
            return
        await self.accept()
        await self.send_json({"type": "snapshot", "snapshot": snapshot})

    async def disconnect(self, code: int) -> None:
        if getattr(self, "watching", False):
            self.watching = False
            await realtime.relay(campaign_group(self.campaign_id)).discard(self)

    async def relay_message(self, message: dict) -> None:
        if message.get("type") != "campaign.snapshot" or not (getattr(self, "watching", False) and self.accepted):
            return
        snapshot_status = message.get("status") or (message.get("snapshot") or {}).get("status")
        if snapshot_status == Campaign.Status.DRAFT and not self.sees_drafts:
            return
        await self.send(text_data=message.get("text") or _as_text(message["snapshot"]))

    @property
    def accepted(self) -> bool:
        # Set by websocket.accept; before that, sending would be refused by the server.
        return getattr(self, "_accepted", False)

    async def accept(self, subprotocol=None, headers=None) -> None:
        await super().accept(subprotocol=subprotocol, headers=headers)
        self._accepted = True


def _may_watch(campaign_id: int, user) -> bool:
    """Whether ``user`` sees drafts; raises as ``access.campaign_access`` does when they may not watch."""
    access.campaign_access(campaign_id=campaign_id, user=user)
    return access.is_staff(user)


def _as_text(snapshot: dict) -> str:
    return json.dumps({"type": "snapshot", "snapshot": snapshot}, cls=DjangoJSONEncoder, ensure_ascii=False)
