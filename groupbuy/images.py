"""Uploaded pictures made safe to share: turned upright, shrunk, re-encoded without metadata.

A phone photo carries EXIF (camera, time, often the GPS position of someone's home). Re-encoding
the pixels into a fresh image drops all of it. Any app may use this; it depends on nothing but Pillow.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from io import BytesIO

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from groupbuy.errors import DomainError

JPEG_QUALITY = 85
# A picture's declared size is read from its header before any pixel is decoded. 50 megapixels covers
# every phone camera; a 12000×12000 PNG of a few hundred KB (a decompression bomb) would take >1 GB.
MAX_PIXELS = 50_000_000
# Pillow's own guard, for every image this process opens: it warns above this and refuses twice this in
# Image.open itself (DecompressionBombError), before clean_image's own check would see the size.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# The formats a phone or a laptop uploads. Pillow reads many more (EPS, PSD, FITS, ...): a parser never
# needed is an attack surface never opened.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")  # JPEG includes MPO (multi-picture JPEG from some cameras)


class ImageRejected(DomainError):
    pass


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    extension: str  # "jpg", or "png" for a picture with transparency
    width: int
    height: int


def _too_many_pixels(max_pixels: int) -> ImageRejected:
    return ImageRejected(
        _("The picture has too many pixels (at most %(mp)s megapixels).") % {"mp": max_pixels // 1_000_000},
        code="too_many_pixels",
    )


def _too_large(max_bytes: int) -> ImageRejected:
    return ImageRejected(
        _("The picture is too large (at most %(mb)s MB).") % {"mb": max_bytes // (1024 * 1024)}, code="too_large"
    )


def check_count(uploads: list, *, already: int = 0, most: int, message: str) -> None:
    """Refuse more than ``most`` pictures before decoding any of them (each decode costs memory and time)."""
    if already + len(uploads) > most:
        raise ImageRejected(message, code="images")


def clean_image(upload, *, max_side: int, max_bytes: int, max_pixels: int = MAX_PIXELS) -> CleanImage:
    """Read ``upload`` (a file-like object), refuse what is not a readable picture, is over ``max_bytes``
    or declares more than ``max_pixels``, and return it upright, with its long edge at most ``max_side``
    and no EXIF. Sizes are checked before decoding, so a bomb costs a header read, not a gigabyte."""
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise _too_large(max_bytes)
    try:
        with warnings.catch_warnings():
            # Over MAX_IMAGE_PIXELS but under twice it: refused below by the declared size, not just warned about.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            original = Image.open(upload, formats=FORMATS)
    except Image.DecompressionBombError:
        raise _too_many_pixels(max_pixels) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageRejected(_("That file is not a picture that can be read."), code="not_image") from None
    try:
        with original:
            width, height = original.size
            if width * height > max_pixels:
                raise _too_many_pixels(max_pixels)
            # JPEG decodes straight at a reduced scale when that is all we keep.
            original.draft("RGB", (max_side, max_side))
            original.load()
            picture = ImageOps.exif_transpose(original)
    except Image.DecompressionBombError:
        raise _too_many_pixels(max_pixels) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageRejected(_("That file is not a picture that can be read."), code="not_image") from None
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    has_alpha = picture.mode in ("RGBA", "LA") or (picture.mode == "P" and "transparency" in picture.info)
    # A fresh image carries pixels only: no EXIF, no comments, no embedded thumbnails.
    clean = Image.new("RGBA" if has_alpha else "RGB", picture.size)
    clean.paste(picture.convert(clean.mode))
    buffer = BytesIO()
    if has_alpha:
        clean.save(buffer, format="PNG", optimize=True)
        return CleanImage(buffer.getvalue(), "png", *clean.size)
    clean.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanImage(buffer.getvalue(), "jpg", *clean.size)
