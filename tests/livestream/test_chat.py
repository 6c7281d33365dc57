"""Comments, questions and their triage, moderation, pinning and 发布接龙: the services and who may use them."""

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone, translation

from analytics.models import Event
from community.models import Membership
from groupbuy import events
from groupbuy.errors import DomainError
from jielong.events import CampaignOpened, OrderJoined
from livestream import chat, hooks, selectors, services
from livestream.events import JielongRequested
from livestream.models import BannedWord, Comment, LiveSession, Mute
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def room():
    """A live session of one community, its host and assistant, a member, and a stranger."""
    community = factories.community()
    host, assistant = factories.host(), factories.assistant()
    session = factories.live_session(hosts=[host], status=LiveSession.Status.LIVE, starts_in=timedelta(minutes=-5))
    session.assistants.set([assistant])
    session.communities.set([community])
    member = factories.member(nickname="小王")
    factories.membership(user=member, community=community)
    return type(
        "Room",
        (),
        {
            "session": session,
            "community": community,
            "host": host,
            "assistant": assistant,
            "member": member,
            "other_host": factories.host(),
            "operator": factories.operator(),
        },
    )


def _refused(match: str, action, *args, **kwargs):
    with pytest.raises(DomainError, match=re.escape(match)):
        action(*args, **kwargs)


# --- posting -----------------------------------------------------------------------------------------


def test_a_member_comments_and_asks_and_analytics_hear_both(room, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        comment = chat.comment_post(session=room.session, user=room.member, text="  老李好！ ")
        question = chat.comment_post(session=room.session, user=room.member, text="几天能到？", kind="question")

    assert (comment.text, comment.kind, comment.status) == ("老李好！", "comment", "visible")
    assert question.kind == "question"
    names = list(Event.objects.filter(live_session_id=room.session.pk).order_by("pk").values_list("name", "user_id"))
    assert names == [("livestream.commented", room.member.pk), ("livestream.asked", room.member.pk)]
    assert Event.objects.get(name="livestream.asked").properties == {"comment_id": question.pk}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Write something first."),
        ("   ", "Write something first."),
        ("好" * 201, "Keep it to 200 characters or fewer (yours has 201)."),
    ],
    ids=["empty", "blank", "oversized"],
)
def test_empty_or_oversized_comment_is_refused_and_nothing_is_stored(room, text, message):
    _refused(message, chat.comment_post, session=room.session, user=room.member, text=text)
    assert Comment.objects.count() == 0


def test_exactly_200_characters_is_fine(room):
    assert len(chat.comment_post(session=room.session, user=room.member, text="好" * 200).text) == 200


@pytest.mark.parametrize("status", [LiveSession.Status.SCHEDULED, LiveSession.Status.ENDED])
def test_commenting_outside_the_live_is_refused(room, status):
    LiveSession.objects.filter(pk=room.session.pk).update(status=status)
    _refused("only while the session is live", chat.comment_post, session=room.session, user=room.member, text="hi")
    assert Comment.objects.count() == 0


def test_a_member_of_another_community_may_not_comment(room):
    outsider = factories.member()
    factories.membership(user=outsider, community=factories.community())
    pending = factories.member()
    factories.membership(user=pending, community=room.community, status=Membership.Status.PENDING)
    for user in (outsider, pending):
        _refused(
            "Only members of this live's communities", chat.comment_post, session=room.session, user=user, text="hi"
        )
    assert Comment.objects.count() == 0


def test_a_muted_member_is_refused_with_a_clear_message(room):
    chat.member_mute(session=room.session, user=room.member, by=room.assistant, reason="刷屏")

    _refused("You have been muted", chat.comment_post, session=room.session, user=room.member, text="hi")
    assert Comment.objects.count() == 0
    mute = Mute.objects.get()
    assert (mute.session, mute.muted_by, mute.reason) == (room.session, room.assistant, "刷屏")


def test_a_community_wide_mute_by_an_operator_applies_to_every_session_of_that_community(room):
    chat.member_mute(community=room.community, user=room.member, by=room.operator)
    _refused("You have been muted", chat.comment_post, session=room.session, user=room.member, text="hi")
    assert Comment.objects.count() == 0


