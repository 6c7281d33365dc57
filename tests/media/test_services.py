"""The media pipeline's rules without a media server: destinations, the callbacks' answers and their secret,
chapters from pins, retention and who may fetch a replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client

from livestream import services as live_services
from livestream.models import LiveSession
from media import chapters, recordings, room, services
from media.models import Chapter, Destination, Recording, Stream
from tests import factories

from .conftest import SECRET

pytestmark = pytest.mark.django_db

NOON = datetime(2031, 5, 6, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture(autouse=True)
def _media_settings(settings, tmp_path):
    settings.MEDIA_CALLBACK_SECRET = SECRET
    settings.MEDIA_RTMP_PORT = 1935
    settings.MEDIA_SERVER_HOST = "127.0.0.1"
    settings.MEDIA_RTMP_PUBLIC_URL = "rtmp://live.example.com/live"
    settings.MEDIA_HTTP_PORT = 18399  # nothing listens: the media server counts as not running
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.MEDIA_SERVER_DIR = tmp_path / "server"


def _live_session(*, status=LiveSession.Status.SCHEDULED):
    host = factories.host()
    session = factories.live_session(hosts=[host], starts_in=timedelta(minutes=-1), status=status)
    return session, host


# --- destinations ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "url", "key", "field"),
    [
        ("rtmp", "https://example.com/live/x", "", "url"),
        ("rtmp", "srt://example.com:9000", "", "url"),
        ("rtmp", "rtmp://", "", "url"),
        ("rtmp", "rtmp://127.0.0.1:1935/live/sabc", "", "url"),
        ("rtmp", "rtmp://localhost/live/sabc", "", "url"),
        ("rtmp", "rtmp://live.example.com/live/sabc", "", "url"),
        ("rtmp", "rtmp://0.0.0.0:1940/live", "", "url"),
        ("rtmp", "rtmp://example.com:99999/live", "", "url"),
        ("channels", "rtmp://push.channels.example.com/live", "", "stream_key"),
        ("tiktok", "rtmp://example.com/live", "k", "kind"),
    ],
    ids=["https", "srt", "no-host", "own-ingest", "localhost", "own-public-name", "unspecified", "bad-port",
         "channels-without-key", "unknown-kind"],
)  # fmt: skip
def test_a_destination_that_is_not_rtmp_or_points_at_this_server_is_refused(kind, url, key, field):
    session, host = _live_session()

    with pytest.raises(services.DestinationInvalid) as refused:
        services.destination_add(session=session, by=host, kind=kind, label="", url=url, stream_key=key)

    assert refused.value.field == field
    assert Destination.objects.count() == 0


def test_a_channels_destination_is_kept_with_its_key_and_pushed_to_at_url_slash_key():
    session, host = _live_session()

    d = services.destination_add(
        session=session,
        by=host,
        kind="channels",
        label="",
        url="rtmps://push.channels.example.com:443/live/",
        stream_key="abc?sign=1",
    )

    assert (d.label, d.status, d.is_enabled) == ("视频号", Destination.Status.WAITING, True)  # the kind, in Chinese
    assert d.target == "rtmps://push.channels.example.com:443/live/abc?sign=1"


def test_an_assistant_may_not_change_the_key_or_the_destinations():
    session, _host = _live_session()
    assistant = factories.assistant()
    session.assistants.add(assistant)
    key = services.stream_for(session=session).key

    with pytest.raises(services.StreamPermissionError):
        services.stream_key_rotate(session=session, by=assistant)
    with pytest.raises(services.StreamPermissionError):
        services.destination_add(session=session, by=assistant, kind="rtmp", label="x", url="rtmp://example.com/a")

    assert Stream.objects.get(session=session).key == key
    assert Destination.objects.count() == 0


# --- the callbacks -----------------------------------------------------------------------------------------


def _post(client, callback, secret=SECRET, **data):
    return client.post(f"/internal/media/{callback}/?secret={secret}", data)


def test_callbacks_without_the_secret_are_refused_before_anything_is_read(client):
    session, _host = _live_session()
    stream = services.stream_for(session=session)

    for secret in ("", "wrong"):
        response = _post(client, "publish", secret=secret, name=stream.name, key=stream.key, clientid="1")
        assert response.status_code == 403
    assert client.get(f"/internal/media/relays/?name={stream.name}").status_code == 403

    stream.refresh_from_db()
    assert not stream.is_connected
    assert not Recording.objects.exists()


def test_only_the_current_key_of_a_session_that_may_go_live_publishes_and_a_second_encoder_is_refused(
    client, django_capture_on_commit_callbacks
):
    session, _host = _live_session()
    stream = services.stream_for(session=session)

    assert _post(client, "publish", name=stream.name, key="old", clientid="1").status_code == 403
    assert _post(client, "publish", name="s-unknown", key=stream.key, clientid="1").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            _post(client, "publish", name=stream.name, key=stream.key, clientid="7", addr="10.0.0.9").status_code == 200
        )
    stream.refresh_from_db()
    assert (stream.is_connected, stream.client_id, stream.encoder_addr) == (True, "7", "10.0.0.9")
    assert room.room_media(session.pk)["on_air"] is True
    assert Recording.objects.filter(session=session, client_id="7", status=Recording.Status.RECORDING).count() == 1

    # A second encoder on the same key while the first still publishes.
    assert _post(client, "publish", name=stream.name, key=stream.key, clientid="8").status_code == 403
    # The first one's updates carry on; the refused one's publish-done changes nothing.
    assert (
        _post(client, "update", name=stream.name, key=stream.key, clientid="7", call="update_publish").status_code
        == 200
    )
    assert _post(client, "publish-done", name=stream.name, clientid="8").status_code == 200
    stream.refresh_from_db()
    assert (stream.is_connected, stream.client_id) == (True, "7")


def test_a_rotated_key_or_an_ended_session_answers_update_with_no(client):
    session, host = _live_session(status=LiveSession.Status.LIVE)
    stream = services.stream_for(session=session)
    assert _post(client, "publish", name=stream.name, key=stream.key, clientid="3").status_code == 200
    old = stream.key

    services.stream_key_rotate(session=session, by=host)

    assert _post(client, "update", name=stream.name, key=old, clientid="3", call="update_publish").status_code == 403
    fresh = Stream.objects.get(pk=stream.pk).key
    assert fresh != old
    assert _post(client, "update", name=stream.name, key=fresh, clientid="3", call="update_publish").status_code == 200
    live_services.session_end(session=session, by=host)
    assert _post(client, "update", name=stream.name, key=fresh, clientid="3", call="update_publish").status_code == 403
    assert _post(client, "publish", name=stream.name, key=fresh, clientid="4").status_code == 403


def test_the_encoder_going_away_leaves_the_session_live_and_the_pushes_waiting(
    client, django_capture_on_commit_callbacks
):
    session, host = _live_session(status=LiveSession.Status.LIVE)
    stream = services.stream_for(session=session)
    d = services.destination_add(session=session, by=host, kind="rtmp", label="B站", url="rtmp://example.com/live/k")
    _post(client, "publish", name=stream.name, key=stream.key, clientid="5")
    services.destination_report(destination_id=d.pk, status="live")

    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, "publish-done", name=stream.name, clientid="5").status_code == 200

    stream.refresh_from_db()
    d.refresh_from_db()
    session.refresh_from_db()
    assert (stream.is_connected, d.status, session.status) == (False, "waiting", "live")
    assert Recording.objects.get(session=session).ended_at is not None
    # The encoder reconnects: a new recording part, the same session.
    assert _post(client, "publish", name=stream.name, key=stream.key, clientid="6").status_code == 200
    assert Recording.objects.filter(session=session).count() == 2


def test_the_relay_is_told_to_push_the_enabled_destinations_only_while_live(client):
    session, host = _live_session()
    stream = services.stream_for(session=session)
    on = services.destination_add(
        session=session, by=host, kind="rtmp", label="A", url="rtmp://a.example.com/x", stream_key="k1"
    )
    off = services.destination_add(session=session, by=host, kind="rtmp", label="B", url="rtmp://b.example.com/x")
    services.destination_set_enabled(destination=off, by=host, enabled=False)

    before = client.get(f"/internal/media/relays/?name={stream.name}&secret={SECRET}").json()
    live_services.session_go_live(session=session, by=host)
    during = client.get(f"/internal/media/relays/?name={stream.name}&secret={SECRET}").json()

    assert (before["live"], before["destinations"]) == (False, [])
    assert during["live"] is True
    assert during["destinations"] == [{"id": on.pk, "target": "rtmp://a.example.com/x/k1"}]


def test_relay_reports_move_the_status_and_count_failures(client):
    session, host = _live_session(status=LiveSession.Status.LIVE)
    d = services.destination_add(session=session, by=host, kind="rtmp", label="A", url="rtmp://a.example.com/x")

    _post(client, "relay-status", destination=d.pk, status="retrying", reason="Connection refused")
    _post(client, "relay-status", destination=d.pk, status="failed", reason="Connection refused")
    _post(client, "relay-status", destination=d.pk, status="exploded", reason="?")
    d.refresh_from_db()
    assert (d.status, d.reason, d.failures) == ("failed", "Connection refused", 2)

    _post(client, "relay-status", destination=d.pk, status="live")
    d.refresh_from_db()
    assert (d.status, d.reason, d.failures) == ("live", "", 0)
    shown = room.panel_status(session=session)["destinations"]
    assert [(x["id"], x["status"], x["reason"], x["is_enabled"]) for x in shown] == [(d.pk, "live", "", True)]


# --- chapters ----------------------------------------------------------------------------------------------


def test_chapters_run_from_each_pin_to_the_next_pin_the_unpin_or_the_end(django_capture_on_commit_callbacks):
    with time_machine.travel(NOON, tick=False) as clock:
        session, host = _live_session()
        greens, eggs = factories.sku(name="上海青"), factories.sku(name="土鸡蛋")
        live_services.session_go_live(session=session, by=host)
        recording = Recording.objects.create(session=session, started_at=NOON + timedelta(seconds=10))
        with django_capture_on_commit_callbacks(execute=True):
            clock.shift(60)
            live_services.session_pin_item(session=session, by=host, sku_id=greens.pk)
        with django_capture_on_commit_callbacks(execute=True):
            clock.shift(120)
            live_services.session_pin_item(session=session, by=host, sku_id=eggs.pk)
        with django_capture_on_commit_callbacks(execute=True):
            clock.shift(90)
            live_services.session_unpin_item(session=session, by=host)
        with django_capture_on_commit_callbacks(execute=True):
            clock.shift(30)
            live_services.session_end(session=session, by=host)

    got = list(Chapter.objects.filter(session=session).values_list("title", "started_at", "ended_at"))
    assert [(t, (s - NOON).seconds, (e - NOON).seconds) for t, s, e in got] == [
        ("上海青 500g", 60, 180),
        ("土鸡蛋 500g", 180, 270),
    ]
    recording.duration_seconds = 290.0
    assert [(c["title"], c["start"], c["end"]) for c in chapters.recording_chapters(recording)] == [
        ("上海青 500g", 50.0, 170.0),
        ("土鸡蛋 500g", 170.0, 260.0),
    ]


# --- recordings --------------------------------------------------------------------------------------------


def _ready_recording(session, *, started_at, settings) -> Recording:
    path = Path(settings.MEDIA_ROOT) / "recordings" / f"{session.pk}" / "1.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(range(256)) * 4)
    return Recording.objects.create(
        session=session,
        started_at=started_at,
        ended_at=started_at + timedelta(minutes=30),
        status=Recording.Status.READY,
        mp4=f"recordings/{session.pk}/1.mp4",
        duration_seconds=1800,
    )


def test_recordings_past_retention_are_deleted_and_newer_ones_kept(settings):
    settings.MEDIA_RECORDING_RETENTION_DAYS = 30
    session, _host = _live_session()
    old = _ready_recording(session, started_at=NOON - timedelta(days=31), settings=settings)
    path = Path(old.mp4.path)
    recent = Recording.objects.create(session=session, started_at=NOON - timedelta(days=29), status="ready")

    assert recordings.recordings_expire(now=NOON) == 1
    assert recordings.recordings_expire(now=NOON) == 0

    old.refresh_from_db()
    assert (old.status, old.mp4.name) == (Recording.Status.EXPIRED, "")
    assert not path.exists()
    assert Recording.objects.get(pk=recent.pk).status == Recording.Status.READY


def test_a_remux_without_its_source_file_fails_with_a_reason():
    session, _host = _live_session()
    recording = Recording.objects.create(
        session=session, started_at=NOON, source_path="/nonexistent/x.flv", status=Recording.Status.PROCESSING
    )

    recordings.recording_remux(recording_id=recording.pk)

    recording.refresh_from_db()
    assert (recording.status, recording.error) == (Recording.Status.FAILED, "the recorded file is missing")


def test_a_replay_is_served_to_members_of_the_target_communities_and_staff_only(settings):
    session, host = _live_session(status=LiveSession.Status.ENDED)
    community, elsewhere = factories.community(), factories.community()
    session.communities.set([community])
    member, stranger = factories.member(), factories.member()
    factories.membership(user=member, community=community)
    factories.membership(user=stranger, community=elsewhere)
    recording = _ready_recording(session, started_at=NOON, settings=settings)
    url = f"/live/{session.pk}/replay/{recording.pk}.mp4"

    answers = {}
    for who, user in (("member", member), ("stranger", stranger), ("host", host), ("anonymous", None)):
        client = Client()
        if user is not None:
            client.force_login(user)
        answers[who] = client.get(url, HTTP_RANGE="bytes=1000-").status_code

    assert answers == {"member": 206, "stranger": 404, "host": 206, "anonymous": 404}
    assert [r["url"] for r in room.replays(session_id=session.pk)] == [url]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("<destination>: Connection refused", "平台拒绝了连接，请检查推流地址。 (Connection refused)"),
        ("Server error: Authentication failed", "平台拒绝了推流密钥。 (Server error: Authentication failed)"),
        ("something new", "something new"),
        ("", ""),
    ],
    ids=["refused", "auth", "unknown", "none"],
)
def test_a_failed_push_says_what_to_check_then_ffmpegs_words(raw, shown):
    assert room.reason_text(raw) == shown


def test_a_session_deleted_while_streaming_cuts_the_encoder_off_and_leaves_nothing_behind(client):
    session, _host = _live_session(status=LiveSession.Status.LIVE)
    stream = services.stream_for(session=session)
    assert _post(client, "publish", name=stream.name, key=stream.key, clientid="9").status_code == 200

    session.delete()

    assert (
        _post(client, "update", name=stream.name, key=stream.key, clientid="9", call="update_publish").status_code
        == 403
    )
    assert _post(client, "publish-done", name=stream.name, clientid="9").status_code == 200
    assert _post(client, "record-done", name=stream.name, clientid="9", path="/tmp/x.flv").status_code == 200
    assert (Stream.objects.count(), Recording.objects.count()) == (0, 0)


def test_a_replay_starts_where_the_live_did_when_the_encoder_connected_earlier(settings):
    session, _host = _live_session(status=LiveSession.Status.ENDED)
    recording = _ready_recording(session, started_at=NOON, settings=settings)
    LiveSession.objects.filter(pk=session.pk).update(started_at=NOON + timedelta(seconds=95))

    assert room.replays(session_id=session.pk)[0]["url"] == f"/live/{session.pk}/replay/{recording.pk}.mp4#t=95.0"
    LiveSession.objects.filter(pk=session.pk).update(started_at=NOON + timedelta(seconds=1))
    assert room.replays(session_id=session.pk)[0]["url"] == f"/live/{session.pk}/replay/{recording.pk}.mp4"
