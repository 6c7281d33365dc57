"""The live room over WebSockets, through the full ASGI app and the real Redis channel layer.

Members comment and ask through the socket; comments reach every other phone, questions only the
staff's queue; hidden comments disappear; refusals (rate limit, blocked word, mute, a member trying a
staff action) come back as a clear message and store nothing.
"""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from analytics.models import Event
from groupbuy.asgi import application
from livestream import chat, hooks, services
from livestream.models import Comment, LiveSession, WatchRecord
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

HEADERS = [(b"origin", b"http://127.0.0.1"), (b"cookie", b"django_language=en")]


def _make_room():
    community = factories.community()
    host, assistant = factories.host(), factories.assistant()
    session = factories.live_session(hosts=[host], status=LiveSession.Status.LIVE, starts_in=timedelta(minutes=-5))
    session.assistants.set([assistant])
    session.communities.set([community])
    members = []
    for name in ("小王", "老张"):
        member = factories.member(nickname=name)
        factories.membership(user=member, community=community)
        members.append(member)
    return {"session": session, "host": host, "assistant": assistant, "a": members[0], "b": members[1]}


make_room = database_sync_to_async(_make_room)


async def _connect(session_id, user, *, staff=False):
    ws = WebsocketCommunicator(application, f"/ws/live/{session_id}/", headers=HEADERS)
    ws.scope["user"] = user
    connected, _ = await ws.connect()
    assert connected
    initial = [await ws.receive_json_from(timeout=5) for _ in range(4 if staff else 2)]
    assert [m["type"] for m in initial] == (["room", "comments", "queue", "metrics"] if staff else ["room", "comments"])
    return ws, {m["type"]: m for m in initial}


async def _until(ws, kind, timeout=5):
    """The next message of ``kind``, skipping others (metrics snapshots come and go)."""
    while True:
        message = await ws.receive_json_from(timeout=timeout)
        if message["type"] == kind:
            return message


async def _count(model=Comment, **filters):
    return await database_sync_to_async(lambda: model.objects.filter(**filters).count())()


async def test_a_comment_reaches_the_other_phone_and_the_panel_and_a_hidden_one_disappears():
    room = await make_room()
    session_id = room["session"].pk
    a, _ = await _connect(session_id, room["a"])
    b, _ = await _connect(session_id, room["b"])
    panel, initial = await _connect(session_id, room["assistant"], staff=True)
    assert initial["queue"]["queue"] == {"questions": [], "open": 0, "answered": 0}

    await a.send_json_to({"action": "comment", "data": {"text": "老李的菜真新鲜"}, "ref": 1})
    ack = await _until(a, "ack")
    assert (ack["ref"], ack["comment"]["text"], ack["comment"]["user"]) == (1, "老李的菜真新鲜", "小王")

    pushed = (await _until(b, "new_comments"))["comments"]
    assert [(c["text"], c["user"], c["kind"]) for c in pushed] == [("老李的菜真新鲜", "小王", "comment")]
    assert [c["id"] for c in (await _until(panel, "new_comments"))["comments"]] == [ack["comment"]["id"]]

    # the assistant hides it from the panel's socket: every phone removes it
    await panel.send_json_to({"action": "hide", "data": {"comment_id": ack["comment"]["id"]}})
    assert (await _until(panel, "ack"))["action"] == "hide"
    removed = await _until(b, "comment_removed")
    assert removed["comment_id"] == ack["comment"]["id"]
    assert await _count(status="hidden") == 1

    for ws in (a, b, panel):
        await ws.disconnect()


async def test_a_question_goes_only_to_the_staff_queue():
    room = await make_room()
    session_id = room["session"].pk
    a, _ = await _connect(session_id, room["a"])
    b, _ = await _connect(session_id, room["b"])
    panel, _ = await _connect(session_id, room["host"], staff=True)

    await a.send_json_to({"action": "ask", "data": {"text": "几点发货？"}})
    assert (await _until(a, "ack"))["comment"]["kind"] == "question"

    queue = (await _until(panel, "queue"))["queue"]
    assert [(q["text"], q["user"], q["picked"]) for q in queue["questions"]] == [("几点发货？", "小王", False)]
    assert queue["open"] == 1
    assert await b.receive_nothing(timeout=0.5)  # the other member's phone does not see questions

    question_id = queue["questions"][0]["id"]
    await panel.send_json_to({"action": "answer", "data": {"comment_id": question_id}})
    queue = (await _until(panel, "queue"))["queue"]
    assert (queue["questions"], queue["open"], queue["answered"]) == ([], 0, 1)

    for ws in (a, b, panel):
        await ws.disconnect()


