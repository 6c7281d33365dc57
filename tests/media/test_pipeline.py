"""The media pipeline through a real nginx-rtmp and ffmpeg: keys, HLS, pushes to other platforms, the cut-off of
a rotated key, and the recording's MP4."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client

from livestream import services as live_services
from livestream.models import LiveSession
from media import recordings, room, services
from media.models import Destination, Recording, Stream
from tests import factories

from .conftest import ffmpeg_publish, probe_duration, running_media_server, stop, wait_for

pytestmark = [pytest.mark.media, pytest.mark.django_db(transaction=True)]

RTMP_PORT, HTTP_PORT = 19350, 18350


@pytest.fixture(scope="module")
def media_server(live_server):
    with running_media_server(rtmp_port=RTMP_PORT, http_port=HTTP_PORT, callback_url=live_server.url) as media:
        yield media


def _session(status=LiveSession.Status.SCHEDULED):
    host = factories.host()
    session = factories.live_session(hosts=[host], starts_in=timedelta(minutes=-1 if status == "live" else 10))
    if status == LiveSession.Status.LIVE:
        live_services.session_go_live(session=session, by=host)
    session.refresh_from_db()
    return session, host, services.stream_for(session=session)


def _connected(stream: Stream) -> bool:
    stream.refresh_from_db()
    return stream.is_connected


def _fragments(playlist: str | None) -> list[str]:
    return [line for line in (playlist or "").splitlines() if line and not line.startswith("#")]


def _newest(media_server, name: str) -> str | None:
    """The newest fragment the playlist lists (None while there is no playlist)."""
    fragments = _fragments(media_server.playlist(name))
    return fragments[-1] if fragments else None


def test_a_wrong_key_is_refused_and_the_right_one_connects_the_session_with_an_advancing_playlist(media_server):
    session, _host, stream = _session()

    wrong = ffmpeg_publish(media_server.publish_url(stream.name, "not-the-key"), seconds=3)
    assert wrong.wait(timeout=15) != 0  # nginx dropped it after on_publish said no
    stream.refresh_from_db()
    assert not stream.is_connected
    assert not Recording.objects.filter(session=session).exists()
    assert media_server.playlist(stream.name) is None

    right = ffmpeg_publish(media_server.publish_url(stream.name, stream.key), seconds=7)
    try:
        wait_for(lambda: _connected(stream), timeout=10, what="the session's stream to connect")
        assert room.room_media(session.pk)["on_air"] is True
        first = wait_for(lambda: _newest(media_server, stream.name), timeout=10, what="a playlist")
        durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+)", media_server.playlist(stream.name))]
        assert durations and max(durations) < 1.6  # short fragments for a short delay
        second = wait_for(
            lambda: (n := _newest(media_server, stream.name)) != first and n, timeout=5, what="the playlist to advance"
        )
        wait_for(lambda: _newest(media_server, stream.name) not in (first, second), timeout=5, what="another fragment")
        assert right.wait(timeout=20) == 0
    finally:
        stop(right)

    wait_for(lambda: not _connected(stream), timeout=10, what="the encoder to be seen gone")
    session.refresh_from_db()
    assert session.status == LiveSession.Status.SCHEDULED  # going live stays the host's decision
    assert Recording.objects.filter(session=session).count() == 1


def test_a_rotated_key_is_cut_off_within_seconds_and_the_new_key_connects(media_server):
    session, host, stream = _session(LiveSession.Status.LIVE)
    old_key = stream.key
    encoder = ffmpeg_publish(media_server.publish_url(stream.name, old_key), seconds=30)
    try:
        wait_for(lambda: _connected(stream), timeout=10, what="the stream to connect")
        rotated_at = time.monotonic()
        services.stream_key_rotate(session=session, by=host)
        encoder.wait(timeout=15)
        assert time.monotonic() - rotated_at < 2 * 2 + 3  # MEDIA_UPDATE_SECONDS is 2 in these tests
    finally:
        stop(encoder)
    wait_for(lambda: not _connected(stream), timeout=10, what="the stream to be seen gone")

    again = ffmpeg_publish(media_server.publish_url(stream.name, old_key), seconds=2)
    assert again.wait(timeout=15) != 0  # the old key stays refused
    stream.refresh_from_db()
    fresh = ffmpeg_publish(media_server.publish_url(stream.name, stream.key), seconds=2)
    try:
        wait_for(lambda: _connected(stream), timeout=10, what="the new key to connect")
        session.refresh_from_db()
        assert session.status == LiveSession.Status.LIVE  # a dropped encoder does not end the session
    finally:
        fresh.wait(timeout=15)


def _status(destination: Destination) -> str:
    destination.refresh_from_db()
    return destination.status


def test_pushes_reach_a_second_rtmp_server_a_failing_one_is_reported_and_ending_stops_them(media_server):
    session, host, stream = _session(LiveSession.Status.LIVE)
    good = services.destination_add(
        session=session,
        by=host,
        kind=Destination.Kind.CHANNELS,
        label="视频号",
        url=f"rtmp://127.0.0.1:{media_server.standin_port}/channels",
        stream_key="push-abc",
    )
    broken = services.destination_add(
        session=session, by=host, kind=Destination.Kind.RTMP, label="Nowhere", url="rtmp://127.0.0.1:19398/live/x"
    )
    encoder = ffmpeg_publish(media_server.publish_url(stream.name, stream.key), seconds=30)
    try:
        wait_for(lambda: _status(good) == Destination.Status.LIVE, timeout=20, what="the stand-in push to be live")
        wait_for(
            lambda: _status(broken) in (Destination.Status.RETRYING, Destination.Status.FAILED),
            timeout=20,
            what="the broken push to be reported",
        )
        broken.refresh_from_db()
        assert "refused" in broken.reason.lower() or broken.reason  # ffmpeg's own words, key-free
        assert "push-abc" not in broken.reason
        # The failing destination disturbs neither the working one nor the members' HLS.
        assert _status(good) == Destination.Status.LIVE
        before = _newest(media_server, stream.name)
        wait_for(lambda: _newest(media_server, stream.name) != before, timeout=5, what="HLS to keep advancing")

        live_services.session_end(session=session, by=host)
        encoder.wait(timeout=15)  # the session is over: nginx's next update cuts the encoder off
    finally:
        stop(encoder)

    wait_for(lambda: _status(good) == Destination.Status.WAITING, timeout=15, what="the pushes to stop")
    received = wait_for(media_server.standin_recordings, timeout=10, what="the stand-in's recording")
    wait_for(lambda: probe_duration(received[-1]) >= 2.0, timeout=10, what="the stand-in to have got seconds of video")


def test_the_recording_becomes_a_seekable_mp4_as_long_as_the_stream(media_server, settings):
    session, host, stream = _session(LiveSession.Status.LIVE)
    encoder = ffmpeg_publish(media_server.publish_url(stream.name, stream.key), seconds=5)
    assert encoder.wait(timeout=20) == 0

    recording = wait_for(
        lambda: Recording.objects.filter(session=session, status=Recording.Status.PROCESSING).first(),
        timeout=10,
        what="on_record_done",
    )
    assert recording.source_path.endswith(".flv")
    recordings.recording_remux(recording_id=recording.pk)  # what the worker's task does
    recording.refresh_from_db()

    assert recording.status == Recording.Status.READY
    assert abs(recording.duration_seconds - 5.0) < 1.0
    data = Path(recording.mp4.path).read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: seekable before it has all arrived
    assert recordings.recording_remux(recording_id=recording.pk).mp4.name == recording.mp4.name  # twice is fine

    client = Client()
    client.force_login(host)
    url = room.replays(session_id=session.pk)[0]["url"]
    response = client.get(url, HTTP_RANGE="bytes=100-199")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert b"".join(response.streaming_content) == data[100:200]
