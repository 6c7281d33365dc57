"""The brand mark 源 as the tab icon on every page built on base.html (member, leader and console shells)."""

from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/m/login/", "/"])
def test_pages_link_the_favicon(client, url):
    page = client.get(url).content.decode()

    assert 'rel="icon" href="/static/favicon.svg" type="image/svg+xml"' in page
    assert 'rel="apple-touch-icon" href="/static/favicon-180.png"' in page


def test_favicon_files_are_in_static():
    static = Path(settings.BASE_DIR) / "static"

    assert "源" in (static / "favicon.svg").read_text(encoding="utf-8")
    assert (static / "favicon-32.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (static / "favicon-180.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