@override_settings(LIVE_COMMENT_RATE=(2, 10))
async def test_over_the_rate_limit_the_member_is_told_and_nothing_more_is_stored():
    room = await make_room()
    a, _ = await _connect(room["session"].pk, room["a"])
    for n in range(2):
        await a.send_json_to({"action": "comment", "data": {"text": f"第{n}条"}})
        await _until(a, "ack")

    await a.send_json_to({"action": "comment", "data": {"text": "第3条"}})
    error = await _until(a, "error")

    assert error["message"] == "You are commenting too fast; wait a few seconds."
    assert await _count() == 2
    await a.disconnect()


async def test_a_blocked_word_or_a_mute_is_refused_over_the_socket_and_the_room_hears_nothing():
    room = await make_room()
    session = room["session"]
    operator = await database_sync_to_async(factories.operator)()
    await database_sync_to_async(chat.banned_word_add)(brand=session.series.brand, word="微信", by=operator)
    a, _ = await _connect(session.pk, room["a"])
    b, _ = await _connect(session.pk, room["b"])

    await a.send_json_to({"action": "comment", "data": {"text": "加我微信"}})
    assert (await _until(a, "error"))["message"] == "Your message contains a blocked word; please rephrase it."

    await database_sync_to_async(chat.member_mute)(session=session, user=room["a"], by=room["host"])
    await a.send_json_to({"action": "comment", "data": {"text": "你好"}})
    assert (await _until(a, "error"))["message"] == "You have been muted in this live and cannot comment."

    await a.send_json_to({"action": "comment", "data": {"text": "x" * 201}})
    assert (await _until(a, "error"))["message"].startswith("Keep it to 200 characters or fewer")

    assert await b.receive_nothing(timeout=0.5)
    assert await _count() == 0
    for ws in (a, b):
        await ws.disconnect()


async def test_a_member_sending_staff_actions_is_refused_and_nothing_changes():
    room = await make_room()
    session = room["session"]
    comment = await database_sync_to_async(chat.comment_post)(session=session, user=room["b"], text="好")
    a, _ = await _connect(session.pk, room["a"])

    for action, data in [
        ("hide", {"comment_id": comment.pk}),
        ("mute", {"user_id": room["b"].pk}),
        ("pin", {"sku_id": 1}),
        ("publish_jielong", {}),
    ]:
        await a.send_json_to({"action": action, "data": data})
        error = await _until(a, "error")
        assert error["message"].startswith("Only this session's hosts"), (action, error)

    await a.send_json_to({"action": "explode", "data": {}})
    assert (await _until(a, "error"))["message"] == "Unknown action."
    assert await _count(status="visible") == 1
    await a.disconnect()


async def test_strangers_and_hosts_of_other_sessions_cannot_open_the_room():
    room = await make_room()

    def strangers():
        outsider = factories.member()
        factories.membership(user=outsider, community=factories.community())
        return [outsider, factories.host()]

    for user in await database_sync_to_async(strangers)():
        ws = WebsocketCommunicator(application, f"/ws/live/{room['session'].pk}/", headers=HEADERS)
        ws.scope["user"] = user
        connected, code = await ws.connect()
        assert (connected, code) == (False, 4403)


async def test_pinning_pushes_the_product_card_to_every_phone(monkeypatch):
    monkeypatch.setattr(hooks, "_pin_candidates", None)
    room = await make_room()
    session = room["session"]
    sku = await database_sync_to_async(factories.sku)(name="有机上海青", price_fen=1590)
    b, initial = await _connect(session.pk, room["b"])
    assert initial["room"]["room"]["pinned"] is None

    await database_sync_to_async(services.session_pin_item)(session=session, by=room["host"], sku_id=sku.pk)

    pinned = (await _until(b, "room"))["room"]["pinned"]
    assert (pinned["name"], pinned["price_fen"], pinned["sku_id"]) == ("有机上海青 500g", 1590, sku.pk)
    await b.disconnect()


