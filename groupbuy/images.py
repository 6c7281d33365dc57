"""Uploaded pictures made safe to share: turned upright, shrunk, re-encoded without metadata.

A phone photo carries EXIF (camera, time, often the GPS position of someone's home). Re-encoding
the pixels into a fresh image drops all of it. Any app may use this; it depends on nothing but Pillow.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from groupbuy.errors import DomainError

JPEG_QUALITY = 85


class ImageRejected(DomainError):
    pass


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    extension: str  # "jpg", or "png" for a picture with transparency
    width: int
    height: int


def clean_image(upload, *, max_side: int, max_bytes: int) -> CleanImage:
    """Read ``upload`` (a file-like object), refuse what is not a readable picture or is over
    ``max_bytes``, and return it upright, with its long edge at most ``max_side`` and no EXIF."""
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise ImageRejected(
            _("The picture is too large (at most %(mb)s MB).") % {"mb": max_bytes // (1024 * 1024)}, code="too_large"
        )
    try:
        with Image.open(upload) as original:
            original.load()
            picture = ImageOps.exif_transpose(original)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError):
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
