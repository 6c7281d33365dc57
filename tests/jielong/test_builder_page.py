"""The builder page: tier rows as fields, item photos from the product, a product created from inside it."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from catalogue.models import SKU, Product, Supplier
from jielong.models import Campaign, CampaignItem, PriceTier
from tests import factories as f

pytestmark = pytest.mark.django_db

QUICK = "/ops/catalogue/products/quick/"


def _png() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (64, 48), "orange").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def world(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    community = f.community(name="阳光花园邻里群")
    greens = f.sku(name="上海青", stock=500)
    operator = f.operator(nickname="运营小林")
    client.force_login(operator)
    client.cookies["django_language"] = "en"
    return {"client": client, "community": community, "greens": greens, "operator": operator}


def _form(world, **changes):
    closes = timezone.localtime(timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    data = {
        "title": "有机土鸡蛋接龙",
        "communities": [world["community"].pk],
        "closes_at": closes,
        "koc_early_minutes": "0",
        "group_threshold": "20",
        "perk_limit": "0",
        "payment_method": "pay_at_pickup",
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "30",
        "items-0-sku": str(world["greens"].pk),
        "items-0-price": "15.90",
        "items-0-per_member_limit": "5",
    }
    data.update(changes)
    return data


def test_tiers_are_posted_as_rows_of_fields(world):
    data = _form(world)
    data["items-0-tier_joins"] = ["50", "", "100"]
    data["items-0-tier_price"] = ["14.90", "", "13.90"]  # the empty middle row is no tier

    response = world["client"].post(reverse("jielong:ops-campaign-new"), data)

    assert response.status_code == 302
    assert list(PriceTier.objects.order_by("min_joins").values_list("min_joins", "price_fen")) == [
        (50, 1490),
        (100, 1390),
    ]


def test_the_old_text_format_still_parses(world):
    response = world["client"].post(reverse("jielong:ops-campaign-new"), _form(world, **{"items-0-tiers": "50=14.9"}))

    assert response.status_code == 302
    assert list(PriceTier.objects.values_list("min_joins", "price_fen")) == [(50, 1490)]


@pytest.mark.parametrize(
    ("joins", "price"), [("50", ""), ("", "12.90"), ("0", "12.90"), ("50", "12.999"), ("x", "1")], ids=str
)
def test_a_half_filled_tier_row_is_refused_and_nothing_is_saved(world, joins, price):
    data = _form(world)
    data["items-0-tier_joins"], data["items-0-tier_price"] = [joins], [price]

    response = world["client"].post(reverse("jielong:ops-campaign-new"), data)

    assert response.status_code == 200
    assert "Each price tier needs the join it starts from (1 or more) and a price in yuan" in response.content.decode()
    assert (Campaign.objects.count(), CampaignItem.objects.count(), PriceTier.objects.count()) == (0, 0, 0)


def test_the_edit_page_shows_tier_rows_not_the_typed_text(world):
    world["client"].post(
        reverse("jielong:ops-campaign-new"),
        _form(world, **{"items-0-tier_joins": ["50", "100"], "items-0-tier_price": ["14.90", "13.90"]}),
    )
    campaign = Campaign.objects.get()

    html = world["client"].get(reverse("jielong:ops-campaign-edit", args=[campaign.pk])).content.decode()

    assert 'name="items-0-tier_joins" value="50"' in html
    assert 'name="items-0-tier_price" value="14.90"' in html
    assert 'name="items-0-tier_joins" value="100"' in html
    assert "50=14.90" not in html
    assert 'name="items-1-tier_joins" value=""' in html  # an empty row to add one without script
    assert 'id="jl-perk-editor"' in html


def test_item_rows_show_the_products_cover(world):
    product = world["greens"].product
    product.image.save("greens.png", ContentFile(_png()), save=True)
    campaign = f.campaign(communities=[world["community"]])
    CampaignItem.objects.filter(campaign=campaign).update(sku=world["greens"])

    html = world["client"].get(reverse("jielong:ops-campaign-edit", args=[campaign.pk])).content.decode()

    assert f'<img class="jl-sku-photo" data-sku-photo src="{product.image.url}"' in html
    assert f'"{world["greens"].pk}": "{product.image.url}"' in html  # the map the script uses for new choices


# --- product created from inside the builder ---------------------------------------------------


def _supplier():
    return Supplier.objects.get(name="老李有机农场")


def test_quick_create_makes_a_product_with_one_sku_and_its_photo(world):
    response = world["client"].post(
        QUICK,
        {
            "supplier": _supplier().pk,
            "name": "散养土鸡蛋",
            "spec": "30枚",
            "price": "39.90",
            "stock": "200",
            "photo": SimpleUploadedFile("eggs.png", _png(), content_type="image/png"),
        },
    )

    assert response.status_code == 201
    sku = SKU.objects.get(product__name="散养土鸡蛋")
    assert (sku.list_price_fen, sku.stock, sku.spec_label) == (3990, 200, "30枚")
    body = response.json()["sku"]
    assert body["id"] == sku.pk
    assert body["label"] == f"散养土鸡蛋 30枚 ({sku.code}) — stock: 200"
    assert body["photo"] == sku.product.image.url and body["photo"]
    # the builder offers it at once
    html = world["client"].get(reverse("jielong:ops-campaign-new")).content.decode()
    assert f'<option value="{sku.pk}">' in html


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Enter the product&#x27;s name."),
        ({"spec": " "}, "spec", "Enter the spec, e.g. 500g/袋."),
        ({"price": "abc"}, "price", "Enter a price in yuan, e.g. 12.90."),
        ({"price": "0"}, "price", "Enter a price in yuan, e.g. 12.90."),
        ({"stock": "-1"}, "stock", "The stock must be zero or more."),
        ({"supplier": "999999"}, "supplier", "Choose the supplier."),
        ({"code": "bad code!"}, "code", "The SKU code may use letters"),
    ],
    ids=["name", "spec", "price", "zero-price", "stock", "supplier", "code"],
)
def test_quick_create_refusals_name_the_field_and_leave_nothing(world, changes, field, message):
    products = Product.objects.count()
    data = {"supplier": _supplier().pk, "name": "散养土鸡蛋", "spec": "30枚", "price": "39.90", "stock": "5"}
    data.update(changes)

    response = world["client"].post(QUICK, data)

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert message.replace("&#x27;", "'") in response.json()["error"]
    assert Product.objects.count() == products


def test_quick_create_refusal_in_chinese(world):
    world["client"].cookies["django_language"] = "zh-hans"

    response = world["client"].post(QUICK, {"supplier": _supplier().pk, "name": "蛋", "spec": "30枚", "price": "x"})

    assert response.status_code == 400
    assert response.json()["error"] == "请输入以元为单位的价格，例如 12.90。"


def test_quick_create_is_for_operators_only(world, client):
    member = f.member()
    client.force_login(member)
    products = Product.objects.count()

    response = client.post(QUICK, {"supplier": _supplier().pk, "name": "蛋", "spec": "30枚", "price": "1"})

    assert response.status_code in (302, 403)
    assert Product.objects.count() == products


def test_quick_create_needs_the_csrf_token(world):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world["operator"])

    response = strict.post(QUICK, {"supplier": _supplier().pk, "name": "蛋", "spec": "30枚", "price": "1"})

    assert response.status_code == 403
    assert not Product.objects.filter(name="蛋").exists()
