"""The live room with Redis unreachable (cache, online set and channel layer): what still works, what
says it is unavailable, and nothing that committed answers 500.

Decisions (livestream/chat.py, watch.py, consumers.py):
- comments are stored and shown (page and reload); the rate limit counts in this process, same numbers;
- heartbeats credit watch time in PostgreSQL; the online count is unknown (``null``), not an error;
- pushes that cannot go out are logged; sockets re-sync from full snapshots when they reconnect;
- the room and the panel say "live interaction is unavailable"; the socket is told so and closed with 1013.
"""

import logging
import re
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from django.urls import reverse

from livestream import broadcast, chat
from livestream.models import Comment, LiveSession, WatchRecord
from tests import factories

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
UNAVAILABLE_ZH = "实时互动暂不可用，请稍后刷新"
UNAVAILABLE_EN = "Live interaction is unavailable right now; please refresh later."
DOWN = {
    "REDIS_URL": UNREACHABLE_REDIS,
    "CACHES": {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": UNREACHABLE_REDIS,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    },
}


@pytest.fixture
def redis_down():
    with override_settings(**DOWN):
        yield
    chat.rate_clear_all()


def _room():
    community = factories.community()
    host = factories.host()
    session = factories.live_session(hosts=[host], status=LiveSession.Status.LIVE, starts_in=timedelta(minutes=-5))
    session.communities.set([community])
    member = factories.member(nickname="小王")
    factories.membership(user=member, community=community)
    return {"session": session, "host": host, "member": member}


@pytest.fixture
def room(db):
    return _room()


@pytest.mark.django_db
@override_settings(LIVE_COMMENT_RATE=(3, 10))
def test_comments_are_stored_and_the_limit_holds_in_process_when_redis_is_down(client, room, redis_down, caplog):
    client.cookies["django_language"] = "en"
    client.force_login(room["member"])
    url = reverse("livestream:member-comment", args=[room["session"].pk])

    with caplog.at_level(logging.WARNING):
        page = client.post(url, {"text": "走表单"})
        answers = [client.post(url, {"text": f"第{n}条"}, HTTP_ACCEPT="application/json") for n in range(3)]

    assert page.status_code == 302
    assert [a.status_code for a in answers] == [200, 200, 400]
    assert answers[2].json()["error"] == "You are commenting too fast; wait a few seconds."
    assert list(Comment.objects.order_by("pk").values_list("text", flat=True)) == ["走表单", "第0条", "第1条"]
    assert "the cache does not answer" in caplog.text


@pytest.mark.django_db
def test_a_heartbeat_is_credited_and_the_online_count_is_unknown_when_redis_is_down(client, room, redis_down):
    client.force_login(room["member"])
    url = reverse("livestream:member-heartbeat", args=[room["session"].pk])

    first = client.post(url)
    second = client.post(url)

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["online"] is None and first.json()["peak"] is None
    assert WatchRecord.objects.filter(session=room["session"], user=room["member"]).count() == 1


@pytest.mark.django_db
def test_the_room_and_the_panel_say_live_interaction_is_unavailable(client, room, redis_down):
    client.force_login(room["member"])
    page = client.get(reverse("livestream:member-live", args=[room["session"].pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert UNAVAILABLE_ZH in html
    assert re.search(r'<p [^>]*id="live-unavailable"[^>]*>', html)
    assert not re.search(r'<p [^>]*id="live-unavailable"[^>]* hidden>', html)

    client.force_login(room["host"])
    panel = client.get(reverse("livestream:host-panel", args=[room["session"].pk]))
    assert panel.status_code == 200
    assert UNAVAILABLE_ZH in panel.content.decode()


@pytest.mark.django_db
def test_with_redis_up_the_notice_is_there_for_the_script_but_hidden(client, room):
    client.force_login(room["member"])
    html = client.get(reverse("livestream:member-live", args=[room["session"].pk])).content.decode()
    assert re.search(r'<p [^>]*id="live-unavailable"[^>]* hidden>', html)


@pytest.mark.django_db
def test_snapshots_that_cannot_be_claimed_in_the_cache_are_still_coalesced_in_process(room, redis_down, monkeypatch):
    scheduled = []
    monkeypatch.setattr(broadcast, "broadcaster", lambda: type("B", (), {"call_at": lambda *a: scheduled.append(a)})())

    for _ in range(5):
        broadcast.metrics_changed(room["session"].pk)
    broadcast.queue_changed(room["session"].pk)

    assert len(scheduled) == 2  # one metrics flush, one queue flush
    [(group, message)] = broadcast._flush(broadcast.METRICS, room["session"].pk)
    assert (group, message["type"], message["metrics"]["online"]) == (
        broadcast.staff_group(room["session"].pk),
        "live.metrics",
        None,
    )  # the staff get a snapshot with the online count unknown...
    broadcast.metrics_changed(room["session"].pk)
    assert len(scheduled) == 3  # ...and the window opens again after the flush


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_socket_is_told_live_interaction_is_unavailable_and_closed_to_retry_later():
    from groupbuy.asgi import application

    room = await database_sync_to_async(_room)()
    layers = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [UNREACHABLE_REDIS]},
        }
    }
    with override_settings(CHANNEL_LAYERS=layers, **DOWN):
        ws = WebsocketCommunicator(
            application,
            f"/ws/live/{room['session'].pk}/",
            headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", b"django_language=en")],
        )
        ws.scope["user"] = room["member"]
        connected, _ = await ws.connect(timeout=10)
        assert connected
        assert await ws.receive_json_from(timeout=10) == {"type": "unavailable", "message": UNAVAILABLE_EN}
        assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 1013}
        await ws.wait()
