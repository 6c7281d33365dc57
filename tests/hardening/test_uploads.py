"""Upload limits: pictures (bytes, declared pixels, Pillow's own bomb guard, the formats read), spreadsheets
(a zip of too many parts), the request's field count, and the settings that bound every request."""

import io
import struct
import zipfile
import zlib

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from PIL import Image

from catalogue.models import Product, ProductImage, Supplier
from community import roster
from community.roster.parse import MAX_XLSX_MEMBERS
from groupbuy import images
from groupbuy.images import ImageRejected, clean_image
from tests import factories


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header declares ``width`` × ``height`` (what a bomb's header says)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"")) + _chunk(b"IEND", b"")


def test_pillows_own_guard_is_the_apps_pixel_cap():
    assert Image.MAX_IMAGE_PIXELS == images.MAX_PIXELS == 50_000_000


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "The picture has too many pixels (at most 50 megapixels)."),
        ("zh-hans", "图片像素太多（最多 50 百万像素）。"),
    ],
    ids=["en", "zh"],
)
def test_a_header_declaring_400_megapixels_is_refused_in_the_readers_language(language, message):
    bomb = png_declaring(20_000, 20_000)  # Pillow itself refuses it in Image.open (over twice its limit)
    assert len(bomb) < 100

    with translation.override(language), pytest.raises(ImageRejected) as refused:
        clean_image(SimpleUploadedFile("bomb.png", bomb), max_side=1600, max_bytes=10 * 1024 * 1024)

    assert refused.value.code == "too_many_pixels"
    assert message in refused.value.message


def test_a_header_just_over_the_cap_is_refused_too():
    with pytest.raises(ImageRejected) as refused:
        clean_image(io.BytesIO(png_declaring(10_000, 5_001)), max_side=1600, max_bytes=10**7)

    assert refused.value.code == "too_many_pixels"


@pytest.mark.parametrize("kind", ["TIFF", "ICO"])
def test_a_picture_in_a_format_nobody_uploads_is_not_read(kind):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buffer, format=kind)

    with pytest.raises(ImageRejected) as refused:
        clean_image(io.BytesIO(buffer.getvalue()), max_side=100, max_bytes=10**6)

    assert refused.value.code == "not_image"


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP", "GIF"])
def test_the_formats_phones_send_are_read(kind):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buffer, format=kind)

    assert (clean_image(io.BytesIO(buffer.getvalue()), max_side=100, max_bytes=10**6).width, kind) == (64, kind)


@pytest.mark.django_db
def test_the_product_photo_page_refuses_a_bomb_with_a_message_and_keeps_nothing(client):
    operator = factories.operator()
    supplier = Supplier.objects.create(brand=factories.brand(), name="云南高原农场")
    product = Product.objects.create(supplier=supplier, name="小土豆", storage=Product.StorageType.AMBIENT)
    client.force_login(operator)
    client.cookies["django_language"] = "en"
    ok = io.BytesIO()
    Image.new("RGB", (64, 48)).save(ok, format="JPEG")

    response = client.post(
        reverse("catalogue:ops-product-photos-add", args=[product.pk]),
        {
            "photos": [
                SimpleUploadedFile("ok.jpg", ok.getvalue()),
                SimpleUploadedFile("bomb.png", png_declaring(20_000, 20_000)),
            ]
        },
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "The picture has too many pixels (at most 50 megapixels)."
    ]
    assert ProductImage.objects.filter(product=product).count() == 0  # not even the good one


def test_an_xlsx_of_thousands_of_tiny_parts_is_refused_before_openpyxl_reads_it():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for n in range(MAX_XLSX_MEMBERS + 1):
            archive.writestr(f"xl/media/{n}.xml", "<a/>")

    with pytest.raises(roster.RosterFileInvalid) as refused:
        roster.roster_parse(content=buffer.getvalue(), filename="名单.xlsx")

    assert refused.value.code == "unpacked_too_large"


@pytest.mark.django_db
def test_a_form_with_more_fields_than_any_page_sends_is_refused(client):
    fields = "&".join(f"f{n}=1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    response = client.post(reverse("community:member-login"), fields, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400


def test_the_request_limits_are_set_deliberately():
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE == 2_621_440
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS == 2000
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES == 20
    # The biggest multipart form: nine 10 MB photos (community posts, product photos) and its fields.
    assert 9 * 10 * 1024 * 1024 < settings.UPLOAD_MAX_REQUEST_BYTES == 100 * 1024 * 1024
