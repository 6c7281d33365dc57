"""Real-time progress: coalesced, versioned snapshots reach every watcher through the Redis layer."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache

from groupbuy.asgi import application
from jielong import broadcast, services
from tests import factories as f


class FakeBroadcaster:
    def __init__(self):
        self.scheduled = []

    def call_at(self, due, job):
        self.scheduled.append(job.args[0])


def test_a_burst_of_changes_schedules_one_broadcast_per_window(monkeypatch):
    fake = FakeBroadcaster()
    monkeypatch.setattr(broadcast, "broadcaster", lambda: fake)
    cache.delete(broadcast._pending_key(7))

    for _ in range(100):
        broadcast.snapshot_changed(7)
    assert fake.scheduled == [7]

    # The flush clears the window before reading, so the next change opens a new one.
    cache.delete(broadcast._pending_key(7))
    broadcast.snapshot_changed(7)
    assert fake.scheduled == [7, 7]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_watchers_end_on_the_final_count_after_a_burst_of_joins():
    given = await sync_to_async(f.open_campaign)(members=8, threshold=5, perk_limit=2)
    campaign, item, users = given.campaign, given.item, given.members

    watchers = []
    for _ in range(3):
        ws = WebsocketCommunicator(
            application, f"/ws/jielong/{campaign.pk}/", headers=[(b"origin", b"http://127.0.0.1")]
        )
        ws.scope["user"] = users[0]  # watchers are members of the campaign's community
        connected, _ = await ws.connect()
        assert connected
        first = await ws.receive_json_from(timeout=5)
        assert first["snapshot"]["joined"] == 0
        watchers.append(ws)

    for user in users:
        await sync_to_async(services.order_join)(campaign_id=campaign.pk, user=user, quantities={item.pk: 1})

    for ws in watchers:
        received = []
        while not received or received[-1]["joined"] < 8:
            message = await ws.receive_json_from(timeout=10)
            received.append(message["snapshot"])
        versions = [s["version"] for s in received]
        assert versions == sorted(versions)
        assert len(received) <= 8  # coalesced: never more messages than changes
        final = received[-1]
        assert (final["joined"], final["still_needed"], final["perk_left"], final["status"]) == (8, 0, 0, "formed")
        await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_process_joins_the_campaign_group_once_however_many_watch():
    from channels.layers import get_channel_layer

    from groupbuy import realtime

    given = await sync_to_async(f.open_campaign)(members=1, threshold=1, perk_limit=0)
    campaign, [user] = given.campaign, given.members

    watchers = []
    for _ in range(5):
        ws = WebsocketCommunicator(
            application, f"/ws/jielong/{campaign.pk}/", headers=[(b"origin", b"http://127.0.0.1")]
        )
        ws.scope["user"] = user
        assert (await ws.connect())[0]
        await ws.receive_json_from(timeout=5)
        watchers.append(ws)
    relays = realtime.relays_now()
    group = broadcast.campaign_group(campaign.pk)
    assert len(relays[group].listeners) == 5

    # One group member (the relay) brings a broadcast to all five.
    layer = get_channel_layer()
    await layer.group_send(
        broadcast.campaign_group(campaign.pk),
        {"type": "campaign.snapshot", "text": '{"type": "snapshot", "snapshot": {"version": 99}}'},
    )
    for ws in watchers:
        assert (await ws.receive_json_from(timeout=5))["snapshot"]["version"] == 99

    for ws in watchers:
        await ws.disconnect()
    assert group not in relays  # the last one out leaves the group


async def _watch(campaign, user):
    ws = WebsocketCommunicator(application, f"/ws/jielong/{campaign.pk}/", headers=[(b"origin", b"http://127.0.0.1")])
    ws.scope["user"] = user
    connected, code = await ws.connect()
    return ws, connected, code


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_member_cannot_watch_a_draft_and_an_outsider_cannot_watch_at_all():
    from jielong.models import Campaign

    given = await sync_to_async(f.open_campaign)(members=1, threshold=5)
    outsider = await sync_to_async(f.member)()
    await sync_to_async(f.membership)(user=outsider, community=await sync_to_async(f.community)())

    _ws, connected, code = await _watch(given.campaign, outsider)
    assert (connected, code) == (False, 4403)

    await Campaign.objects.filter(pk=given.campaign.pk).aupdate(status=Campaign.Status.DRAFT)
    _ws, connected, code = await _watch(given.campaign, given.members[0])
    assert (connected, code) == (False, 4404)
    staff, connected, _code = await _watch(given.campaign, await sync_to_async(f.operator)())
    assert connected
    assert (await staff.receive_json_from(timeout=5))["snapshot"]["status"] == "draft"
    await staff.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_draft_snapshot_broadcast_reaches_staff_but_never_a_member():
    from channels.layers import get_channel_layer

    given = await sync_to_async(f.open_campaign)(members=1, threshold=5)
    member, _connected, _code = await _watch(given.campaign, given.members[0])
    staff, _connected, _code = await _watch(given.campaign, await sync_to_async(f.operator)())
    for ws in (member, staff):
        await ws.receive_json_from(timeout=5)

    layer = get_channel_layer()
    group = broadcast.campaign_group(given.campaign.pk)
    draft = '{"type": "snapshot", "snapshot": {"version": 98, "status": "draft"}}'
    await layer.group_send(group, {"type": "campaign.snapshot", "text": draft, "status": "draft"})
    await layer.group_send(group, {"type": "campaign.snapshot", "snapshot": {"version": 99, "status": "draft"}})
    opened = '{"type": "snapshot", "snapshot": {"version": 100, "status": "open"}}'
    await layer.group_send(group, {"type": "campaign.snapshot", "text": opened, "status": "open"})

    assert [(await staff.receive_json_from(timeout=5))["snapshot"]["version"] for _ in range(3)] == [98, 99, 100]
    assert (await member.receive_json_from(timeout=5))["snapshot"]["version"] == 100
    assert await member.receive_nothing(timeout=0.3)
    for ws in (member, staff):
        await ws.disconnect()
