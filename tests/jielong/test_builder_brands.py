"""A campaign belongs to one brand: its communities, its live session and its items' catalogue."""

import pytest
from django.utils import translation

from catalogue.models import SKU, Product, Supplier
from community.models import Brand
from jielong import builder
from jielong.models import Campaign
from livestream.models import LiveSeries
from tests import factories as f
from tests.jielong.test_builder import valid_input

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def world():
    return {
        "community": f.community(name="阳光花园邻里群"),
        "operator": f.operator(),
        "greens": f.sku(name="上海青", stock=80),
        "eggs": f.sku(name="土鸡蛋", stock=30),
    }


@pytest.fixture
def other_brand():
    return Brand.objects.create(name="别家果园")


def _refused(world, **changes) -> dict:
    with pytest.raises(builder.CampaignInvalid) as refused:
        builder.campaign_create(data=valid_input(world, **changes), by=world["operator"])
    assert not Campaign.objects.exists()
    return refused.value.errors


def test_an_item_from_another_brands_catalogue_is_refused(world, other_brand):
    supplier = Supplier.objects.create(brand=other_brand, name="别家农场")
    product = Product.objects.create(supplier=supplier, name="苹果")
    apple = SKU.objects.create(product=product, code="APPLE", spec={"规格": "5斤"}, list_price_fen=3000, stock=9)
    item = builder.ItemInput(sku_id=apple.pk, price_fen=2990, perk_price_fen=None, per_member_limit=5, tiers=())

    errors = _refused(world, items=(item,))

    assert errors["items"] == ["苹果 5斤 is in another brand's catalogue."]


def test_communities_of_two_brands_are_refused(world, other_brand):
    theirs = f.community(name="别家社群", brand=other_brand)

    errors = _refused(world, community_ids=(world["community"].pk, theirs.pk))

    assert errors["communities"] == ["Choose communities of one brand only: the campaign's brand."]


def test_a_live_session_of_another_brand_is_refused(world, other_brand):
    session = f.live_session()
    LiveSeries.objects.filter(pk=session.series_id).update(brand=other_brand)

    errors = _refused(world, live_session_id=session.pk)

    assert errors["live_session"] == ["That live session belongs to another brand."]