def test_only_operators_mute_community_wide_and_a_mute_is_recorded_once(room):
    _refused("Only operators", chat.member_mute, community=room.community, user=room.member, by=room.host)
    chat.member_mute(session=room.session, user=room.member, by=room.host)
    _refused("小王 is already muted.", chat.member_mute, session=room.session, user=room.member, by=room.host)
    assert Mute.objects.count() == 1


def test_a_blocked_word_refuses_the_comment_case_insensitively(room):
    chat.banned_word_add(brand=room.session.series.brand, word="VX", by=room.operator)

    _refused("contains a blocked word", chat.comment_post, session=room.session, user=room.member, text="加我vx 123")
    assert Comment.objects.count() == 0
    assert chat.comment_post(session=room.session, user=room.member, text="好新鲜").pk


def test_blocked_words_are_managed_by_operators_only_and_once(room):
    brand = room.session.series.brand
    _refused("Only operators", chat.banned_word_add, brand=brand, word="微信", by=room.host)
    _refused("Enter a word", chat.banned_word_add, brand=brand, word="  ", by=room.operator)
    word = chat.banned_word_add(brand=brand, word="微信", by=room.operator)
    _refused("already blocked", chat.banned_word_add, brand=brand, word="微信", by=room.operator)
    assert list(BannedWord.objects.values_list("word", flat=True)) == ["微信"]
    chat.banned_word_remove(brand=brand, word_id=word.pk, by=room.operator)
    assert BannedWord.objects.count() == 0


@override_settings(LIVE_COMMENT_RATE=(3, 10))
def test_the_rate_limit_refuses_the_fourth_comment_in_the_window_and_counts_only_what_passed(room):
    for n in range(3):
        chat.comment_post(session=room.session, user=room.member, text=f"第{n}条")
    _refused("too fast", chat.comment_post, session=room.session, user=room.member, text="第4条")
    _refused("too fast", chat.comment_post, session=room.session, user=room.member, text="第5条")
    assert Comment.objects.count() == 3
    # another member has a window of their own
    neighbour = factories.member()
    factories.membership(user=neighbour, community=room.community)
    chat.comment_post(session=room.session, user=neighbour, text="我也来")
    assert Comment.objects.count() == 4


# --- triage --------------------------------------------------------------------------------------------


def _question(room, text="几天能到？", user=None):
    return chat.comment_post(session=room.session, user=user or room.member, text=text, kind="question")


@pytest.mark.parametrize("who", ["host", "assistant", "operator"])
def test_hosts_assistants_and_operators_triage_questions(room, who):
    by = getattr(room, who)
    question, duplicate = _question(room), _question(room, "什么时候发货")

    chat.question_pick(session=room.session, comment_id=question.pk, by=by)
    chat.question_merge(session=room.session, comment_id=duplicate.pk, into_id=question.pk, by=by)
    chat.question_answer(session=room.session, comment_id=question.pk, by=by)

    question.refresh_from_db()
    duplicate.refresh_from_db()
    assert question.picked_at is not None and question.answered_at is not None
    assert duplicate.merged_into == question and duplicate.answered_at == question.answered_at


@pytest.mark.parametrize("who", ["other_host", "member"])
def test_a_host_of_another_session_or_a_member_may_not_triage_or_moderate(room, who):
    by = getattr(room, who)
    question, other = _question(room), _question(room, "有优惠吗")
    before = list(Comment.objects.order_by("pk").values())

    for action, kwargs in [
        (chat.question_pick, {"comment_id": question.pk}),
        (chat.question_merge, {"comment_id": other.pk, "into_id": question.pk}),
        (chat.question_answer, {"comment_id": question.pk}),
        (chat.comment_hide, {"comment_id": question.pk}),
    ]:
        _refused("Only this session's hosts, assistants and operators", action, session=room.session, by=by, **kwargs)
    _refused("Only this session's hosts", chat.member_mute, session=room.session, user=room.member, by=by)

    assert list(Comment.objects.order_by("pk").values()) == before
    assert Mute.objects.count() == 0


