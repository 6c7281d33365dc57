from io import BytesIO

import pytest
from PIL import Image, ImageChops

from groupbuy import posters


def _ink(image: Image.Image, box: tuple[int, int, int, int], background=(250, 248, 240)) -> int:
    """How many pixels in ``box`` differ from the background."""
    region = image.crop(box).convert("RGB")
    red, green, blue = ImageChops.difference(region, Image.new("RGB", region.size, background)).split()
    differs = ImageChops.lighter(ImageChops.lighter(red, green), blue)  # 0 where all three channels match
    return region.width * region.height - differs.histogram()[0]


def test_poster_draws_chinese_title_and_qr(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    poster = posters.Poster(title="农场主来了：老李带你云逛有机大棚", qr_url="http://127.0.0.1:8000/m/?ref=ABC123")

    image = Image.open(BytesIO(posters.render(poster)))

    assert image.size == (posters.WIDTH, posters.HEIGHT)
    title_band = (posters.MARGIN, 460 + posters.MARGIN, posters.WIDTH - posters.MARGIN, 460 + posters.MARGIN + 60)
    assert _ink(image, title_band) > 2000  # glyphs, not an empty band (missing glyphs draw nothing or boxes)
    right, bottom = posters.WIDTH - posters.MARGIN, posters.HEIGHT - posters.MARGIN
    qr_box = (right - 200, bottom - 200, right, bottom)
    dark = sum(image.crop(qr_box).convert("L").histogram()[:60])  # pixels darker than 60
    assert 0.2 < dark / (200 * 200) < 0.8


def test_different_chinese_titles_draw_different_glyphs():
    # A font without Chinese glyphs draws the same empty box for every character.
    band = (posters.MARGIN, 460 + posters.MARGIN, posters.WIDTH - posters.MARGIN, 460 + posters.MARGIN + 60)
    a = Image.open(BytesIO(posters.render(posters.Poster(title="农场主来了", qr_url="http://x/")))).crop(band)
    b = Image.open(BytesIO(posters.render(posters.Poster(title="社群接龙团", qr_url="http://x/")))).crop(band)
    assert a.tobytes() != b.tobytes()


def test_same_content_is_rendered_once(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    poster = posters.Poster(title="接龙", qr_url="http://x/")
    first = posters.render_cached(poster)
    mtime = first.stat().st_mtime_ns
    second = posters.render_cached(poster)
    other = posters.render_cached(posters.Poster(title="接龙", qr_url="http://x/?ref=2"))
    assert first == second and second.stat().st_mtime_ns == mtime
    assert other != first


def test_missing_font_gives_a_clear_error(settings):
    settings.POSTER_FONT_PATH = "/nonexistent/font.ttc"
    with pytest.raises(posters.PosterFontMissing, match="fonts-noto-cjk"):
        posters.render(posters.Poster(title="接龙", qr_url="http://x/"))
