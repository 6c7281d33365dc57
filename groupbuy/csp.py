"""The Content-Security-Policy's middleware and per-page additions (the policy itself is CONTENT_SECURITY_POLICY in
settings).

A live session may play an HLS stream from a server of the operator's choosing (its ``hls_url``); only the pages
that play it allow that origin, for fetching (hls.js) and for the <video> element (Safari's native HLS)."""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware as _CSPMiddleware
from django.http import HttpResponse

# Raster images run no script and load nothing, so the policy protects nothing on them.
RASTER_IMAGES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})


class CSPMiddleware(_CSPMiddleware):
    """django-csp's, except on a raster image (a poster, a QR code, a picture). Opened on its own, an image is shown
    by the browser's image viewer, whose own styles the policy's style-src refuses: a phone then showed a 750 px
    poster at full size, overflowing the screen, instead of fitted to it. An SVG can run script and keeps the
    policy."""

    def process_response(self, request, response):
        if response.get("Content-Type", "").split(";")[0].strip().lower() in RASTER_IMAGES:
            response._csp_exempt = True
            response._csp_exempt_ro = True
        return super().process_response(request, response)


def origin_of(url: str) -> str:
    """``https://cdn.example:8443`` for an http(s) URL, "" for anything else (a relative path is 'self')."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def allow_media_from(response: HttpResponse, *urls: str) -> HttpResponse:
    """Let this response's page fetch and play media from the origins of ``urls`` (django-csp's update)."""
    origins = sorted({origin for origin in map(origin_of, urls) if origin})
    if not origins:
        return response
    return _add(response, {"connect-src": origins, "media-src": origins})


def allow_webassembly(response: HttpResponse) -> HttpResponse:
    """Let this response's page compile WebAssembly from its own scripts (the pickup counter's QR reader).
    'wasm-unsafe-eval' allows WebAssembly compilation only, not eval(); the .wasm itself comes from 'self'."""
    return _add(response, {"script-src": ["'wasm-unsafe-eval'"]})


def _add(response: HttpResponse, sources: dict[str, list[str]]) -> HttpResponse:
    """Add ``sources`` to the policy's directives for this response only (django-csp's ``_csp_update``)."""
    update = dict(getattr(response, "_csp_update", None) or {})
    for directive, values in sources.items():
        update[directive] = [*update.get(directive, []), *values]
    response._csp_update = update
    return response