def test_triage_refuses_what_is_no_longer_in_the_queue(room):
    question, other = _question(room), _question(room, "有优惠吗")
    _refused(
        "cannot be merged into itself",
        chat.question_merge,
        session=room.session,
        comment_id=question.pk,
        into_id=question.pk,
        by=room.assistant,
    )
    chat.question_answer(session=room.session, comment_id=question.pk, by=room.assistant)
    _refused("already answered", chat.question_answer, session=room.session, comment_id=question.pk, by=room.assistant)
    _refused(
        "no longer in the queue", chat.question_pick, session=room.session, comment_id=question.pk, by=room.assistant
    )
    _refused(
        "no longer in the queue",
        chat.question_merge,
        session=room.session,
        comment_id=question.pk,
        into_id=other.pk,
        by=room.assistant,
    )
    # a comment id from another session is not found here
    elsewhere = factories.live_session(status=LiveSession.Status.LIVE)
    _refused("not in this session", chat.question_answer, session=elsewhere, comment_id=other.pk, by=room.operator)
    other.refresh_from_db()
    assert other.answered_at is None and other.merged_into is None


def test_hiding_a_comment_keeps_it_on_record_and_only_once(room, django_capture_on_commit_callbacks):
    comment = chat.comment_post(session=room.session, user=room.member, text="广告")
    with django_capture_on_commit_callbacks() as callbacks:
        chat.comment_hide(session=room.session, comment_id=comment.pk, by=room.assistant)
    comment.refresh_from_db()
    assert (comment.status, comment.hidden_by) == ("hidden", room.assistant)
    assert len(callbacks) == 2  # the analytics event and the removal push
    _refused("already hidden", chat.comment_hide, session=room.session, comment_id=comment.pk, by=room.assistant)


def test_the_question_queue_puts_picked_first_and_counts_duplicates_and_answered(room):
    from livestream import panel

    _first, second, dup, answered = (_question(room, t) for t in ("一", "二", "二？", "三"))
    chat.question_pick(session=room.session, comment_id=second.pk, by=room.assistant)
    chat.question_merge(session=room.session, comment_id=dup.pk, into_id=second.pk, by=room.assistant)
    chat.question_answer(session=room.session, comment_id=answered.pk, by=room.assistant)
    chat.comment_post(session=room.session, user=room.member, text="普通评论")

    queue = panel.question_queue(session_id=room.session.pk)
    assert [(q["text"], q["picked"], q["duplicates"]) for q in queue["questions"]] == [
        ("二", True, 1),
        ("一", False, 0),
    ]
    assert (queue["open"], queue["answered"]) == (2, 1)


# --- pin, publish the jielong, replay --------------------------------------------------------------


def test_the_host_pins_a_catalogue_product_when_no_campaign_provider_is_registered(room, monkeypatch):
    monkeypatch.setattr(hooks, "_pin_candidates", None)
    sku = factories.sku(name="有机上海青", price_fen=1990)

    services.session_pin_item(session=room.session, by=room.host, sku_id=sku.pk)

    session = LiveSession.objects.get(pk=room.session.pk)
    assert (session.pinned_sku, session.pinned_name, session.pinned_price_fen) == (sku, "有机上海青 500g", 1990)
    services.session_unpin_item(session=room.session, by=room.host)
    assert LiveSession.objects.get(pk=room.session.pk).pinned_at is None


def test_pin_choices_come_from_the_registered_campaign_provider(room, monkeypatch):
    sku = factories.sku(name="阳光玫瑰")
    calls = []

    def provider(session_id):
        calls.append(session_id)
        return [hooks.PinCandidate(sku_id=sku.pk, name="阳光玫瑰 2斤装", price_fen=3990, image_url="/media/p.jpg")]

    monkeypatch.setattr(hooks, "_pin_candidates", provider)
    services.session_pin_item(session=room.session, by=room.host, sku_id=sku.pk)

    session = LiveSession.objects.get(pk=room.session.pk)
    assert (session.pinned_name, session.pinned_price_fen, session.pinned_image_url) == (
        "阳光玫瑰 2斤装",
        3990,
        "/media/p.jpg",
    )
    assert calls == [room.session.pk]
    # a SKU that is not among the session's items is refused
    stranger = factories.sku()
    _refused(
        "Pick a product from this session's items",
        services.session_pin_item,
        session=room.session,
        by=room.host,
        sku_id=stranger.pk,
    )
    assert LiveSession.objects.get(pk=room.session.pk).pinned_sku == sku