async def test_closing_the_room_records_livestream_left_for_a_member_who_watched():
    room = await make_room()
    session = room["session"]
    now = session.started_at or session.scheduled_start
    await database_sync_to_async(WatchRecord.objects.create)(
        session=session, user=room["a"], first_seen_at=now, last_seen_at=now
    )
    a, _ = await _connect(session.pk, room["a"])
    b, _ = await _connect(session.pk, room["b"])  # never sent a heartbeat: nothing to leave
    await a.disconnect()
    await b.disconnect()

    left = await database_sync_to_async(
        lambda: list(Event.objects.filter(name="livestream.left").values_list("user_id", "live_session_id"))
    )()
    assert left == [(room["a"].pk, session.pk)]


async def test_a_burst_of_comments_reaches_the_other_phone_complete_and_in_order():
    room = await make_room()
    session_id = room["session"].pk
    b, _ = await _connect(session_id, room["b"])
    texts = [f"第{n}条" for n in range(8)]
    for n, text in enumerate(texts):
        user = room["a"] if n % 2 else room["host"]
        await database_sync_to_async(chat.comment_post)(session=room["session"], user=user, text=text)

    received = []
    while len(received) < len(texts):
        message = await _until(b, "new_comments")
        received += [c["text"] for c in message["comments"]]
    assert received == texts
    await b.disconnect()


async def test_publishing_the_jielong_puts_its_button_in_every_room_once_jielong_opens_it():
    """The whole contract with the jielong app, with the subscriber the jielong app registers for it."""
    from groupbuy import events
    from jielong import services as jielong_services
    from livestream.events import JielongRequested

    def open_campaigns_when_jielong_requested(event):
        jielong_services.campaigns_open_for_session(live_session_id=event.live_session_id)

    room = await make_room()
    session = room["session"]
    campaign = await database_sync_to_async(factories.campaign)(live_session=session)
    b, initial = await _connect(session.pk, room["b"])
    assert initial["room"]["room"]["jielong"] is None
    events.subscribe(JielongRequested, open_campaigns_when_jielong_requested)
    try:
        await database_sync_to_async(services.session_publish_jielong)(session=session, by=room["host"])
        snapshot = (await _until(b, "room"))["room"]
    finally:
        events.unsubscribe(JielongRequested, open_campaigns_when_jielong_requested)

    assert snapshot["jielong"] == {"url": f"/m/jielong/{campaign.pk}/"}
    await database_sync_to_async(campaign.refresh_from_db)()
    assert campaign.status == "open"
    await b.disconnect()


async def test_the_process_is_in_the_room_groups_once_however_many_phones_watch():
    from groupbuy import realtime
    from livestream.broadcast import room_group, staff_group

    room = await make_room()
    session_id = room["session"].pk
    a, _ = await _connect(session_id, room["a"])
    b, _ = await _connect(session_id, room["b"])
    panel, _ = await _connect(session_id, room["host"], staff=True)

    relays = realtime.relays_now()
    assert len(relays[room_group(session_id)].listeners) == 3
    assert len(relays[staff_group(session_id)].listeners) == 1

    for ws in (a, b, panel):
        await ws.disconnect()
    assert room_group(session_id) not in relays and staff_group(session_id) not in relays


@pytest.mark.parametrize(
    "frame",
    [
        '{"action": "comment", "data": {"text": "\\u0000"}, "ref": 7}',
        '{"action": "comment", "data": {"text": "a\\ud800b"}, "ref": 7}',
        '{"action": "mute", "data": {"user_id": 1, "reason": "\\u0000"}, "ref": 7}',
    ],
    ids=["nul-comment", "lone-surrogate-comment", "nul-mute-reason"],
)
async def test_unstorable_text_over_the_socket_is_answered_with_an_error_and_the_socket_stays_open(frame):
    room = await make_room()
    a, _ = await _connect(room["session"].pk, room["a"])

    await a.send_to(text_data=frame)
    error = await _until(a, "error")
    assert (error["ref"], error["code"]) == (7, "bad_text")
    assert error["message"] == "Your message contains characters that cannot be sent; remove them and try again."

    # the same socket still works
    await a.send_json_to({"action": "comment", "data": {"text": "还在"}, "ref": 8})
    ack = await _until(a, "ack")
    assert (ack["ref"], ack["comment"]["text"]) == (8, "还在")
    assert await _count() == 1
    await a.disconnect()


async def test_a_frame_that_is_not_json_is_answered_with_an_error_and_the_socket_stays_open():
    room = await make_room()
    a, _ = await _connect(room["session"].pk, room["a"])

    await a.send_to(text_data="{not json")
    assert (await _until(a, "error"))["code"] == "bad_frame"

    await a.send_json_to({"action": "comment", "data": {"text": "还在"}})
    assert (await _until(a, "ack"))["comment"]["text"] == "还在"
    await a.disconnect()


