"""QR codes for labels, as inline SVG (sharp at any print size, no image files)."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from django.utils.safestring import SafeString, mark_safe


def qr_svg(payload: str, *, quiet_zone: int = 2) -> SafeString:
    """An SVG QR code of ``payload``; sized by CSS (the ``svg`` fills its box). ``quiet_zone``: the white
    margin in modules — 2 on printed labels, where room is short; the standard's 4 on screens, where the
    picture a camera or a photo takes may cut close to the code (a decoder finds it less surely at 2)."""
    image = qrcode.make(
        payload,
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=10,
        border=quiet_zone,
    )
    # Generated markup of digits and path data only: safe to inline.
    return mark_safe(image.to_string(encoding="unicode"))
