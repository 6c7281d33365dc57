"""Pictures are checked by their declared size before any pixel is decoded (decompression bombs)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from groupbuy import images
from groupbuy.images import ImageRejected, check_count, clean_image


def _png(width: int, height: int, mode: str = "1") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@pytest.fixture
def decodes(monkeypatch):
    """Counts pixel decodes (Image.load) during the test."""
    calls = []
    original = Image.Image.load

    def counting_load(self, *args, **kwargs):
        calls.append(self.size)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "load", counting_load)
    return calls


def test_a_small_file_declaring_144_megapixels_is_refused_without_decoding(decodes):
    bomb = _png(12000, 12000)  # a few hundred KB on disk, >1 GB once decoded as RGB
    assert len(bomb) < 2 * 1024 * 1024
    decodes.clear()

    with pytest.raises(ImageRejected) as refused:
        clean_image(SimpleUploadedFile("bomb.png", bomb), max_side=1600, max_bytes=10 * 1024 * 1024)

    assert refused.value.code == "too_many_pixels"
    assert "50" in refused.value.message
    assert decodes == []


def test_the_pixel_cap_is_a_parameter(decodes):
    picture = _png(300, 200, "RGB")

    with pytest.raises(ImageRejected):
        clean_image(io.BytesIO(picture), max_side=100, max_bytes=10**6, max_pixels=300 * 200 - 1)
    cleaned = clean_image(io.BytesIO(picture), max_side=100, max_bytes=10**6, max_pixels=300 * 200)

    assert (cleaned.width, cleaned.height) == (100, 67)


def test_a_photo_at_the_cap_is_accepted_and_shrunk():
    width, height = 8000, images.MAX_PIXELS // 8000
    cleaned = clean_image(io.BytesIO(_png(width, height, "L")), max_side=1600, max_bytes=10**7)

    assert max(cleaned.width, cleaned.height) == 1600


def test_too_many_pictures_are_refused_before_any_is_read():
    with pytest.raises(ImageRejected) as refused:
        check_count([object()] * 4, already=6, most=9, message="at most 9")

    assert (refused.value.code, refused.value.message) == ("images", "at most 9")
    check_count([object()] * 3, already=6, most=9, message="at most 9")  # exactly at the cap is fine
