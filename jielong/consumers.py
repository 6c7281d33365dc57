"""Real-time progress of a campaign: every watcher of a campaign page gets its snapshots.

Fan-out: a campaign can have a thousand watchers, and at the end of a live they all want every
snapshot. Rather than put each watcher's own channel in the campaign's group (the channel layer then
queues, wakes and dispatches one copy per watcher), each app process joins the group once, with one
relay channel per campaign, and writes each snapshot (already serialised by the broadcaster) straight
to its local watchers' sockets.
"""

from __future__ import annotations

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder

from . import selectors
from .broadcast import campaign_group

logger = logging.getLogger(__name__)


class CampaignProgressConsumer(AsyncJsonWebsocketConsumer):
    """Sends the full snapshot on connect, then every snapshot broadcast for the campaign.

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
        # Join the relay before reading the snapshot: a change committed in between is then
        # either in the snapshot or in a broadcast that reaches us.
        await _relay_for(self.campaign_id).add(self)
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
            await _relay_for(self.campaign_id).discard(self)

    async def deliver(self, text: str) -> None:
        if getattr(self, "watching", False) and self.accepted:
            await self.send(text_data=text)

    @property
    def accepted(self) -> bool:
        # Set by websocket.accept; before that, sending would be refused by the server.
        return getattr(self, "_accepted", False)

    async def accept(self, subprotocol=None, headers=None) -> None:
        await super().accept(subprotocol=subprotocol, headers=headers)
        self._accepted = True


class _CampaignRelay:
    """This process's member of one campaign's group: forwards each snapshot to the local watchers."""

    def __init__(self, campaign_id: int) -> None:
        self.campaign_id = campaign_id
        self.group = campaign_group(campaign_id)
        self.watchers: set[CampaignProgressConsumer] = set()
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.task: asyncio.Task | None = None
        self.lock = asyncio.Lock()

    async def add(self, consumer: CampaignProgressConsumer) -> None:
        async with self.lock:
            self.watchers.add(consumer)
            if self.task is None:
                self.channel = await self.layer.new_channel("jielong.relay.")
                await self.layer.group_add(self.group, self.channel)
                self.task = asyncio.get_running_loop().create_task(self._forward(self.channel))

    async def discard(self, consumer: CampaignProgressConsumer) -> None:
        async with self.lock:
            self.watchers.discard(consumer)
            if not self.watchers and self.task is not None:
                self.task.cancel()
                await self.layer.group_discard(self.group, self.channel)
                self.task = self.channel = None
                _relays(asyncio.get_running_loop()).pop(self.campaign_id, None)

    async def _forward(self, channel: str) -> None:
        while True:
            message = await self.layer.receive(channel)
            if message.get("type") != "campaign.snapshot":
                continue
            text = message.get("text") or _as_text(message["snapshot"])
            for watcher in list(self.watchers):
                try:
                    await watcher.deliver(text)
                except Exception:
                    # One broken socket must not keep the snapshot from the others.
                    logger.debug("could not deliver a snapshot to a watcher", exc_info=True)


def _as_text(snapshot: dict) -> str:
    return json.dumps({"type": "snapshot", "snapshot": snapshot}, cls=DjangoJSONEncoder, ensure_ascii=False)


_by_loop: dict[asyncio.AbstractEventLoop, dict[int, _CampaignRelay]] = {}


def _relays(loop: asyncio.AbstractEventLoop) -> dict[int, _CampaignRelay]:
    # One set of relays per event loop (one loop per server process; tests make a loop per test).
    for old in [other for other in _by_loop if other.is_closed()]:
        del _by_loop[old]
    return _by_loop.setdefault(loop, {})


def _relay_for(campaign_id: int) -> _CampaignRelay:
    relays = _relays(asyncio.get_running_loop())
    relay = relays.get(campaign_id)
    if relay is None:
        relay = relays[campaign_id] = _CampaignRelay(campaign_id)
    return relay
