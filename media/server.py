"""The media server: nginx with the RTMP module, its config rendered from the MEDIA_* settings.

``manage.py media_server run`` (``./bin/media``, the media-server service of docker-compose.yml) renders
``<MEDIA_SERVER_DIR>/nginx.conf`` and runs nginx with its own prefix, pid file and logs there, so it needs no
root and touches nothing of the system's nginx. Started as root, nginx's workers run as MEDIA_SERVER_USER and
the folders they write (recordings, HLS, logs, temp) are handed to that user first: a record path the
worker cannot write loses the recording silently (RECIPES.md).

What nginx does with a stream (application ``live``):
- ``on_publish`` asks the app whether the key is the session's current one (``callbacks``), and
  ``on_update`` asks again every MEDIA_UPDATE_SECONDS, so a rotated key or a cancelled session is cut off;
- HLS with short fragments for the member room (served by this nginx's HTTP port, under ``/hls/``);
- every publish is recorded to FLV; ``on_record_done`` makes the worker turn it into an MP4;
- ``exec_push`` starts the relay supervisor (``media/relay.py``) for the stream: it pushes to the session's
  destinations with ``ffmpeg -c copy`` while the session is live; nginx stops it when the publish ends.
Playing over RTMP is allowed from this machine only (the relays); members watch HLS.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from . import config

RELAY_SCRIPT = Path(__file__).with_name("relay.py")
HEALTH_CACHE_SECONDS = 5


class MediaServerError(Exception):
    pass


def base_dir() -> Path:
    return Path(settings.MEDIA_SERVER_DIR)


def hls_dir() -> Path:
    return base_dir() / "hls"


def record_dir() -> Path:
    return base_dir() / "rec"


def conf_path() -> Path:
    return base_dir() / "nginx.conf"


def _worker_user() -> str | None:
    """The user nginx's workers run as: MEDIA_SERVER_USER when started as root, else ourselves (no ``user`` line)."""
    return settings.MEDIA_SERVER_USER if os.geteuid() == 0 else None


