"""Share posters (海报): cover, title, a few lines, and a QR code carrying the member's referral link.

Used by warm-up rounds (livestream) and jielong share posters alike. Rendering needs a CJK font
(``POSTER_FONT_PATH``; Debian: fonts-noto-cjk); without one, Chinese would come out as empty boxes,
so we refuse with a clear message instead. Posters are cached by their content.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from io import BytesIO
from pathlib import Path

import qrcode
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from PIL import Image, ImageDraw, ImageFont, ImageOps

WIDTH, HEIGHT = 750, 1200
MARGIN = 48
BRAND_GREEN = (46, 125, 50)
INK = (33, 33, 33)
MUTED = (97, 97, 97)


class PosterFontMissing(ImproperlyConfigured):
    pass


@dataclass(frozen=True)
class Poster:
    title: str
    qr_url: str
    subtitle: str = ""
    lines: tuple[str, ...] = field(default_factory=tuple)
    footer: str = ""
    cover_path: str = ""
    # Drawn large on the green band when there is no cover picture, so the top is never a blank block.
    headline: str = ""
    # What stands for the lines that do not fit, e.g. "等 %(count)s 件" ("%(count)s" is replaced).
    more_format: str = ""

    def cache_key(self) -> str:
        payload = json.dumps(asdict(self), ensure_ascii=False, sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()[:32]


def _font(size: int) -> ImageFont.FreeTypeFont:
    path = settings.POSTER_FONT_PATH
    if not Path(path).is_file():
        raise PosterFontMissing(
            f"No CJK font at POSTER_FONT_PATH={path!r}. Install one (Debian: apt-get install fonts-noto-cjk) "
            "or point POSTER_FONT_PATH at a .ttc/.otf/.ttf font with Chinese glyphs."
        )
    # Index 2 of the Noto CJK collections is Simplified Chinese; plain font files have only index 0.
    index = 2 if path.endswith(".ttc") else 0
    return ImageFont.truetype(path, size, index=index)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    """Wrap by character: Chinese has no spaces to break at."""
    lines, current = [], ""
    for char in text:
        if char == "\n" or draw.textlength(current + char, font=font) > width:
            lines.append(current)
            current = "" if char == "\n" else char
        else:
            current += char
    if current:
        lines.append(current)
    return lines


LINE_HEIGHT = 42


def _draw_headline(draw: ImageDraw.ImageDraw, poster: Poster, band_height: int) -> None:
    """Without a cover: the headline in white on the green band, centred; its first line large, any
    further lines (e.g. the progress) smaller."""
    if not poster.headline:
        return
    big, small = _font(72), _font(36)
    first, *rest = poster.headline.split("\n")
    rows = [(row, big, 92) for row in _wrap(draw, first, big, WIDTH - 2 * MARGIN)[:2]]
    for text in rest:
        rows += [(row, small, 52) for row in _wrap(draw, text, small, WIDTH - 2 * MARGIN)[:2]]
    y = (band_height - sum(height for _, _, height in rows)) // 2
    for row, font, height in rows:
        width = draw.textlength(row, font=font)
        draw.text(((WIDTH - width) / 2, y), row, font=font, fill=(255, 255, 255))
        y += height


def _fit_lines(draw: ImageDraw.ImageDraw, poster: Poster, font, *, top: int) -> list[str]:
    """Every line that fits above the QR code (each wrapped to at most two rows); past that, the
    last row says how many are left out (``more_format``) instead of dropping them silently."""
    room = max((HEIGHT - MARGIN - 200 - 16 - top) // LINE_HEIGHT, 0)
    wrapped = [_wrap(draw, text, font, WIDTH - 2 * MARGIN)[:2] for text in poster.lines]
    rows: list[str] = []
    for index, parts in enumerate(wrapped):
        rest = len(wrapped) - index - 1
        needs_more_row = rest > 0 and bool(poster.more_format)
        if len(rows) + len(parts) + int(needs_more_row) > room:
            if poster.more_format and room:
                rows = rows[: room - 1] if len(rows) >= room else rows
                rows.append(poster.more_format.replace("%(count)s", str(len(wrapped) - index)))
            return rows
        rows.extend(parts)
    return rows


def render(poster: Poster) -> bytes:
    """The poster as PNG bytes."""
    title_font, body_font, small_font = _font(52), _font(30), _font(24)
    image = Image.new("RGB", (WIDTH, HEIGHT), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    y = 0
    cover_height = 460
    if poster.cover_path and Path(poster.cover_path).is_file():
        with Image.open(poster.cover_path) as cover:
            image.paste(ImageOps.fit(cover.convert("RGB"), (WIDTH, cover_height)), (0, 0))
    else:
        draw.rectangle((0, 0, WIDTH, cover_height), fill=BRAND_GREEN)
        _draw_headline(draw, poster, cover_height)
    y = cover_height + MARGIN
    for line in _wrap(draw, poster.title, title_font, WIDTH - 2 * MARGIN)[:3]:
        draw.text((MARGIN, y), line, font=title_font, fill=INK)
        y += 66
    if poster.subtitle:
        y += 8
        draw.text((MARGIN, y), poster.subtitle, font=body_font, fill=BRAND_GREEN)
        y += 48
    for line in _fit_lines(draw, poster, body_font, top=y):
        draw.text((MARGIN, y), line, font=body_font, fill=MUTED)
        y += LINE_HEIGHT
    qr = qrcode.make(poster.qr_url, border=1).get_image().convert("RGB").resize((200, 200))
    image.paste(qr, (WIDTH - MARGIN - 200, HEIGHT - MARGIN - 200))
    if poster.footer:
        for i, line in enumerate(_wrap(draw, poster.footer, small_font, WIDTH - 3 * MARGIN - 200)[:4]):
            draw.text((MARGIN, HEIGHT - MARGIN - 200 + i * 34), line, font=small_font, fill=MUTED)
    out = BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_cached(poster: Poster) -> Path:
    """Render once per distinct content; later calls return the stored file."""
    path = Path(settings.MEDIA_ROOT) / "posters" / f"{poster.cache_key()}.png"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(render(poster))
        tmp.replace(path)  # atomic: a concurrent reader never sees half a file
    return path
