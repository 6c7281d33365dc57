"""WebSocket round trips for campaign progress, through the real Redis channel layer."""

import pytest
from channels.db import database_sync_to_async
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers, get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings

from groupbuy.asgi import application
from groupbuy.routing import websocket_urlpatterns
from jielong.consumers import campaign_group
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

# Like the consumer, close the worker thread's connection afterwards (it would keep the test database busy).
make_campaign = database_sync_to_async(factories.campaign)

ORIGIN = [(b"origin", b"http://127.0.0.1")]


def test_the_channel_layer_is_redis():
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert type(get_channel_layer()).__name__ == "RedisPubSubChannelLayer"


@pytest.mark.asyncio
async def test_watcher_gets_the_snapshot_then_a_broadcast_from_another_layer_instance():
    # given an open campaign and a watcher connected through the full ASGI app
    campaign = await make_campaign(status="open", group_threshold=50)
    communicator = WebsocketCommunicator(application, f"/ws/jielong/{campaign.pk}/", headers=ORIGIN)
    communicator.scope["user"] = await database_sync_to_async(factories.operator)()
    connected, _ = await communicator.connect()
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "snapshot"
    assert first["snapshot"]["campaign_id"] == campaign.pk
    assert first["snapshot"]["status"] == "open"
    assert first["snapshot"]["joined"] == 0
    assert first["snapshot"]["still_needed"] == 50

    # when another process's layer (a separate instance, its own Redis connections) broadcasts
    sender = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    assert sender is not get_channel_layer()
    snapshot = {**first["snapshot"], "joined": 37, "still_needed": 13, "version": first["snapshot"]["version"] + 1}
    await sender.group_send(campaign_group(campaign.pk), {"type": "campaign.snapshot", "snapshot": snapshot})
    await sender.flush()  # closes the sender's own connections

    # then the watcher receives exactly that snapshot
    assert await communicator.receive_json_from(timeout=5) == {"type": "snapshot", "snapshot": snapshot}
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_unknown_campaign_is_refused():
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/jielong/987654321/")
    communicator.scope["user"] = await database_sync_to_async(factories.operator)()

    connected, code = await communicator.connect()

    assert connected is False
    assert code == 4404


@pytest.mark.asyncio
async def test_only_members_of_the_campaigns_communities_and_staff_may_watch():
    # The snapshot names recent joiners, so strangers and anonymous visitors are refused.
    campaign = await make_campaign(status="open")
    community = await database_sync_to_async(factories.community)()
    await database_sync_to_async(campaign.communities.add)(community)
    insider, outsider = (
        await database_sync_to_async(factories.member)(),
        await database_sync_to_async(factories.member)(),
    )
    await database_sync_to_async(factories.membership)(user=insider, community=community)
    await database_sync_to_async(factories.membership)(
        user=outsider, community=await database_sync_to_async(factories.community)()
    )

    results = {}
    for name, user in {"anonymous": None, "outsider": outsider, "insider": insider}.items():
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/jielong/{campaign.pk}/")
        if user is not None:
            communicator.scope["user"] = user
        connected, code = await communicator.connect()
        results[name] = code if not connected else "connected"
        if connected:
            await communicator.disconnect()

    assert results == {"anonymous": 4403, "outsider": 4403, "insider": "connected"}


@pytest.mark.asyncio
async def test_foreign_origin_is_refused():
    campaign = await make_campaign(status="open")
    communicator = WebsocketCommunicator(
        application, f"/ws/jielong/{campaign.pk}/", headers=[(b"origin", b"https://evil.example")]
    )

    connected, _ = await communicator.connect()

    assert connected is False
