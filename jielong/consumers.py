"""Real-time progress of a campaign: every watcher of a campaign page is in one group."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import selectors
from .broadcast import campaign_group


class CampaignProgressConsumer(AsyncJsonWebsocketConsumer):
    """Sends the full snapshot on connect, then every snapshot broadcast to the campaign's group.

    The channel layer delivers at most once, so messages are whole snapshots with a version:
    a client that missed one simply takes the next, and re-syncs on reconnect.
    """

    async def connect(self) -> None:
        self.campaign_id = int(self.scope["url_route"]["kwargs"]["campaign_id"])
        allowed = await database_sync_to_async(selectors.campaign_watchable_by)(
            campaign_id=self.campaign_id, user=self.scope.get("user")
        )
        if not allowed:
            await self.close(code=4403)
            return
        snapshot = await database_sync_to_async(selectors.campaign_snapshot)(campaign_id=self.campaign_id)
        if snapshot is None:
            await self.close(code=4404)
            return
        self.group = campaign_group(self.campaign_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "snapshot", "snapshot": snapshot})

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def campaign_snapshot(self, message: dict) -> None:
        # The broadcaster serialises each snapshot once ("text"), not once per watcher.
        if "text" in message:
            await self.send(text_data=message["text"])
        else:
            await self.send_json({"type": "snapshot", "snapshot": message["snapshot"]})
