"""Text PostgreSQL cannot store (NUL, lone surrogates) is refused with a clear message and changes nothing.

Before, a comment with "\\x00" in the room's POST answered 500, and the same over the socket killed the
consumer; a NUL in a mute reason or a blocked word did the same on the staff's pages.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import translation

from livestream import chat
from livestream.models import BannedWord, Comment, LiveSession, Mute
from tests import factories

pytestmark = pytest.mark.django_db

REFUSED_EN = "Your message contains characters that cannot be sent; remove them and try again."
REFUSED_ZH = "消息中含有无法发送的字符，请删除后重试。"


@pytest.fixture
def room():
    community = factories.community()
    host = factories.host()
    session = factories.live_session(hosts=[host], status=LiveSession.Status.LIVE, starts_in=timedelta(minutes=-5))
    session.communities.set([community])
    member = factories.member(nickname="小王")
    factories.membership(user=member, community=community)
    other = factories.member(nickname="老张")
    factories.membership(user=other, community=community)
    return {"session": session, "host": host, "member": member, "other": other}


@pytest.mark.parametrize(
    "text", ["你好\x00", "\x00", "a\ud800b", "\udfff"], ids=["nul-inside", "only-nul", "lone-high", "lone-low"]
)
def test_the_service_refuses_unstorable_text_and_stores_nothing(room, text):
    with translation.override("en"), pytest.raises(chat.CommentRefused, match=REFUSED_EN):
        chat.comment_post(session=room["session"], user=room["member"], text=text)
    assert Comment.objects.count() == 0


def test_a_nul_in_the_page_post_is_refused_in_the_members_language(client, room):
    client.force_login(room["member"])
    url = reverse("livestream:member-comment", args=[room["session"].pk])

    as_json = client.post(url, {"text": "你好\x00"}, HTTP_ACCEPT="application/json")
    page = client.post(url, {"text": "你好\x00"}, follow=True)

    assert as_json.status_code == 400
    assert as_json.json() == {"error": REFUSED_ZH, "code": "bad_text"}
    assert page.status_code == 200
    assert REFUSED_ZH in page.content.decode()
    assert Comment.objects.count() == 0


def test_a_nul_in_the_page_post_in_english(client, room):
    client.cookies["django_language"] = "en"
    client.force_login(room["member"])

    response = client.post(
        reverse("livestream:member-comment", args=[room["session"].pk]),
        {"text": "\x00"},
        HTTP_ACCEPT="application/json",
    )

    assert (response.status_code, response.json()["error"]) == (400, REFUSED_EN)
    assert Comment.objects.count() == 0


def test_a_nul_in_a_mute_reason_from_the_panel_is_refused(client, room):
    client.cookies["django_language"] = "en"
    client.force_login(room["host"])

    response = client.post(
        reverse("livestream:host-action", args=[room["session"].pk]),
        {"action": "mute", "user_id": room["member"].pk, "reason": "spam\x00"},
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 400
    assert response.json()["error"] == REFUSED_EN
    assert Mute.objects.count() == 0


def test_a_nul_in_a_blocked_word_is_refused_on_the_operators_page(client, room):
    client.cookies["django_language"] = "en"
    client.force_login(factories.operator())
    brand = room["session"].series.brand

    page = client.post(f"{reverse('livestream:ops-moderation')}?brand={brand.pk}", {"word": "微\x00信"}, follow=True)

    assert page.status_code == 200
    assert REFUSED_EN in page.content.decode()
    assert BannedWord.objects.count() == 0