@pytest.mark.parametrize("who", ["other_host", "assistant", "member"])
def test_only_the_sessions_hosts_and_operators_pin_and_publish(room, who, monkeypatch):
    monkeypatch.setattr(hooks, "_pin_candidates", None)
    sku = factories.sku()
    by = getattr(room, who)
    _refused("Only this session's hosts", services.session_pin_item, session=room.session, by=by, sku_id=sku.pk)
    _refused("Only this session's hosts", services.session_publish_jielong, session=room.session, by=by)
    session = LiveSession.objects.get(pk=room.session.pk)
    assert (session.pinned_at, session.jielong_requested_at) == (None, None)


def test_publish_jielong_publishes_the_request_once(room, django_capture_on_commit_callbacks):
    heard = []
    events.subscribe(JielongRequested, heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.session_publish_jielong(session=room.session, by=room.operator)
        _refused("already been published", services.session_publish_jielong, session=room.session, by=room.host)
    finally:
        events.unsubscribe(JielongRequested, heard.append)
    assert [e.payload for e in heard] == [{"live_session_id": room.session.pk, "user_id": room.operator.pk}]
    assert LiveSession.objects.get(pk=room.session.pk).jielong_requested_at is not None


def test_the_opened_campaign_reaches_the_room_through_the_jielong_event(
    room, django_capture_on_commit_callbacks, monkeypatch
):
    from livestream import hooks, panel

    monkeypatch.setattr(hooks, "_campaign_is_open", lambda campaign_id: True)  # campaign 77 is a bare id here

    with django_capture_on_commit_callbacks(execute=True):
        events.publish(CampaignOpened(campaign_id=77, live_session_id=room.session.pk))
    assert panel.room_snapshot(session_id=room.session.pk)["jielong"] == {"url": "/m/jielong/77/"}
    # a second campaign does not replace the first
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(CampaignOpened(campaign_id=78, live_session_id=room.session.pk))
    assert LiveSession.objects.get(pk=room.session.pk).jielong_campaign_id == 77


def test_the_replay_link_is_set_after_the_end_by_the_host_only(room):
    _refused(
        "once the session has ended",
        services.session_set_replay,
        session=room.session,
        by=room.host,
        replay_url="https://example.com/r",
    )
    LiveSession.objects.filter(pk=room.session.pk).update(status=LiveSession.Status.ENDED)
    _refused("full link", services.session_set_replay, session=room.session, by=room.host, replay_url="not a link")
    _refused(
        "Only this session's hosts",
        services.session_set_replay,
        session=room.session,
        by=room.other_host,
        replay_url="https://example.com/r",
    )
    assert LiveSession.objects.get(pk=room.session.pk).replay_url == ""
    services.session_set_replay(session=room.session, by=room.host, replay_url="https://example.com/r")
    assert LiveSession.objects.get(pk=room.session.pk).replay_url == "https://example.com/r"


def test_the_reminder_is_due_in_the_last_ten_minutes_until_the_jielong_is_out(room):
    from livestream import panel

    now = timezone.now()
    LiveSession.objects.filter(pk=room.session.pk).update(scheduled_end=now + timedelta(minutes=11))
    session = LiveSession.objects.get(pk=room.session.pk)
    assert not panel.is_reminder_due(session=session, now=now)
    assert panel.is_reminder_due(session=session, now=now + timedelta(minutes=1, seconds=1))
    session.jielong_requested_at = now
    assert not panel.is_reminder_due(session=session, now=now + timedelta(minutes=2))


def test_the_summary_counts_comments_answered_questions_and_sales(room, monkeypatch):
    chat.comment_post(session=room.session, user=room.member, text="好")
    q1, q2, dup = _question(room, "一"), _question(room, "二"), _question(room, "一？")
    chat.question_merge(session=room.session, comment_id=dup.pk, into_id=q1.pk, by=room.assistant)
    chat.question_answer(session=room.session, comment_id=q1.pk, by=room.assistant)
    monkeypatch.setattr(hooks, "_sales", lambda session_id: hooks.Sales(joins=3, gmv_fen=12_870))

    summary = selectors.session_summary(session=room.session)

    assert (summary["comments"], summary["questions"], summary["questions_answered"]) == (1, 2, 1)
    assert (summary["joins"], summary["gmv_fen"]) == (3, 12_870)
    monkeypatch.setattr(hooks, "_sales", None)
    assert selectors.session_summary(session=room.session)["joins"] is None
    assert q2.answered_at is None


def test_live_metrics_count_online_comments_per_minute_reserved_viewers_and_sales(room, monkeypatch):
    import redis
    from django.conf import settings

    from livestream import panel, watch
    from livestream.models import Reservation

    redis.Redis.from_url(settings.REDIS_URL).delete(*watch._keys(room.session.pk))
    neighbour = factories.member()
    factories.membership(user=neighbour, community=room.community)
    Reservation.objects.create(session=room.session, user=room.member)
    Reservation.objects.create(session=room.session, user=factories.member())
    now = timezone.now()
    watch.heartbeat_record(session=room.session, user=room.member, now=now)
    watch.heartbeat_record(session=room.session, user=neighbour, now=now)
    chat.comment_post(session=room.session, user=room.member, text="好")
    _question(room)
    old = chat.comment_post(session=room.session, user=neighbour, text="早")
    Comment.objects.filter(pk=old.pk).update(created_at=now - timedelta(minutes=2))
    monkeypatch.setattr(hooks, "_sales", lambda session_id: hooks.Sales(joins=12, gmv_fen=34_560))

    metrics = panel.live_metrics(session_id=room.session.pk, now=now)

    assert metrics["online"] == 2 and metrics["peak"] == 2
    assert metrics["comments_per_minute"] == 2
    assert (metrics["reserved_viewers"], metrics["reservations"], metrics["viewers"]) == (1, 2, 2)
    assert (metrics["joins"], metrics["gmv_fen"]) == (12, 34_560)
    assert metrics["remind_jielong"] is False


def test_a_join_in_the_sessions_jielong_refreshes_its_metrics(room, monkeypatch, django_capture_on_commit_callbacks):
    from livestream import broadcast

    refreshed = []
    monkeypatch.setattr(broadcast, "metrics_changed", refreshed.append)
    LiveSession.objects.filter(pk=room.session.pk).update(jielong_campaign_id=41)
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(
            OrderJoined(
                campaign_id=41, user_id=room.member.pk, community_id=1, order_id=1, total_fen=1590, is_perk=False
            )
        )
        events.publish(
            OrderJoined(
                campaign_id=99, user_id=room.member.pk, community_id=1, order_id=2, total_fen=1590, is_perk=False
            )
        )
    assert refreshed == [room.session.pk]


def test_a_batch_of_new_comments_becomes_one_message_per_room_without_questions_or_hidden(room):
    from livestream import broadcast

    other = factories.live_session(hosts=[room.host], status=LiveSession.Status.LIVE)
    other.communities.set([room.community])
    one = chat.comment_post(session=room.session, user=room.member, text="一")
    question = _question(room)
    hidden = chat.comment_post(session=room.session, user=room.host, text="删")
    chat.comment_hide(session=room.session, comment_id=hidden.pk, by=room.host)
    two = chat.comment_post(session=room.session, user=room.host, text="二")
    elsewhere = chat.comment_post(session=other, user=room.member, text="别处")

    sends = broadcast._send_comments([one.pk, question.pk, hidden.pk, two.pk, elsewhere.pk])

    assert [(group, [c["text"] for c in message["comments"]]) for group, message in sends] == [
        (broadcast.room_group(room.session.pk), ["一", "二"]),
        (broadcast.room_group(other.pk), ["别处"]),
    ]
    assert all(message["type"] == "live.comments" for _, message in sends)
