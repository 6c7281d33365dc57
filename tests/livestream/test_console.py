"""The operators' live console: series, sessions, moving and cancelling, and the warm-up plan."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from groupbuy import clock
from livestream import console, warmup
from livestream.models import LiveSeries, LiveSession, Notification, Reservation, WarmupRound
from tests import factories

pytestmark = pytest.mark.django_db


def _png() -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (40, 30), "green").save(buffer, format="PNG")
    return SimpleUploadedFile("cover.png", buffer.getvalue(), "image/png")


def _local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def world(client):
    client.cookies["django_language"] = "en"
    operator = factories.operator()
    host = factories.host(nickname="老李")
    assistant = factories.assistant(nickname="小张")
    community = factories.community()
    member = factories.member(nickname="王阿姨")
    factories.membership(user=member, community=community)
    series = LiveSeries.objects.create(brand=factories.brand(), title="农场主来了")
    return {
        "operator": operator,
        "host": host,
        "assistant": assistant,
        "community": community,
        "member": member,
        "series": series,
    }


def _session_post(world, **overrides) -> dict:
    start = clock.now() + timedelta(days=3)
    data = {
        "title": "老李带你逛大棚",
        "series": world["series"].pk,
        "scheduled_start": _local(start),
        "scheduled_end": _local(start + timedelta(hours=1)),
        "hosts": [world["host"].pk],
        "assistants": [world["assistant"].pk],
        "communities": [world["community"].pk],
        "perk_summary": "直播间专享 8 折",
        "channels_live_url": "https://channels.weixin.qq.com/live/1",
        "hls_url": "",
    }
    data.update(overrides)
    return data


def test_an_operator_plans_a_session_with_staff_and_a_cover(client, world):
    client.force_login(world["operator"])
    form = client.get(reverse("livestream:ops-session-new")).content.decode()
    assert "老李 · Host" in form and "小张 · Assistant" in form
    assert "王阿姨" not in form  # members are never offered as hosts

    response = client.post(reverse("livestream:ops-session-new"), {**_session_post(world), "cover": _png()})

    session = LiveSession.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("livestream:ops-session", args=[session.pk])
    assert session.series == world["series"] and session.status == LiveSession.Status.SCHEDULED
    assert list(session.hosts.all()) == [world["host"]]
    assert list(session.assistants.all()) == [world["assistant"]]
    assert list(session.communities.all()) == [world["community"]]
    assert session.perk_summary == "直播间专享 8 折"
    assert session.cover.name.startswith("live/covers/")
    page = client.get(response["Location"]).content.decode()
    assert "老李带你逛大棚" in page and "No warm-up rounds yet." in page


def test_a_session_with_a_new_series_creates_both(client, world):
    client.force_login(world["operator"])
    client.post(reverse("livestream:ops-session-new"), _session_post(world, series="", new_series_title="周末厨房"))
    session = LiveSession.objects.get()
    assert session.series.title == "周末厨房"


@pytest.mark.parametrize(
    "overrides, message",
    [
        pytest.param({"scheduled_end": "start-1h"}, "The end must come after the start.", id="ends-before-it-starts"),
        pytest.param(
            {"scheduled_start": "past", "scheduled_end": "past+1h"}, "The start must be in the future.", id="past"
        ),
        pytest.param({"hosts": "member"}, "is not brand staff", id="host-is-a-member"),
        pytest.param({"hosts": []}, "This field is required.", id="no-host"),
        pytest.param(
            {"channels_live_url": "javascript:alert(1)"}, "Enter a full link starting with https://.", id="bad-link"
        ),
        pytest.param({"cover": "not-an-image"}, "", id="cover-not-an-image"),
        pytest.param({"series": "", "new_series_title": ""}, "Choose a series or name a new one.", id="no-series"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(client, world, overrides, message):
    client.force_login(world["operator"])
    start = clock.now() + timedelta(days=3)
    data = _session_post(world)
    for key, value in overrides.items():
        if value == "start-1h":
            value = _local(start - timedelta(hours=1))
        elif value == "past":
            value = _local(clock.now() - timedelta(hours=2))
        elif value == "past+1h":
            value = _local(clock.now() - timedelta(hours=1))
        elif value == "member":
            value = [world["member"].pk]
        elif value == "not-an-image":
            value = SimpleUploadedFile("cover.jpg", b"not an image", "image/jpeg")
        data[key] = value

    response = client.post(reverse("livestream:ops-session-new"), data)

    assert response.status_code == 200
    page = response.content.decode()
    if overrides.get("hosts") == "member":
        # the picker offers staff only; the form names the rule
        assert "Hosts and assistants are chosen from brand staff." in page
    elif overrides.get("cover"):
        assert "picture" in page.lower()
    else:
        assert message in page
    assert LiveSession.objects.count() == 0
    assert LiveSeries.objects.count() == 1


def test_the_service_refuses_a_member_as_host_by_name(world):
    start = clock.now() + timedelta(days=2)
    data = console.SessionInput(
        title="x",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        host_ids=[world["member"].pk],
        community_ids=[world["community"].pk],
    )
    with pytest.raises(console.LiveInvalid) as refused:
        console.session_save(by=world["operator"], data=data, series=world["series"])
    assert refused.value.field == "hosts"
    assert refused.value.message == "王阿姨 不是品牌员工：主播和助手只能从员工中选择。"  # zh-hans by default
    assert LiveSession.objects.count() == 0


def test_the_service_refuses_a_cover_that_is_not_an_image(world):
    start = clock.now() + timedelta(days=2)
    data = console.SessionInput(
        title="x",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        host_ids=[world["host"].pk],
        community_ids=[world["community"].pk],
    )
    with pytest.raises(console.LiveInvalid) as refused:
        console.session_save(
            by=world["operator"],
            data=data,
            series=world["series"],
            cover=SimpleUploadedFile("c.jpg", b"not an image", "image/jpeg"),
        )
    assert refused.value.field == "cover"
    assert LiveSession.objects.count() == 0


@pytest.mark.parametrize("who", ["member", "host"])
def test_only_operators_reach_the_console(client, world, who):
    session = factories.live_session(hosts=[world["host"]], starts_in=timedelta(days=2))
    client.force_login(world[who])
    for url in (
        reverse("livestream:ops-session-new"),
        reverse("livestream:ops-series-new"),
        reverse("livestream:ops-session", args=[session.pk]),
    ):
        assert client.get(url).status_code in (302, 403)
    response = client.post(reverse("livestream:ops-session-cancel", args=[session.pk]))
    assert response.status_code in (302, 403)
    assert LiveSession.objects.get(pk=session.pk).status == LiveSession.Status.SCHEDULED
    with pytest.raises(console.LiveInvalid):
        console.series_save(by=world[who], brand=factories.brand(), data=console.SeriesInput(title="偷偷的"))
    assert LiveSeries.objects.count() == 1


def test_a_series_is_created_and_renamed_on_its_own_page(client, world):
    client.force_login(world["operator"])
    client.post(reverse("livestream:ops-series-new"), {"title": "周末厨房", "description": "一起做饭"})
    series = LiveSeries.objects.get(title="周末厨房")
    assert series.description == "一起做饭"

    response = client.post(reverse("livestream:ops-series-edit", args=[series.pk]), {"title": "农场主来了"})
    assert "A series with this title already exists." in response.content.decode()
    assert LiveSeries.objects.get(pk=series.pk).title == "周末厨房"


def test_editing_moves_the_session_and_its_pending_rounds(client, world):
    session = factories.live_session(hosts=[world["host"]], starts_in=timedelta(days=3))
    session.communities.set([world["community"]])
    round_ = WarmupRound.objects.create(
        session=session, kind="teaser", send_at=session.scheduled_start - timedelta(days=1), title="t"
    )
    client.force_login(world["operator"])
    new_start = session.scheduled_start + timedelta(days=1)
    client.post(
        reverse("livestream:ops-session-edit", args=[session.pk]),
        _session_post(
            world,
            title="改了名字",
            scheduled_start=_local(new_start),
            scheduled_end=_local(new_start + timedelta(hours=2)),
        ),
    )
    session.refresh_from_db()
    round_.refresh_from_db()
    assert session.title == "改了名字"
    assert _local(session.scheduled_start) == _local(new_start)
    assert _local(round_.send_at) == _local(new_start - timedelta(days=1))


def test_reschedule_refuses_an_end_before_the_start_and_cancel_tells_who_reserved(client, world):
    session = factories.live_session(hosts=[world["host"]], starts_in=timedelta(days=3))
    session.communities.set([world["community"]])
    Reservation.objects.create(session=session, user=world["member"])
    original = session.scheduled_start
    client.force_login(world["operator"])

    response = client.post(
        reverse("livestream:ops-session-reschedule", args=[session.pk]),
        {
            "scheduled_start": _local(original + timedelta(days=1)),
            "scheduled_end": _local(original + timedelta(hours=20)),
        },
    )
    assert "The end must come after the start." in response.content.decode()
    session.refresh_from_db()
    assert session.scheduled_start == original

    client.post(reverse("livestream:ops-session-cancel", args=[session.pk]))
    session.refresh_from_db()
    assert session.status == LiveSession.Status.CANCELLED
    assert WarmupRound.objects.filter(session=session, kind="cancelled", audience="reserved").count() == 1


def test_a_warm_up_round_is_added_with_a_preview_and_removed(client, world):
    session = factories.live_session(hosts=[world["host"]], starts_in=timedelta(days=3), perk_summary="第二件半价")
    session.communities.set([world["community"]])
    client.force_login(world["operator"])

    response = client.post(
        reverse("livestream:ops-round-add", args=[session.pk]),
        {
            "kind": "teaser",
            "send_at": _local(session.scheduled_start - timedelta(days=1)),
            "audience": "communities",
            "title": "",
            "body": "",
            "send_sms": "on",
        },
        follow=True,
    )
    round_ = WarmupRound.objects.get(session=session)
    with translation.override(settings.LANGUAGE_CODE):  # members read the site's language
        assert round_.title == warmup.default_text(session, "teaser")[0]
    assert round_.offset == session.scheduled_start - round_.send_at
    page = response.content.decode()
    assert "第二件半价" in page and "In-app inbox" in page and "SMS" in page
    assert "【农场主来了】" in page  # the SMS preview as it will be sent

    late = client.post(
        reverse("livestream:ops-round-add", args=[session.pk]),
        {"kind": "story", "send_at": _local(session.scheduled_start + timedelta(hours=1)), "audience": "kocs"},
    )
    assert "A warm-up round goes out before the live starts." in late.content.decode()
    past = client.post(
        reverse("livestream:ops-round-add", args=[session.pk]),
        {"kind": "story", "send_at": _local(clock.now() - timedelta(hours=1)), "audience": "kocs"},
    )
    assert "The round must be sent in the future." in past.content.decode()
    assert WarmupRound.objects.filter(session=session).count() == 1

    client.post(reverse("livestream:ops-round-remove", args=[session.pk, round_.pk]))
    assert WarmupRound.objects.filter(session=session).count() == 0
    assert Notification.objects.count() == 0


def test_the_live_calendar_shows_sessions_by_week_and_month(client, world):
    session = factories.live_session(hosts=[world["host"]], starts_in=timedelta(days=1), title="周末厨房第一期")
    day = timezone.localtime(session.scheduled_start).date()
    client.force_login(world["operator"])

    week = client.get(reverse("livestream:ops-live-calendar"), {"date": day.isoformat()}).content.decode()
    month = client.get(
        reverse("livestream:ops-live-calendar"), {"view": "month", "date": day.isoformat()}
    ).content.decode()
    far = client.get(reverse("livestream:ops-live-calendar"), {"date": (day + timedelta(days=14)).isoformat()})

    link = reverse("livestream:ops-session", args=[session.pk])
    assert f'aria-label="{day.isoformat()}"' in week and link in week and "周末厨房第一期" in week
    assert link in month
    assert link not in far.content.decode()
    assert client.get(reverse("livestream:ops-live-calendar"), {"date": "not-a-date"}).status_code == 200

    client.force_login(world["host"])
    assert client.get(reverse("livestream:ops-live-calendar")).status_code in (302, 403)


def test_the_admin_host_picker_lists_staff_only(client, world):
    admin = factories.operator(is_staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.get(reverse("admin:livestream_livesession_add")).content.decode()
    assert "老李" in page and "王阿姨" not in page


def test_the_live_calendar_shows_jielongs_on_the_day_they_close(client, world):
    """Lives and jielongs on one calendar (jielong provides its campaigns through livestream.hooks)."""
    closes = clock.now() + timedelta(days=2)
    campaign = factories.campaign(title="周末土鸡蛋接龙", closes_at=closes)
    day = timezone.localtime(closes).date()
    client.force_login(world["operator"])

    week = client.get(reverse("livestream:ops-live-calendar"), {"date": day.isoformat()}).content.decode()
    month = client.get(
        reverse("livestream:ops-live-calendar"), {"view": "month", "date": day.isoformat()}
    ).content.decode()
    later = client.get(
        reverse("livestream:ops-live-calendar"), {"date": (day + timedelta(days=14)).isoformat()}
    ).content.decode()

    link = reverse("jielong:ops-campaign", args=[campaign.pk])
    assert link in week and "周末土鸡蛋接龙" in week
    assert f"Jielong closes {timezone.localtime(closes):%H:%M}" in week
    assert link in month
    assert link not in later


def test_the_warm_up_plan_previews_each_rounds_poster(client, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    session = factories.live_session(hosts=[world["host"]], starts_in=timedelta(days=2), title="周末厨房第二期")
    teaser = WarmupRound.objects.create(
        session=session,
        kind="teaser",
        send_at=clock.now() + timedelta(days=1),
        audience="communities",
        title="悬念海报",
        has_poster=True,
    )
    client.force_login(world["operator"])

    page = client.get(reverse("livestream:ops-session", args=[session.pk])).content.decode()
    poster = client.get(reverse("livestream:ops-round-poster", args=[session.pk, teaser.pk]))

    assert reverse("livestream:ops-round-poster", args=[session.pk, teaser.pk]) in page
    assert poster.status_code == 200
    assert poster["Content-Type"] == "image/png"
    assert b"".join(poster.streaming_content).startswith(b"\x89PNG")
    client.force_login(world["host"])
    assert client.get(reverse("livestream:ops-round-poster", args=[session.pk, teaser.pk])).status_code in (302, 403)
