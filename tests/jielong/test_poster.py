"""The jielong share poster: a picture on top (cover, else an item's photo), every item listed."""

from io import BytesIO

import pytest
from django.core.files.base import ContentFile
from django.utils import translation
from PIL import Image, ImageDraw

from groupbuy import posters
from jielong import member_views
from jielong.models import CampaignImage, CampaignItem
from tests import factories as f

pytestmark = pytest.mark.django_db


def _png(colour="red", size=(60, 40)) -> ContentFile:
    buffer = BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue())


@pytest.fixture
def four_items(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    given = f.open_campaign(members=0, perk_limit=0, delivery_note="次日达")
    for name in ("土鸡蛋", "小米", "苹果"):
        CampaignItem.objects.create(campaign=given.campaign, sku=f.sku(name=name), price_fen=990, position=1)
    return given


def _poster(campaign):
    return member_views.poster_for(campaign, member_views._items(campaign), qr_url="http://x/")


@translation.override("zh-hans")
def test_every_item_is_listed(four_items):
    # Was items[:3]: the fourth item never reached the poster.
    poster = _poster(four_items.campaign)

    assert len(poster.lines) == 4
    assert [line.split(" ")[0] for line in poster.lines[1:]] == ["土鸡蛋", "小米", "苹果"]
    assert poster.more_format == "……等 %(count)s 件"
    assert "次日达" in poster.footer


def test_the_first_item_photo_stands_in_for_a_missing_cover(four_items):
    product = four_items.item.sku.product
    product.image.save("greens.png", _png(), save=True)

    assert _poster(four_items.campaign).cover_path == product.image.path


def test_the_campaign_cover_comes_first(four_items):
    four_items.item.sku.product.image.save("greens.png", _png(), save=True)
    cover = CampaignImage(campaign=four_items.campaign, position=0)
    cover.image.save("cover.png", _png("blue"), save=True)

    assert _poster(four_items.campaign).cover_path == cover.image.path


def test_without_any_picture_the_band_carries_a_headline_not_a_blank_block():
    plain = posters.Poster(title="接龙", qr_url="http://x/")
    headed = posters.Poster(title="接龙", qr_url="http://x/", headline="社区接龙\n已接龙 0 人，还差 3 人成团")

    band = (0, 0, posters.WIDTH, 460)
    blank = Image.open(BytesIO(posters.render(plain))).crop(band)
    drawn = Image.open(BytesIO(posters.render(headed))).crop(band)

    assert len(blank.getcolors()) == 1  # what it was: one flat green
    white = dict((colour, count) for count, colour in drawn.getcolors(maxcolors=1 << 16))[(255, 255, 255)]
    assert white > 3000


def test_lines_past_the_room_end_with_how_many_are_left_out():
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    font = posters._font(30)
    poster = posters.Poster(
        title="x", qr_url="http://x/", lines=tuple(f"商品{n} ¥9.90" for n in range(20)), more_format="等 %(count)s 件"
    )

    rows = posters._fit_lines(draw, poster, font, top=700)

    room = (posters.HEIGHT - posters.MARGIN - 200 - 16 - 700) // posters.LINE_HEIGHT
    assert len(rows) == room
    assert rows[-1] == f"等 {20 - (room - 1)} 件"
    assert rows[:-1] == [f"商品{n} ¥9.90" for n in range(room - 1)]


def test_lines_that_fit_are_all_drawn():
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    poster = posters.Poster(title="x", qr_url="http://x/", lines=("a", "b", "c", "d"), more_format="等 %(count)s 件")

    assert posters._fit_lines(draw, poster, posters._font(30), top=600) == ["a", "b", "c", "d"]
