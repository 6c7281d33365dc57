"""The purchase summary's socket: an operator's page gets the brand's whole snapshot on connect, then every
snapshot broadcast for it (``fulfillment.purchase_broadcast``)."""

from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.serializers.json import DjangoJSONEncoder

from community.access import may_see_brand
from community.models import Brand
from groupbuy import realtime

from .access import may_run_fulfilment
from .purchase import purchase_summary
from .purchase_broadcast import summary_group


class PurchaseSummaryConsumer(AsyncWebsocketConsumer):
    """Operators only (4403 for anyone else, 4404 for a brand that does not exist). Messages are whole,
    versioned snapshots: a page that missed one takes the next, and re-syncs on reconnect."""

    async def connect(self) -> None:
        self.brand_id = int(self.scope["url_route"]["kwargs"]["brand_id"])
        user = self.scope.get("user")
        if user is None or not await database_sync_to_async(may_run_fulfilment)(user):
            await self.close(code=4403)
            return
        # another brand's summary reads as one that does not exist (cross-brand isolation)
        if not await Brand.objects.filter(pk=self.brand_id).aexists() or not may_see_brand(
            user=user, brand=self.brand_id
        ):
            await self.close(code=4404)
            return
        # Join the relay before reading: a change committed in between is in the snapshot or in a broadcast.
        await realtime.relay(summary_group(self.brand_id)).add(self)
        self.watching = True
        snapshot = await database_sync_to_async(purchase_summary)(brand_id=self.brand_id)
        await self.accept()
        self.accepted = True
        await self.send(text_data=_as_text(snapshot))

    async def disconnect(self, code: int) -> None:
        if getattr(self, "watching", False):
            self.watching = False
            await realtime.relay(summary_group(self.brand_id)).discard(self)

    async def relay_message(self, message: dict) -> None:
        if message.get("type") != "purchase.snapshot" or not getattr(self, "accepted", False):
            return
        await self.send(text_data=message["text"])


def _as_text(snapshot: dict) -> str:
    return json.dumps({"type": "snapshot", "snapshot": snapshot}, cls=DjangoJSONEncoder, ensure_ascii=False)
