"""Media (posters, pictures) is served with DEBUG off too: production answered 404 for every picture."""

import pytest
from django.conf import settings
from django.test import Client


@pytest.mark.django_db
def test_media_files_are_served_with_debug_off(client, tmp_path):
    assert settings.DEBUG is False
    folder = settings.MEDIA_ROOT / "posters"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "probe-media.png").write_bytes(b"\x89PNG\r\n\x1a\nprobe")
    try:
        response = client.get(f"{settings.MEDIA_URL}posters/probe-media.png")
        body = b"".join(response.streaming_content)
    finally:
        (folder / "probe-media.png").unlink()

    assert response.status_code == 200
    assert body == b"\x89PNG\r\n\x1a\nprobe"
    assert response["Content-Type"] == "image/png"


@pytest.mark.django_db
def test_media_has_no_directory_listing_and_no_escape():
    client = Client(raise_request_exception=False)

    assert client.get(f"{settings.MEDIA_URL}").status_code == 404
    assert client.get(f"{settings.MEDIA_URL}../pyproject.toml").status_code in (400, 404)


@pytest.mark.django_db
def test_favicon_ico_points_at_the_brand_mark(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("favicon-32.png")
