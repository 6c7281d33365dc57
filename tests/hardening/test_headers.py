"""Every response but a raster image carries the Content-Security-Policy (no 'unsafe-inline', no 'unsafe-eval') and the
secure headers; bodies over the limits are refused before anything reads them, with a message in the user's language."""

import json

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from groupbuy.csp import allow_media_from, allow_webassembly, origin_of
from tests import factories

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


def test_a_page_carries_the_policy_and_the_secure_headers(client):
    response = client.get(reverse("community:member-login"))

    policy = _policy(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert policy["worker-src"] == ["'self'", "blob:"]
    assert "'self'" in policy["connect-src"] and "blob:" in policy["media-src"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert "camera=(self)" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_a_poster_png_carries_no_policy_so_the_browser_fits_it_to_the_screen(client):
    given = factories.open_campaign(members=1)
    client.force_login(given.members[0])

    poster = client.get(f"/m/jielong/{given.campaign.pk}/poster.png")
    page = client.get(f"/m/jielong/{given.campaign.pk}/")

    assert poster.status_code == 200 and poster["Content-Type"] == "image/png"
    assert "Content-Security-Policy" not in poster
    assert poster["X-Content-Type-Options"] == "nosniff"
    assert "'self'" in _policy(page)["script-src"]


@pytest.mark.parametrize("content_type", ["image/svg+xml", "text/html; charset=utf-8", "application/json"])
def test_anything_but_a_raster_image_keeps_the_policy(rf, content_type):
    from django.http import HttpResponse

    from groupbuy.csp import CSPMiddleware

    response = CSPMiddleware(lambda request: HttpResponse(b"x", content_type=content_type))(rf.get("/x"))

    assert _policy(response)["script-src"] == ["'self'"]


def test_the_media_servers_origin_is_allowed_for_hls(client, settings):
    response = client.get("/healthz")

    origin = settings.CSP_STREAM_ORIGINS[0]
    assert origin.startswith("http")
    assert origin in _policy(response)["connect-src"]
    assert origin in _policy(response)["media-src"]


def test_the_admin_carries_the_policy_too(admin_client):
    response = admin_client.get("/admin/")

    assert response.status_code == 200
    assert _policy(response)["script-src"] == ["'self'"]


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://cdn.example.com:8443/live/a.m3u8?t=1", "https://cdn.example.com:8443"),
        ("http://10.0.0.5/hls/x.m3u8", "http://10.0.0.5"),
        ("/hls/x.m3u8", ""),
        ("javascript:alert(1)", ""),
        ("", ""),
    ],
    ids=["https-port", "http", "relative", "javascript", "empty"],
)
def test_origin_of(url, origin):
    assert origin_of(url) == origin


def test_allow_media_from_adds_the_origins_to_fetch_and_media():
    from django.http import HttpResponse

    response = allow_media_from(HttpResponse(), "https://cdn.example.com/a.m3u8", "/relative", "")

    assert response._csp_update == {
        "connect-src": ["https://cdn.example.com"],
        "media-src": ["https://cdn.example.com"],
    }


def test_allow_webassembly_adds_to_script_src_beside_other_additions():
    from django.http import HttpResponse

    response = allow_webassembly(allow_media_from(HttpResponse(), "https://cdn.example.com/a.m3u8"))

    assert response._csp_update == {
        "connect-src": ["https://cdn.example.com"],
        "media-src": ["https://cdn.example.com"],
        "script-src": ["'wasm-unsafe-eval'"],
    }
    assert not hasattr(allow_media_from(HttpResponse(), "/relative", ""), "_csp_update")  # nothing to add


def test_the_live_room_allows_its_sessions_hls_server(monkeypatch):
    from livestream import hooks

    monkeypatch.setattr(hooks, "_pin_candidates", None)
    monkeypatch.setattr(hooks, "_sales", None)
    community = factories.community()
    session = factories.live_session(hls_url="https://cdn.example.com/live/a.m3u8")
    session.communities.set([community])
    member = factories.member()
    factories.membership(user=member, community=community)
    client = Client()
    client.force_login(member)

    response = client.get(reverse("livestream:member-live", args=[session.pk]))
    other = client.get(reverse("community:member-home"))

    assert response.status_code == 200
    assert "https://cdn.example.com" in _policy(response)["connect-src"]
    assert "https://cdn.example.com" in _policy(response)["media-src"]
    assert "https://cdn.example.com" not in other["Content-Security-Policy"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_json_body_over_the_limit_is_refused_before_it_is_read(client):
    body = json.dumps({"note": "x" * 2000})

    response = client.post("/api/v1/orders/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert "请求内容过大" in response.json()["error"]["message"]


@override_settings(UPLOAD_MAX_REQUEST_BYTES=5000)
def test_a_multipart_upload_over_the_limit_is_refused_in_english_for_an_english_reader(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.cookies["django_language"] = "en"
    response = client.post(reverse("community:member-login"), {"file": SimpleUploadedFile("a.bin", b"x" * 6000)})

    assert response.status_code == 413
    assert response.content.decode() == "The request is too large (at most 0.00476837 MB)."


def test_a_form_under_the_limit_goes_through(client):
    response = client.post(reverse("community:member-login"), {"phone": "13800000000"})

    assert response.status_code != 413
