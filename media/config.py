"""The media server's addresses and secret, from the MEDIA_* settings (groupbuy/settings/base.py)."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from django.conf import settings

APP = "live"  # the RTMP application encoders publish to


def rtmp_public_url() -> str:
    """What the host types into OBS as the server (推流地址), e.g. ``rtmp://live.example.com:1935/live``."""
    return settings.MEDIA_RTMP_PUBLIC_URL or f"rtmp://{settings.MEDIA_SERVER_HOST}:{settings.MEDIA_RTMP_PORT}/{APP}"


def hls_public_url() -> str:
    """Where members' players load the playlists from (ends with a slash)."""
    url = settings.MEDIA_HLS_PUBLIC_URL or f"http://{settings.MEDIA_SERVER_HOST}:{settings.MEDIA_HTTP_PORT}/hls/"
    return url if url.endswith("/") else url + "/"


def hls_url(stream_name: str) -> str:
    return f"{hls_public_url()}{stream_name}.m3u8"


def rtmp_internal_url(stream_name: str) -> str:
    """Where relays read the stream (nginx allows playing over RTMP from this machine only)."""
    return f"rtmp://127.0.0.1:{settings.MEDIA_RTMP_PORT}/{APP}/{stream_name}"


def callback_secret() -> str:
    """The shared secret nginx sends with every callback: the setting, else derived from SECRET_KEY."""
    if settings.MEDIA_CALLBACK_SECRET:
        return settings.MEDIA_CALLBACK_SECRET
    return hmac.new(settings.SECRET_KEY.encode(), b"groupbuy.media.callbacks", hashlib.sha256).hexdigest()[:40]


def is_own_ingest(host: str, port: int | None) -> bool:
    """Whether ``host:port`` is this platform's own RTMP ingest (pushing there would loop the stream)."""
    own_hosts = {
        "localhost",
        "0.0.0.0",
        "::",
        "::1",
        settings.MEDIA_SERVER_HOST.lower(),
        (urlsplit(rtmp_public_url()).hostname or "").lower(),
    }
    host = (host or "").lower().strip("[]")
    own_ports = {settings.MEDIA_RTMP_PORT, urlsplit(rtmp_public_url()).port or 1935}
    is_local = host in own_hosts or host.startswith("127.")
    return is_local and (port or 1935) in own_ports
