"""Media benchmark: glass-to-glass delay to the member's player, CPU per pushed destination, and the remux.

    .venv/bin/python bench/media.py [--seconds 40] [--destinations 3] [--clips-minutes 0]

It runs the media server exactly as ``manage.py media_server`` renders it (nginx-rtmp, HLS with the room's
fragment length, the relay supervisor), on free ports in a folder of its own, with a stand-in for the app's
callbacks (every key admitted, the session live) and a second RTMP server standing in for 视频号.

- ``hls_latency_s``: an ffmpeg encoder (``-re``, 640×360, 25 fps, 1 s keyframe interval, x264 veryfast
  zerolatency) stamps every frame with its number in 14 black/white boxes; headless Chromium plays the HLS
  with ``static/js/media_player.js`` (the room's hls.js settings) and decodes the stamp of each frame it
  presents (``requestVideoFrameCallback``). A frame *n* left the encoder at ``t0 + n / 25`` (``t0`` from
  ffmpeg's ``-progress``: the earliest wall time minus stream time), so its delay is when it is shown minus
  that. Median over the steady part (the first 10 s are skipped); p90 too; ``stalls``: how often the player
  waited for data once it had started.
- ``cpu_per_destination_pct``: the relays' CPU (``ffmpeg -c copy``, one per destination, pushing to the
  stand-in) in % of one core, per destination, over 15 s; ``nginx_cpu_per_destination_pct`` is the extra
  CPU of nginx's worker (serving the relays and, here, also receiving them as the stand-in).
- ``remux_s_per_hour``: the worker's FLV → faststart MP4 (``media.recordings.remux``) of the benchmark's
  recording looped by stream copy to ten minutes or more, scaled to an hour.
- ``clips_ready_s_per_hour``: from ``bench/clips.py --minutes N`` (the highlights benchmark) when
  ``--clips-minutes N`` is given, else null.

The last line is one JSON object with these keys (and the load average when it started).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._harness import free_port, percentile  # noqa: E402

FPS = 25
BITS = 14
BOX, STEP, TOP = 36, 40, 10


def _stamp_filter() -> str:
    """Black band with one white box per set bit of the frame number (drawbox's timeline ``n``)."""
    parts = [f"drawbox=x=4:y=4:w={BITS * STEP + 8}:h={BOX + 12}:color=black:t=fill"]
    for k in range(BITS):
        parts.append(
            f"drawbox=x={TOP + k * STEP}:y={TOP}:w={BOX}:h={BOX}:color=white:t=fill"
            f":enable='eq(mod(floor(n/{2**k}),2),1)'"
        )
    return ",".join(parts)


PAGE = """<!doctype html><meta charset="utf-8"><title>bench</title>
<video id="v" muted playsinline autoplay width="640" height="360"></video>
<canvas id="c" width="640" height="360" hidden></canvas>
<script src="/hls.min.js"></script><script src="/media_player.js"></script>
<script>
var video = document.getElementById("v"), ctx = document.getElementById("c").getContext("2d", {willReadFrequently: true});
window.samples = []; window.stalls = 0; var playing = false;
video.addEventListener("playing", function () { playing = true; });
video.addEventListener("waiting", function () { if (playing) window.stalls += 1; });
window.groupbuyPlayer.attach(video, "%(hls)s");
function frame(now, meta) {
  ctx.drawImage(video, 0, 0, 640, 360);
  var n = 0;
  for (var k = 0; k < %(bits)d; k++) {
    var p = ctx.getImageData(%(top)d + k * %(step)d + %(half)d, %(top)d + %(half)d, 1, 1).data;
    if (p[0] + p[1] + p[2] > 384) n += Math.pow(2, k);
  }
  window.samples.push([performance.timeOrigin + meta.expectedDisplayTime, n]);
  video.requestVideoFrameCallback(frame);
}
video.requestVideoFrameCallback(frame);
</script>"""


class Stub(BaseHTTPRequestHandler):
    """The app's side of the callbacks: admit everything, the session is live, push to ``destinations``."""

    destinations: list[dict] = []
    records: list[str] = []
    statuses: list[tuple[int, str]] = []
    source = ""
    files: dict[str, tuple[str, bytes]] = {}

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path in self.files:
            kind, body = self.files[url.path]
            return self._send(200, body, kind)
        if url.path.endswith("/relays/"):
            plan = {"live": True, "gone": False, "source": self.source, "destinations": list(self.destinations)}
            return self._send(200, json.dumps(plan).encode(), "application/json")
        return self._send(404, b"no")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        path = urlsplit(self.path).path
        if path.endswith("/record-done/"):
            Stub.records.append(form.get("path", ""))
        elif path.endswith("/relay-status/"):
            Stub.statuses.append((int(form.get("destination", 0)), form.get("status", "")))
        return self._send(200, b"ok")

    def _send(self, code, body, kind="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return total


def _pids(pattern: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _nginx_worker(directory: Path) -> list[int]:
    master = int((directory / "nginx.pid").read_text())
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=40, help="length of the latency measurement stream")
    parser.add_argument("--destinations", type=int, default=3)
    parser.add_argument("--clips-minutes", type=int, default=0, help="also run bench/clips.py for N minutes")
    args = parser.parse_args()
    load = os.getloadavg()[0]

    directory = Path(tempfile.mkdtemp(prefix="gb-bench-media-"))
    os.chmod(directory, 0o755)
    standin = directory / "standin"
    standin.mkdir()
    os.chmod(standin, 0o777)
    rtmp, http, standin_port, stub_port = free_port(), free_port(), free_port(), free_port()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "groupbuy.settings.local",
            "GROUPBUY_DATA_DIR": str(directory / "data"),
            "MEDIA_SERVER_DIR": str(directory / "server"),
            "MEDIA_RTMP_PORT": str(rtmp),
            "MEDIA_HTTP_PORT": str(http),
            "MEDIA_CALLBACK_URL": f"http://127.0.0.1:{stub_port}",
            "MEDIA_CALLBACK_SECRET": "bench",
        }
    )
    import django

    django.setup()
    from django.conf import settings

    from media import recordings, server

    hls_url = f"http://127.0.0.1:{http}/hls/bench.m3u8"
    Stub.source = f"rtmp://127.0.0.1:{rtmp}/live/bench"
    Stub.files = {
        "/bench.html": (
            "text/html; charset=utf-8",
            (PAGE % {"hls": hls_url, "bits": BITS, "top": TOP, "step": STEP, "half": BOX // 2}).encode(),
        ),
        "/hls.min.js": ("text/javascript", (ROOT / "node_modules/hls.js/dist/hls.min.js").read_bytes()),
        "/media_player.js": ("text/javascript", (ROOT / "static/js/media_player.js").read_bytes()),
    }
    stub = ThreadingHTTPServer(("127.0.0.1", stub_port), Stub)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    extra = "\n".join(
        ["}", "server {", f"    listen {standin_port};", "    application channels {", "        live on;", "    }"]
    )
    server.start(extra_rtmp=extra)
    server_dir = Path(settings.MEDIA_SERVER_DIR)
    total = args.seconds + 40  # latency, then the CPU phases
    # fmt: off
    encoder = subprocess.Popen(
        [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
            "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate={FPS}",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
            "-t", str(total), "-vf", _stamp_filter(),
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", str(FPS), "-b:v", "1500k",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k",
            "-progress", "pipe:1", "-f", "flv", f"rtmp://127.0.0.1:{rtmp}/live/bench?key=bench",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    # fmt: on
    offsets: list[float] = []

    def read_progress():
        for line in encoder.stdout:
            key, _, value = line.strip().partition("=")
            if key == "out_time_us" and value.isdigit() and int(value) > 0:
                offsets.append(time.time() - int(value) / 1e6)

    threading.Thread(target=read_progress, daemon=True).start()
    result: dict = {"load_average": round(load, 2)}
    try:
        # --- glass to glass -------------------------------------------------------------------------
        from playwright.sync_api import sync_playwright

        from tests.browser import launch

        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 700, "height": 420})
            page.goto(f"http://127.0.0.1:{stub_port}/bench.html")
            time.sleep(args.seconds)
            samples = page.evaluate("window.samples")
            decoded = page.evaluate("document.getElementById('v').webkitDecodedFrameCount")
            stalls = page.evaluate("window.stalls")
            browser.close()
        t0 = min(offsets)
        first = samples[0][0] / 1000 if samples else 0
        delays = [shown / 1000 - (t0 + n / FPS) for shown, n in samples if shown / 1000 > first + 10]
        result["hls_latency_s"] = round(statistics.median(delays), 2) if delays else None
        result["hls_latency_p90_s"] = round(percentile(delays, 90), 2) if delays else None
        result["frames_checked"] = len(delays)
        result["frames_decoded"] = decoded
        result["stalls"] = stalls  # the player waited for data after it had started

        # --- CPU per destination ----------------------------------------------------------------------
        def measure(seconds: float) -> tuple[float, float]:
            relays = _pids(f"rtmp://127.0.0.1:{standin_port}/channels")
            worker = _nginx_worker(server_dir)
            before, before_worker = _cpu_seconds(relays), _cpu_seconds(worker)
            time.sleep(seconds)
            return (
                (_cpu_seconds(relays) - before) / seconds * 100,
                (_cpu_seconds(worker) - before_worker) / seconds * 100,
            )

        Stub.destinations = []
        time.sleep(2)
        _none, worker_idle = measure(8)
        Stub.destinations = [
            {"id": i + 1, "target": f"rtmp://127.0.0.1:{standin_port}/channels/d{i + 1}"}
            for i in range(args.destinations)
        ]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len({d for d, s in Stub.statuses if s == "live"}) < args.destinations:
            time.sleep(0.2)
        relays_pct, worker_busy = measure(15)
        result["destinations_live"] = len({d for d, s in Stub.statuses if s == "live"})
        result["cpu_per_destination_pct"] = round(relays_pct / args.destinations, 2)
        result["nginx_cpu_per_destination_pct"] = round((worker_busy - worker_idle) / args.destinations, 2)
        Stub.destinations = []
    finally:
        encoder.terminate()
        encoder.wait(timeout=10)

    # --- the recording's remux ------------------------------------------------------------------------
    deadline = time.monotonic() + 20
    while not Stub.records and time.monotonic() < deadline:
        time.sleep(0.2)
    if Stub.records:
        # The recording looped by stream copy to ten minutes or more, so ffmpeg's start-up does not dominate.
        source = directory / "long.flv"
        loops = max(0, int(600 // max(1.0, args.seconds + 40)))
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", str(loops), "-i", Stub.records[-1],
             "-c", "copy", str(source)],
            check=True,
        )  # fmt: skip
        started = time.perf_counter()
        duration = recordings.remux(source, directory / "remux.mp4")
        took = time.perf_counter() - started
        result["recording_s"] = round(duration, 1)
        result["remux_s"] = round(took, 3)
        result["remux_s_per_hour"] = round(took * 3600 / duration, 1)
    server.stop()
    stub.shutdown()

    result["clips_ready_s_per_hour"] = None
    if args.clips_minutes:
        out = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "clips.py"), "--minutes", str(args.clips_minutes)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        if lines:
            result["clips_ready_s_per_hour"] = json.loads(lines[-1]).get("clips_ready_s_per_hour")
        else:
            result["clips_error"] = (out.stderr.strip().splitlines() or ["bench/clips.py printed no result"])[-1][:200]
    shutil.rmtree(directory, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