def _relay_python() -> str:
    """The relay needs only the standard library, and runs as nginx's worker user, who may not reach this
    process's interpreter (a virtualenv under /root): the system's python3 when there is one."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    return sys.executable


def _callback(name: str) -> str:
    base = settings.MEDIA_CALLBACK_URL.rstrip("/")
    return f"{base}/internal/media/{name}/?secret={config.callback_secret()}"


def render(*, extra_rtmp: str = "", daemon: bool = True) -> str:
    """The nginx config for the MEDIA_* settings. ``extra_rtmp``: more RTMP applications or servers (tests)."""
    d = base_dir()
    user = _worker_user()
    fragment = settings.MEDIA_HLS_FRAGMENT_SECONDS
    playlist = max(settings.MEDIA_HLS_PLAYLIST_SECONDS, 4 * fragment)  # hls.js needs several fragments listed
    relay = f"{_relay_python()} {RELAY_SCRIPT} --config {d / 'relay.json'} --name $name"
    lines = [
        "# Rendered by `manage.py media_server` from the MEDIA_* settings: edit those, not this file.",
        f"load_module {settings.MEDIA_RTMP_MODULE};",
        f"pid {d / 'nginx.pid'};",
        f"error_log {d / 'logs' / 'error.log'} warn;",
        f"daemon {'on' if daemon else 'off'};",
        "worker_processes 1;",
        # nginx passes no environment to what it starts: the relay needs only its config file.
        *([f"user {user} {grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name};"] if user else []),
        "events { worker_connections 1024; }",
        "",
        "rtmp {",
        "    server {",
        f"        listen {settings.MEDIA_RTMP_PORT};",
        "        chunk_size 4096;",
        "        notify_method post;",
        f"        application {config.APP} {{",
        "            live on;",
        "            allow publish all;",
        "            allow play 127.0.0.1;",
        "            deny play all;",
        # An encoder whose network died is dropped soon, so its reconnect is not refused as a second encoder.
        "            drop_idle_publisher 10s;",
        "            sync 300ms;",
        f"            on_publish {_callback('publish')};",
        f"            on_publish_done {_callback('publish-done')};",
        f"            on_update {_callback('update')};",
        f"            notify_update_timeout {settings.MEDIA_UPDATE_SECONDS}s;",
        f"            on_record_done {_callback('record-done')};",
        "            record all;",
        f"            record_path {record_dir()};",
        "            record_unique on;",
        "            hls on;",
        f"            hls_path {hls_dir()};",
        f"            hls_fragment {fragment}s;",
        f"            hls_playlist_length {playlist}s;",
        "            hls_continuous on;",
        "            hls_cleanup on;",
        f"            exec_push {relay};",
        "            respawn on;",
        "            respawn_timeout 3s;",
        "            exec_kill_signal term;",
        "        }",
        *[f"        {line}" for line in extra_rtmp.splitlines()],
        "    }",
        "}",
        "",
        "http {",
        "    access_log off;",
        f"    client_body_temp_path {d / 'tmp' / 'body'};",
        f"    proxy_temp_path {d / 'tmp' / 'proxy'};",
        f"    fastcgi_temp_path {d / 'tmp' / 'fastcgi'};",
        f"    uwsgi_temp_path {d / 'tmp' / 'uwsgi'};",
        f"    scgi_temp_path {d / 'tmp' / 'scgi'};",
        "    types {",
        "        application/vnd.apple.mpegurl m3u8;",
        "        video/mp2t ts;",
        "    }",
        "    server {",
        f"        listen {settings.MEDIA_HTTP_PORT};",
        "        location /hls/ {",
        f"            alias {hls_dir()}/;",
        "            add_header Cache-Control no-cache;",
        "            add_header Access-Control-Allow-Origin *;",
        "        }",
        "        location = /healthz {",
        "            default_type text/plain;",
        "            return 200 'ok';",
        "        }",
        "        location /stat {",
        "            rtmp_stat all;",
        "            allow 127.0.0.1;",
        "            deny all;",
        "        }",
        "    }",
        "}",
        "",
    ]
    return "\n".join(lines)


def relay_config() -> dict:
    """What the relay supervisor needs, written next to the nginx config (it reads no Django settings)."""
    return {
        "callback": settings.MEDIA_CALLBACK_URL.rstrip("/") + "/internal/media/",
        "secret": config.callback_secret(),
        "source": f"rtmp://127.0.0.1:{settings.MEDIA_RTMP_PORT}/{config.APP}/",
        "ffmpeg": shutil.which(settings.MEDIA_FFMPEG) or settings.MEDIA_FFMPEG,
        "rw_timeout": settings.MEDIA_RELAY_TIMEOUT_SECONDS,
        "log": str(base_dir() / "logs" / "relay.log"),
    }


def prepare(*, extra_rtmp: str = "", daemon: bool = True) -> Path:
    """Create the folders (writable by nginx's workers), write the config and the relay's, check them with nginx -t."""
    if not Path(settings.MEDIA_RTMP_MODULE).exists():
        raise MediaServerError(
            f"The RTMP module is not installed ({settings.MEDIA_RTMP_MODULE}). On Debian: apt-get install nginx libnginx-mod-rtmp"
        )
    d = base_dir()
    user = _worker_user()
    owner = pwd.getpwnam(user) if user else None
    for folder in (d, d / "logs", d / "rec", d / "hls", d / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
        if owner is not None and folder != d:
            os.chown(folder, owner.pw_uid, owner.pw_gid)
    conf_path().write_text(render(extra_rtmp=extra_rtmp, daemon=daemon))
    relay = d / "relay.json"
    relay.write_text(json.dumps(relay_config(), indent=2))
    os.chmod(relay, 0o600)
    if owner is not None:
        os.chown(relay, owner.pw_uid, owner.pw_gid)
        os.chmod(d, 0o755)
    result = subprocess.run(_nginx("-t"), capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise MediaServerError(result.stderr.strip())
    return conf_path()


def _nginx(*args: str) -> list[str]:
    d = base_dir()
    return [settings.MEDIA_NGINX, "-p", str(d), "-c", str(conf_path()), "-e", str(d / "logs" / "error.log"), *args]


def start(*, extra_rtmp: str = "", wait: float = 10.0) -> None:
    """Start nginx in the background (daemon) and wait until its HTTP port answers."""
    prepare(extra_rtmp=extra_rtmp, daemon=True)
    result = subprocess.run(_nginx(), capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise MediaServerError(result.stderr.strip())
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if is_running(use_cache=False):
            return
        time.sleep(0.1)
    raise MediaServerError("nginx started but its HTTP port does not answer")


def run_foreground(*, extra_rtmp: str = "") -> None:
    """Replace this process with nginx in the foreground (``./bin/media``, the compose service)."""
    prepare(extra_rtmp=extra_rtmp, daemon=False)
    command = _nginx()
    os.execv(command[0], command)


def stop(*, wait: float = 10.0) -> bool:
    """Stop a running instance (its relays stop with it); returns whether one was running."""
    pid_file = base_dir() / "nginx.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 15)
    except (ValueError, ProcessLookupError):
        pid_file.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.kill(pid, 9)
    return True


def is_running(*, use_cache: bool = True) -> bool:
    """Whether the media server answers (its HTTP health check), remembered for a few seconds."""
    key = "media:server-up"
    if use_cache:
        try:
            known = cache.get(key)
        except Exception:  # Redis away: the room still renders, asking the server itself
            known = None
        if known is not None:
            return known
    url = f"http://{settings.MEDIA_SERVER_HOST}:{settings.MEDIA_HTTP_PORT}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            up = response.status == 200
    except Exception:
        up = False
    with contextlib.suppress(Exception):  # no cache (Redis away): ask again next time
        cache.set(key, up, HEALTH_CACHE_SECONDS)
    return up
