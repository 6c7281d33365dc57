"""The live room and control panel pages, and the panel's action endpoint: who may do what."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from livestream import chat, hooks, panel, services
from livestream.models import BannedWord, Comment, LiveSession
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_campaign_provider(monkeypatch):
    monkeypatch.setattr(hooks, "_pin_candidates", None)
    monkeypatch.setattr(hooks, "_sales", None)


@pytest.fixture
def room(client):
    client.cookies["django_language"] = "en"
    community = factories.community()
    host, assistant = factories.host(), factories.assistant()
    session = factories.live_session(hosts=[host], status=LiveSession.Status.LIVE, starts_in=timedelta(minutes=-5))
    session.assistants.set([assistant])
    session.communities.set([community])
    member = factories.member(nickname="小王", phone="+8613812345678")
    factories.membership(user=member, community=community)
    sku = factories.sku(name="有机上海青", price_fen=1990)
    return {"session": session, "host": host, "assistant": assistant, "member": member, "sku": sku}


def _action(client, session, **data):
    return client.post(reverse("livestream:host-action", args=[session.pk]), data, HTTP_ACCEPT="application/json")


def test_the_host_panel_offers_pin_choices_and_publish_jielong(client, room):
    client.force_login(room["host"])
    page = client.get(reverse("livestream:host-panel", args=[room["session"].pk])).content.decode()
    assert f'data-ws="/ws/live/{room["session"].pk}/"' in page
    assert "有机上海青 500g" in page and "¥19.90" in page
    assert 'id="publish-jielong"' in page
    assert 'id="live-reminder" role="alert" hidden' in page  # an hour left: no reminder yet


def test_the_assistant_sees_the_queue_but_not_the_pin_and_publish_controls(client, room):
    client.force_login(room["assistant"])
    page = client.get(reverse("livestream:host-panel", args=[room["session"].pk])).content.decode()
    assert 'id="live-queue"' in page
    assert 'id="live-pin-list"' not in page and 'id="publish-jielong"' not in page


def test_the_panel_shows_the_reminder_in_the_last_ten_minutes(client, room):
    LiveSession.objects.filter(pk=room["session"].pk).update(scheduled_end=timezone.now() + timedelta(minutes=8))
    client.force_login(room["host"])
    page = client.get(reverse("livestream:host-panel", args=[room["session"].pk])).content.decode()
    assert 'id="live-reminder" role="alert">' in page
    assert "10 minutes left — get the jielong ready" in page


def test_the_host_pins_through_the_action_endpoint(client, room):
    client.force_login(room["host"])
    response = _action(client, room["session"], action="pin", sku_id=room["sku"].pk)
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert LiveSession.objects.get(pk=room["session"].pk).pinned_name == "有机上海青 500g"


def test_an_assistant_pinning_gets_a_clear_message_and_nothing_changes(client, room):
    client.force_login(room["assistant"])
    response = _action(client, room["session"], action="pin", sku_id=room["sku"].pk)
    assert response.status_code == 400
    assert response.json()["error"] == "Only this session's hosts may do that."
    assert LiveSession.objects.get(pk=room["session"].pk).pinned_at is None


def test_a_host_of_another_session_is_refused_and_nothing_changes(client, room):
    comment = chat.comment_post(session=room["session"], user=room["member"], text="好")
    client.force_login(factories.host())
    for data in (
        {"action": "pin", "sku_id": room["sku"].pk},
        {"action": "hide", "comment_id": comment.pk},
        {"action": "publish_jielong"},
    ):
        assert _action(client, room["session"], **data).status_code == 403
    session = LiveSession.objects.get(pk=room["session"].pk)
    assert (session.pinned_at, session.jielong_requested_at) == (None, None)
    assert Comment.objects.get().status == "visible"


def test_a_member_cannot_reach_the_action_endpoint(client, room):
    client.force_login(room["member"])
    assert _action(client, room["session"], action="publish_jielong").status_code == 403
    assert LiveSession.objects.get(pk=room["session"].pk).jielong_requested_at is None


def test_an_operator_publishes_the_jielong_from_the_panel_form(client, room):
    client.force_login(factories.operator())
    response = client.post(
        reverse("livestream:host-action", args=[room["session"].pk]), {"action": "publish_jielong"}, follow=True
    )
    assert "The jielong is being published to the communities." in response.content.decode()
    assert LiveSession.objects.get(pk=room["session"].pk).jielong_requested_at is not None


def test_the_member_room_shows_the_pinned_card_comments_and_the_open_jielong(client, room, monkeypatch):
    from livestream import hooks

    monkeypatch.setattr(hooks, "_campaign_is_open", lambda campaign_id: True)  # campaign 5 is a bare id here
    services.session_pin_item(session=room["session"], by=room["host"], sku_id=room["sku"].pk)
    services.session_jielong_opened(live_session_id=room["session"].pk, campaign_id=5)
    chat.comment_post(session=room["session"], user=room["member"], text="看起来好新鲜")
    chat.comment_post(session=room["session"], user=room["member"], text="只给主播看的问题", kind="question")
    client.force_login(room["member"])

    page = client.get(reverse("livestream:member-live", args=[room["session"].pk])).content.decode()

    assert 'id="live-pinned" aria-live="polite">' in page  # not hidden
    assert "Now explaining" in page and "¥19.90" in page
    assert 'href="/m/jielong/5/"' in page
    assert "看起来好新鲜" in page and "只给主播看的问题" not in page
    assert 'id="live-composer"' in page


def test_a_muted_member_sees_the_notice_instead_of_the_composer(client, room):
    chat.member_mute(session=room["session"], user=room["member"], by=room["assistant"])
    client.force_login(room["member"])
    page = client.get(reverse("livestream:member-live", args=[room["session"].pk])).content.decode()
    assert "You have been muted in this live and cannot comment." in page
    assert 'id="live-composer"' not in page


def test_commenting_without_the_socket_posts_and_refuses_with_a_message(client, room):
    client.force_login(room["member"])
    url = reverse("livestream:member-comment", args=[room["session"].pk])
    refused = client.post(url, {"text": "  "}, follow=True)
    assert "Write something first." in refused.content.decode()
    assert Comment.objects.count() == 0

    client.post(url, {"text": "什么时候到货", "kind": "question"})
    assert list(Comment.objects.values_list("text", "kind")) == [("什么时候到货", "question")]


def test_a_member_without_a_nickname_shows_as_a_masked_phone(room):
    member = factories.member(phone="+8613900001234", nickname="")
    member.nickname = ""
    member.save(update_fields=["nickname"])
    factories.membership(user=member, community=room["session"].communities.get())
    comment = chat.comment_post(session=room["session"], user=member, text="hi")
    assert chat.comment_data(comment)["user"] == "139****1234"


def test_the_ended_panel_shows_the_summary_and_saves_the_replay_link(client, room):
    chat.comment_post(session=room["session"], user=room["member"], text="好")
    question = chat.comment_post(session=room["session"], user=room["member"], text="几天到", kind="question")
    chat.question_answer(session=room["session"], comment_id=question.pk, by=room["assistant"])
    LiveSession.objects.filter(pk=room["session"].pk).update(status=LiveSession.Status.ENDED)
    client.force_login(room["host"])

    page = client.get(reverse("livestream:host-panel", args=[room["session"].pk])).content.decode()
    assert "Questions answered" in page and "1/1" in page

    url = reverse("livestream:host-replay", args=[room["session"].pk])
    bad = client.post(url, {"replay_url": "ftp://x"}, follow=True)
    assert "Enter a full link starting with https://." in bad.content.decode()
    assert LiveSession.objects.get(pk=room["session"].pk).replay_url == ""
    client.post(url, {"replay_url": "https://replay.example.com/42"})
    assert LiveSession.objects.get(pk=room["session"].pk).replay_url == "https://replay.example.com/42"
    panel_page = client.get(reverse("livestream:host-panel", args=[room["session"].pk])).content.decode()
    assert 'value="https://replay.example.com/42"' in panel_page


def test_the_operator_manages_blocked_words_and_sees_mutes(client, room):
    operator = factories.operator()
    chat.member_mute(session=room["session"], user=room["member"], by=room["assistant"], reason="刷屏")
    client.force_login(operator)
    url = reverse("livestream:ops-moderation")

    client.post(url, {"word": "微信"})
    duplicate = client.post(url, {"word": "微信"}, follow=True)
    assert "“微信” is already blocked." in duplicate.content.decode()
    page = client.get(url).content.decode()
    assert "微信" in page and "刷屏" in page and "138****5678" in page and "+8613812345678" not in page

    word = BannedWord.objects.get()
    client.post(url, {"remove": word.pk})
    assert BannedWord.objects.count() == 0


def test_hosts_cannot_open_the_moderation_page(client, room):
    client.force_login(room["host"])
    assert client.post(reverse("livestream:ops-moderation"), {"word": "微信"}).status_code == 403
    assert BannedWord.objects.count() == 0


@pytest.mark.django_db
def test_a_member_arriving_after_the_end_finds_the_jielong_it_opened(client, room):
    from jielong.models import Campaign

    session = room["session"]
    campaign = factories.campaign(communities=list(session.communities.all()), status=Campaign.Status.OPEN)
    LiveSession.objects.filter(pk=session.pk).update(
        status=LiveSession.Status.ENDED, jielong_campaign_id=campaign.pk, jielong_opened_at=timezone.now()
    )
    client.force_login(room["member"])

    page = client.get(reverse("livestream:member-live", args=[session.pk])).content.decode()

    assert "This live is over." in page
    assert f'href="/m/jielong/{campaign.pk}/"' in page


@pytest.mark.django_db
def test_without_a_campaign_url_provider_the_ended_room_shows_no_jielong_button(client, room, monkeypatch):
    monkeypatch.setattr(hooks, "_campaign_url", None)
    session = room["session"]
    LiveSession.objects.filter(pk=session.pk).update(
        status=LiveSession.Status.ENDED, jielong_campaign_id=41, jielong_opened_at=timezone.now()
    )
    client.force_login(room["member"])

    page = client.get(reverse("livestream:member-live", args=[session.pk])).content.decode()

    assert "This live is over." in page
    assert "/m/jielong/41/" not in page
    assert panel.room_snapshot(session_id=session.pk)["jielong"] is None
