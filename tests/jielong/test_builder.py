"""Campaign builder services: create, update (with the change log on live campaigns), copy, open, pictures."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from PIL import Image

from catalogue.models import SKU
from jielong import builder, services
from jielong.builder import CampaignInput, ItemInput, TierInput
from jielong.models import Campaign, CampaignChange, CampaignImage, CampaignItem, PriceTier
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    # Messages are asserted in their English source; the Chinese catalogue may translate them.
    with translation.override("en"):
        yield


@pytest.fixture
def world():
    community = f.community(name="阳光花园邻里群")
    return {
        "community": community,
        "other": f.community(name="湖畔社群"),
        "operator": f.operator(nickname="运营小林"),
        "greens": f.sku(name="上海青", stock=80),
        "eggs": f.sku(name="土鸡蛋", stock=30),
    }


def valid_input(world, **changes) -> CampaignInput:
    now = timezone.now()
    values = {
        "title": "有机上海青接龙",
        "story": "<p>老李的<strong>有机</strong>上海青</p>",
        "closes_at": now + timedelta(days=1),
        "opens_at": None,
        "community_ids": (world["community"].pk,),
        "items": (
            ItemInput(
                sku_id=world["greens"].pk,
                price_fen=1590,
                perk_price_fen=1272,
                per_member_limit=5,
                tiers=(TierInput(min_joins=50, price_fen=1490), TierInput(min_joins=100, price_fen=1390)),
            ),
        ),
        "perk_limit": 50,
        "perk_description": "签名小册子",
        "group_threshold": 30,
        "max_orders": 300,
        "min_spend_fen": 2000,
        "koc_early_minutes": 10,
        "delivery_note": "次日自提",
        "replay_url": "https://example.com/replay/1",
        "payment_method": "manual",
    }
    values.update(changes)
    return CampaignInput(**values)


def counts() -> tuple[int, int, int, int]:
    return (
        Campaign.objects.count(),
        CampaignItem.objects.count(),
        PriceTier.objects.count(),
        CampaignChange.objects.count(),
    )


def test_create_saves_the_whole_campaign_as_a_draft(world):
    campaign = builder.campaign_create(data=valid_input(world), by=world["operator"])

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.brand == world["community"].brand
    assert (campaign.title, campaign.perk_limit, campaign.group_threshold, campaign.max_orders) == (
        "有机上海青接龙",
        50,
        30,
        300,
    )
    assert (campaign.min_spend_fen, campaign.koc_early_minutes, campaign.payment_method) == (2000, 10, "manual")
    assert campaign.replay_url == "https://example.com/replay/1"
    assert list(campaign.communities.all()) == [world["community"]]
    item = campaign.items.get()
    assert (item.sku_id, item.price_fen, item.perk_price_fen, item.per_member_limit) == (
        world["greens"].pk,
        1590,
        1272,
        5,
    )
    assert [(t.min_joins, t.price_fen) for t in item.price_tiers.all()] == [(50, 1490), (100, 1390)]
    assert (campaign.joined_count, campaign.perk_taken, campaign.version) == (0, 0, 0)
    assert CampaignChange.objects.count() == 0  # drafts are not logged


def test_create_sanitises_the_story(world):
    story = '<p onclick="steal()">好菜</p><script>alert(1)</script><a href="javascript:x()">链接</a><em>新鲜</em>'

    campaign = builder.campaign_create(data=valid_input(world, story=story), by=world["operator"])

    assert campaign.story == '<p>好菜</p><a rel="noopener noreferrer nofollow">链接</a><em>新鲜</em>'


INVALID = [
    ("closes-before-opens", {"opens_at": "later"}, "closes_at", "The closing time must be after the opening time."),
    ("closes-in-past", {"closes_at": "past"}, "closes_at", "The closing time must be in the future."),
    ("no-community", {"community_ids": ()}, "communities", "Choose at least one target community."),
    ("no-items", {"items": ()}, "items", "Add at least one item."),
    ("zero-price", {"items": "zero"}, "items", "the community price must be more than 0."),
    (
        "perk-above-price",
        {"items": "perk_high"},
        "items",
        "the first-N price cannot be higher than the community price.",
    ),
    ("tiers-rising", {"items": "tiers_up"}, "items", "tier prices must fall as the number of joins rises"),
    ("tier-above-price", {"items": "tier_high"}, "items", "tier prices must fall as the number of joins rises"),
    ("duplicate-sku", {"items": "dup"}, "items", "Each SKU can be offered only once per campaign."),
    ("max-below-threshold", {"max_orders": 10}, "max_orders", "The maximum cannot be lower than the group threshold."),
    ("bad-payment", {"payment_method": "bitcoin"}, "payment_method", "Choose a payment method."),
    ("empty-title", {"title": "   "}, "title", "Give the campaign a title."),
]


def _resolve(world, changes):
    now = timezone.now()
    greens = world["greens"].pk
    resolved = dict(changes)
    if resolved.get("opens_at") == "later":
        resolved["opens_at"] = now + timedelta(days=2)
    if resolved.get("closes_at") == "past":
        resolved["closes_at"] = now - timedelta(minutes=1)
    items = {
        "zero": (ItemInput(sku_id=greens, price_fen=0),),
        "perk_high": (ItemInput(sku_id=greens, price_fen=1590, perk_price_fen=1600),),
        "tiers_up": (ItemInput(sku_id=greens, price_fen=1590, tiers=(TierInput(50, 1390), TierInput(100, 1490))),),
        "tier_high": (ItemInput(sku_id=greens, price_fen=1590, tiers=(TierInput(50, 1590),)),),
        "dup": (ItemInput(sku_id=greens, price_fen=1590), ItemInput(sku_id=greens, price_fen=1490)),
    }
    if isinstance(resolved.get("items"), str):
        resolved["items"] = items[resolved["items"]]
    return resolved


@pytest.mark.parametrize(("changes", "field", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_create_refuses_bad_input_and_saves_nothing(world, changes, field, message):
    before = counts()

    with pytest.raises(builder.CampaignInvalid) as refused:
        builder.campaign_create(data=valid_input(world, **_resolve(world, changes)), by=world["operator"])

    assert any(message in text for text in refused.value.errors[field])
    assert counts() == before


def test_update_of_a_draft_replaces_items_and_tiers_without_logging(world):
    campaign = builder.campaign_create(data=valid_input(world), by=world["operator"])
    data = valid_input(
        world,
        title="上海青 + 土鸡蛋",
        items=(ItemInput(sku_id=world["eggs"].pk, price_fen=2990, perk_price_fen=None, per_member_limit=2),),
    )

    builder.campaign_update(campaign_id=campaign.pk, data=data, by=world["operator"])

    campaign.refresh_from_db()
    assert campaign.title == "上海青 + 土鸡蛋"
    assert [(i.sku_id, i.price_fen, i.perk_price_fen) for i in campaign.items.all()] == [(world["eggs"].pk, 2990, None)]
    assert PriceTier.objects.filter(item__campaign=campaign).count() == 0
    assert CampaignChange.objects.count() == 0


def test_update_of_an_open_campaign_is_logged_field_by_field(world):
    campaign = builder.campaign_create(data=valid_input(world), by=world["operator"])
    services.campaign_open(campaign=campaign)
    campaign.refresh_from_db()
    version = campaign.version
    new_close = timezone.localtime(campaign.closes_at + timedelta(hours=2))
    data = valid_input(
        world,
        opens_at=campaign.opens_at,
        closes_at=new_close,
        perk_limit=40,
        community_ids=(world["community"].pk, world["other"].pk),
        items=(
            ItemInput(
                sku_id=world["greens"].pk,
                price_fen=1490,
                perk_price_fen=1272,
                per_member_limit=5,
                tiers=(TierInput(min_joins=50, price_fen=1390),),
            ),
        ),
    )

    builder.campaign_update(campaign_id=campaign.pk, data=data, by=world["operator"])

    changes = {c.field: (c.old_value, c.new_value) for c in CampaignChange.objects.filter(campaign=campaign)}
    old_close = timezone.localtime(campaign.closes_at).strftime("%Y-%m-%d %H:%M")
    sku = str(world["greens"])
    assert changes == {
        "closes_at": (old_close, new_close.strftime("%Y-%m-%d %H:%M")),
        "perk_limit": ("50", "40"),
        "communities": ("阳光花园邻里群", "湖畔社群、阳光花园邻里群"),
        f"items|{sku}|price_fen": ("¥15.90", "¥14.90"),
        f"items|{sku}|price_tiers": ("≥50: ¥14.90; ≥100: ¥13.90", "≥50: ¥13.90"),
    }
    entry = CampaignChange.objects.get(campaign=campaign, field="perk_limit")
    assert entry.changed_by == world["operator"]
    assert entry.field_label == "first-N perk places"
    campaign.refresh_from_db()
    assert campaign.version == version + 1
    assert (campaign.status, campaign.joined_count) == (Campaign.Status.OPEN, 0)


def test_lowering_the_threshold_to_the_joins_in_forms_the_group(world):
    campaign = f.campaign(communities=[world["community"]], status=Campaign.Status.OPEN, group_threshold=3)
    item = campaign.items.get()
    for _ in range(2):
        user = f.member()
        f.membership(user=user, community=world["community"])
        services.order_join(campaign_id=campaign.pk, user=user, quantities={item.pk: 1})
    data = valid_input(
        world,
        group_threshold=2,
        perk_limit=0,
        max_orders=None,
        closes_at=campaign.closes_at,
        items=(ItemInput(sku_id=item.sku_id, price_fen=1590, perk_price_fen=1272, per_member_limit=10),),
    )

    builder.campaign_update(campaign_id=campaign.pk, data=data, by=world["operator"])

    campaign.refresh_from_db()
    assert (campaign.status, campaign.joined_count) == (Campaign.Status.FORMED, 2)
    assert campaign.formed_at is not None


def test_update_of_a_live_campaign_refuses_limits_below_what_is_taken(world):
    campaign = f.campaign(communities=[world["community"]], status=Campaign.Status.OPEN, perk_limit=5)
    item = campaign.items.get()
    for _ in range(2):
        user = f.member()
        f.membership(user=user, community=world["community"])
        services.order_join(campaign_id=campaign.pk, user=user, quantities={item.pk: 1})
    before = counts()
    data = valid_input(
        world,
        perk_limit=1,
        group_threshold=1,
        max_orders=None,
        closes_at=campaign.closes_at,
        items=(ItemInput(sku_id=world["eggs"].pk, price_fen=990),),  # would remove an item with orders
    )

    with pytest.raises(builder.CampaignInvalid) as refused:
        builder.campaign_update(campaign_id=campaign.pk, data=data, by=world["operator"])

    assert refused.value.errors["perk_limit"] == ["2 perk places are already taken; the limit cannot go below that."]
    assert len(refused.value.errors["items"]) == 1
    assert counts() == before
    campaign.refresh_from_db()
    assert (campaign.perk_limit, campaign.title) == (5, "有机上海青接龙")
    assert list(campaign.items.values_list("sku_id", flat=True)) == [item.sku_id]


def test_closed_campaigns_cannot_be_changed(world):
    campaign = f.campaign(communities=[world["community"]], status=Campaign.Status.COMPLETED)
    before = counts()

    with pytest.raises(builder.CampaignInvalid):
        builder.campaign_update(campaign_id=campaign.pk, data=valid_input(world), by=world["operator"])

    assert counts() == before


def test_copy_makes_a_fresh_draft_with_the_same_offer(world):
    source = builder.campaign_create(data=valid_input(world), by=world["operator"])
    services.campaign_open(campaign=source)
    user = f.member()
    f.membership(user=user, community=world["community"])
    item = source.items.get()
    services.order_join(campaign_id=source.pk, user=user, quantities={item.pk: 2})

    copy = builder.campaign_copy(campaign_id=source.pk, by=world["operator"])

    copy.refresh_from_db()
    assert copy.pk != source.pk
    assert copy.status == Campaign.Status.DRAFT
    assert (copy.joined_count, copy.perk_taken, copy.next_seq, copy.version) == (0, 0, 1, 0)
    assert copy.opens_at is None and copy.formed_at is None and copy.live_session_id is None
    assert "有机上海青接龙" in copy.title
    assert copy.closes_at == source.closes_at
    assert list(copy.communities.all()) == [world["community"]]
    copied = copy.items.get()
    assert (copied.sku_id, copied.price_fen, copied.perk_price_fen, copied.per_member_limit) == (
        world["greens"].pk,
        1590,
        1272,
        5,
    )
    assert [(t.min_joins, t.price_fen) for t in copied.price_tiers.all()] == [(50, 1490), (100, 1390)]
    assert copy.orders.count() == 0
    assert source.items.get().pk == item.pk  # the source is untouched


def test_copy_of_a_past_campaign_gets_a_future_deadline(world):
    source = f.campaign(
        communities=[world["community"]],
        status=Campaign.Status.COMPLETED,
        opens_at=timezone.now() - timedelta(days=3, hours=2),
        closes_at=timezone.now() - timedelta(days=3),
    )

    copy = builder.campaign_copy(campaign_id=source.pk, by=world["operator"])

    assert timezone.now() + timedelta(hours=1, minutes=59) < copy.closes_at <= timezone.now() + timedelta(hours=2)


def test_open_now_and_at_a_time(world):
    now_campaign = builder.campaign_create(data=valid_input(world), by=world["operator"])
    later_campaign = builder.campaign_create(data=valid_input(world), by=world["operator"])
    at = timezone.now() + timedelta(hours=3)

    services.campaign_open(campaign=now_campaign)
    services.campaign_open(campaign=later_campaign, opens_at=at)

    now_campaign.refresh_from_db()
    later_campaign.refresh_from_db()
    assert now_campaign.status == later_campaign.status == Campaign.Status.OPEN
    assert now_campaign.opens_at <= timezone.now()
    assert later_campaign.opens_at == at


def _jpeg_with_exif(size=(3000, 2000)) -> bytes:
    picture = Image.new("RGB", size, (200, 60, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "PhoneModel"  # Model
    exif[0x0112] = 1  # Orientation
    buffer = BytesIO()
    picture.save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def test_picture_is_resized_and_loses_its_exif(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    campaign = builder.campaign_create(data=valid_input(world), by=world["operator"])
    raw = _jpeg_with_exif()
    assert dict(Image.open(BytesIO(raw)).getexif())[0x010F] == "PhoneMaker"

    image = builder.campaign_image_add(
        campaign_id=campaign.pk, upload=SimpleUploadedFile("farm.jpg", raw, "image/jpeg"), by=world["operator"]
    )

    image.refresh_from_db()
    assert (image.width, image.height) == (1280, 853)
    with Image.open(image.image.path) as stored:
        assert stored.format == "JPEG"
        assert stored.size == (1280, 853)
        assert dict(stored.getexif()) == {}
        assert "exif" not in stored.info


def test_picture_on_a_live_campaign_is_logged(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    campaign = builder.campaign_create(data=valid_input(world), by=world["operator"])
    services.campaign_open(campaign=campaign)

    image = builder.campaign_image_add(
        campaign_id=campaign.pk,
        upload=SimpleUploadedFile("small.jpg", _jpeg_with_exif((640, 480)), "image/jpeg"),
        by=world["operator"],
    )
    builder.campaign_image_remove(image_id=image.pk, by=world["operator"])

    assert list(CampaignChange.objects.order_by("pk").values_list("field", "old_value", "new_value")) == [
        ("images", "", image.image.name),
        ("images", image.image.name, ""),
    ]
    assert CampaignImage.objects.count() == 0


def test_not_a_picture_is_refused(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    campaign = builder.campaign_create(data=valid_input(world), by=world["operator"])

    with pytest.raises(builder.CampaignInvalid):
        builder.campaign_image_add(
            campaign_id=campaign.pk, upload=SimpleUploadedFile("x.jpg", b"not an image", "image/jpeg"), by=None
        )

    assert CampaignImage.objects.count() == 0
    assert list(tmp_path.rglob("*.jpg")) == []


def test_stock_stays_on_the_sku(world):
    builder.campaign_create(data=valid_input(world), by=world["operator"])

    assert SKU.objects.get(pk=world["greens"].pk).stock == 80


def test_transparent_picture_stays_png(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    campaign = builder.campaign_create(data=valid_input(world), by=world["operator"])
    buffer = BytesIO()
    Image.new("RGBA", (200, 100), (0, 0, 0, 0)).save(buffer, format="PNG")

    image = builder.campaign_image_add(
        campaign_id=campaign.pk, upload=SimpleUploadedFile("logo.png", buffer.getvalue(), "image/png"), by=None
    )

    assert image.image.name.endswith(".png")
    with Image.open(image.image.path) as stored:
        assert (stored.format, stored.mode, stored.size) == ("PNG", "RGBA", (200, 100))


@pytest.mark.django_db
def test_an_oversized_picture_is_refused_before_it_is_read(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    campaign = builder.campaign_create(data=valid_input(world), by=world["operator"])
    upload = SimpleUploadedFile("huge.jpg", b"x" * 16, content_type="image/jpeg")
    upload.size = builder.MAX_UPLOAD_BYTES + 1

    with pytest.raises(builder.CampaignInvalid) as refused:
        builder.campaign_image_add(campaign_id=campaign.pk, upload=upload, by=world["operator"])

    assert "15" in str(refused.value.errors["image"][0])
    assert not campaign.images.exists()