@pytest.mark.parametrize("how", ["removed", "left"])
async def test_a_member_whose_membership_ends_is_closed_out_of_the_room(how):
    from community.models import Membership
    from community.services import membership as membership_services

    room = await make_room()
    session = room["session"]
    a, _ = await _connect(session.pk, room["a"])
    b, _ = await _connect(session.pk, room["b"])

    def end_membership():
        membership = Membership.objects.get(user=room["a"], community__in=session.communities.all())
        if how == "removed":
            membership_services.membership_remove(membership=membership, by=factories.operator())
        else:
            membership_services.membership_leave(user=room["a"], community=membership.community)

    await database_sync_to_async(end_membership)()

    assert (await _until(a, "membership_revoked"))["type"] == "membership_revoked"
    closed = await a.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4403}

    # the room goes on without them: a new comment reaches b, not a
    await database_sync_to_async(chat.comment_post)(session=session, user=room["b"], text="还有人吗")
    assert [c["text"] for c in (await _until(b, "new_comments"))["comments"]] == ["还有人吗"]
    await b.disconnect()


@pytest.mark.parametrize("how", ["signed_out_everywhere", "erased"])
async def test_a_member_who_signs_out_everywhere_or_is_erased_is_closed_out_of_every_room(how):
    from privacy import erasure
    from privacy import services as privacy_services

    room = await make_room()
    session = room["session"]
    phone, _ = await _connect(session.pk, room["a"])
    laptop, _ = await _connect(session.pk, room["a"])
    b, _ = await _connect(session.pk, room["b"])

    def end_sessions():
        if how == "erased":
            erasure.anonymise(user=room["a"], reference="D-1", now=session.scheduled_start)
        else:
            privacy_services.sign_out_everywhere(user=room["a"])

    await database_sync_to_async(end_sessions)()

    for ws in (phone, laptop):
        assert (await _until(ws, "signed_out"))["type"] == "signed_out"
        assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    # the others watch on
    await database_sync_to_async(chat.comment_post)(session=session, user=room["b"], text="还有人吗")
    assert [c["text"] for c in (await _until(b, "new_comments"))["comments"]] == ["还有人吗"]
    await b.disconnect()


async def test_a_host_whose_role_changes_has_their_open_panel_closed_and_the_room_goes_on():
    from community.services import staff

    room = await make_room()
    session = room["session"]
    panel, _ = await _connect(session.pk, room["host"], staff=True)
    other_staff, _ = await _connect(session.pk, room["assistant"], staff=True)
    a, _ = await _connect(session.pk, room["a"])

    def demote():
        operator = factories.operator()
        staff.staff_update(by=operator, user_id=room["host"].pk, role="assistant", is_active=True)
        staff.staff_update(by=operator, user_id=room["assistant"].pk, role="assistant", is_active=True)  # no change

    await database_sync_to_async(demote)()

    # The panel was opened, and its actions checked, as a host: it closes, and the page reloads as an assistant.
    assert (await _until(panel, "access_changed"))["type"] == "access_changed"
    assert await panel.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    # Nobody else's socket closes: the unchanged assistant's panel and the member's room hear the next comment.
    await database_sync_to_async(chat.comment_post)(session=session, user=room["b"], text="还有人吗")
    for ws in (other_staff, a):
        assert [c["text"] for c in (await _until(ws, "new_comments"))["comments"]] == ["还有人吗"]
        await ws.disconnect()


async def test_a_member_still_in_another_target_community_keeps_watching():
    from community.models import Membership
    from community.services import membership as membership_services

    room = await make_room()
    session = room["session"]

    def second_community():
        other = factories.community()
        session.communities.add(other)
        factories.membership(user=room["a"], community=other)
        return Membership.objects.get(user=room["a"], community__in=session.communities.exclude(pk=other.pk))

    first = await database_sync_to_async(second_community)()
    a, _ = await _connect(session.pk, room["a"])
    await database_sync_to_async(membership_services.membership_leave)(user=room["a"], community=first.community)

    await database_sync_to_async(chat.comment_post)(session=session, user=room["b"], text="你好")
    assert [c["text"] for c in (await _until(a, "new_comments"))["comments"]] == ["你好"]
    await a.disconnect()
