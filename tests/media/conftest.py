"""A real nginx-rtmp for the media tests, and ffmpeg test streams (lavfi testsrc2 + sine) to publish into it.

One nginx per test module (``media_server`` fixtures), on ports of its own, with a second RTMP server on
the next port standing in for 视频号 (application ``channels``, recording what it receives). Streams are a
few seconds of 320×180 at 25 fps with a 1 s keyframe interval, so the whole module stays quick on 2 cores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import override_settings

from media import server

SECRET = "media-test-secret"
NEEDED = ("/usr/sbin/nginx", "/usr/lib/nginx/modules/ngx_rtmp_module.so")


def _require_tools() -> None:
    missing = [p for p in NEEDED if not Path(p).exists()] + [t for t in ("ffmpeg", "ffprobe") if not shutil.which(t)]
    if missing:
        pytest.fail(f"the media tests need nginx-rtmp and ffmpeg (./bin/test installs them): missing {missing}")


@dataclass
class MediaServer:
    dir: Path
    rtmp_port: int
    http_port: int
    standin_port: int

    def publish_url(self, name: str, key: str) -> str:
        return f"rtmp://127.0.0.1:{self.rtmp_port}/live/{name}?key={key}"

    def playlist(self, name: str) -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/hls/{name}.m3u8", timeout=2) as r:
                return r.read().decode()
        except Exception:
            return None

    def standin_recordings(self) -> list[Path]:
        return sorted((self.dir / "standin").glob("*.flv"))


def media_settings(directory: Path, *, rtmp_port: int, http_port: int, callback_url: str) -> dict:
    return {
        "MEDIA_SERVER_DIR": directory,
        "MEDIA_RTMP_PORT": rtmp_port,
        "MEDIA_HTTP_PORT": http_port,
        "MEDIA_SERVER_HOST": "127.0.0.1",
        "MEDIA_CALLBACK_URL": callback_url,
        "MEDIA_CALLBACK_SECRET": SECRET,
        "MEDIA_UPDATE_SECONDS": 2,
        "MEDIA_RELAY_TIMEOUT_SECONDS": 3,
        "MEDIA_ROOT": directory / "files",
    }


@contextmanager
def running_media_server(*, rtmp_port: int, http_port: int, callback_url: str):
    """nginx-rtmp with the app's rendered config (plus the stand-in for 视频号 on ``rtmp_port + 1``)."""
    _require_tools()
    directory = Path(tempfile.mkdtemp(prefix="gb-media-"))
    os.chmod(directory, 0o755)  # nginx's workers (nobody, when the tests run as root) must reach the folders
    standin = directory / "standin"
    standin.mkdir()
    os.chmod(standin, 0o777)
    extra = "\n".join(
        [
            "}",  # close the platform's server block: the stand-in is another server, on its own port
            "server {",
            f"    listen {rtmp_port + 1};",
            "    application channels {",
            "        live on;",
            "        record all;",
            f"        record_path {standin};",
            "        record_unique on;",
            "    }",
        ]
    )
    values = media_settings(directory, rtmp_port=rtmp_port, http_port=http_port, callback_url=callback_url)
    with override_settings(**values):
        server.start(extra_rtmp=extra)
        try:
            yield MediaServer(dir=directory, rtmp_port=rtmp_port, http_port=http_port, standin_port=rtmp_port + 1)
        finally:
            server.stop()
            for log in ("error.log", "relay.log"):  # shown with a failing test's captured output
                path = directory / "logs" / log
                if path.exists():
                    print(f"--- {log} ---\n" + "\n".join(path.read_text(errors="replace").splitlines()[-40:]))
            shutil.rmtree(directory, ignore_errors=True)


def ffmpeg_publish(url: str, *, seconds: float) -> subprocess.Popen:
    """A test stream: colour bars with a clock and a 440 Hz tone, 1 s keyframe interval, for ``seconds``."""
    command = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
        "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-t", str(seconds),
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k", "-f", "flv", url,
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def probe_duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
