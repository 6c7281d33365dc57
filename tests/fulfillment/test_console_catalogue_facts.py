"""Catalogue facts fulfilment plans with, typed in the catalogue console: an SKU's temperature zone (温区),
pack and weight; a supplier's lead time and cut-off for next-day delivery. Bad input changes nothing."""

from datetime import time

import pytest

from catalogue import services
from catalogue.models import SKU, Product, Supplier
from catalogue.services import CatalogueInvalid, SKUInput, SupplierInput
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return factories.operator()


@pytest.fixture
def ops(client, operator):
    client.force_login(operator)
    return client


def _product(storage=Product.StorageType.FROZEN) -> Product:
    supplier = Supplier.objects.create(brand=factories.brand(), name="老李有机农场")
    return Product.objects.create(supplier=supplier, name="散养土鸡", storage=storage)


def _sku_post(**changes) -> dict:
    return {
        "code": "CHICKEN-1",
        "unit": "只",
        "price": "89.00",
        "stock": "20",
        "is_active": "on",
        "spec_name_0": "规格",
        "spec_value_0": "1只装",
        "zone": "frozen",
        "pack_unit": "箱",
        "units_per_pack": "6",
        "weight_g": "1500",
        **changes,
    }


# --- services ----------------------------------------------------------------------------------------------------


def test_a_new_sku_takes_its_products_storage_as_its_zone_unless_told(operator):
    product = _product(storage=Product.StorageType.FROZEN)
    plain = services.sku_save(
        by=operator, product=product, data=SKUInput(code="A-1", spec={"规格": "1只"}, list_price_fen=100)
    )
    eggs = services.sku_save(
        by=operator,
        product=product,
        data=SKUInput(
            code="A-2",
            spec={"规格": "30枚"},
            list_price_fen=100,
            zone="ambient",
            pack_unit="筐",
            units_per_pack=12,
            weight_g=1800,
        ),
    )
    assert (plain.zone, plain.pack_unit, plain.units_per_pack, plain.weight_g) == ("frozen", "", 1, None)
    assert (eggs.zone, eggs.pack_unit, eggs.units_per_pack, eggs.weight_g) == ("ambient", "筐", 12, 1800)


def test_editing_an_sku_without_a_zone_keeps_its_zone_and_pack(operator):
    product = _product()
    sku = services.sku_save(
        by=operator,
        product=product,
        data=SKUInput(code="A-1", spec={"规格": "1只"}, list_price_fen=100, zone="chilled", units_per_pack=4),
    )
    services.sku_save(
        by=operator, product=product, sku=sku, data=SKUInput(code="A-1", spec={"规格": "1只"}, list_price_fen=120)
    )
    sku.refresh_from_db()
    assert (sku.zone, sku.units_per_pack, sku.list_price_fen) == ("chilled", 4, 120)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"zone": "tropical"}, "zone"),
        ({"units_per_pack": 0}, "units_per_pack"),
        ({"units_per_pack": 5000}, "units_per_pack"),
        ({"weight_g": 0}, "weight_g"),
        ({"weight_g": -5}, "weight_g"),
        ({"pack_unit": "一个很长很长的包装单位"}, "pack_unit"),
    ],
    ids=["unknown-zone", "no-units-per-pack", "pallet-as-pack", "weightless", "negative-weight", "long-pack"],
)
def test_bad_sku_facts_are_refused_and_change_nothing(operator, changes, field):
    product = _product()
    sku = services.sku_save(
        by=operator, product=product, data=SKUInput(code="A-1", spec={"规格": "1只"}, list_price_fen=100, zone="frozen")
    )
    with pytest.raises(CatalogueInvalid) as refused:
        services.sku_save(
            by=operator,
            product=product,
            sku=sku,
            data=SKUInput(code="A-1", spec={"规格": "1只"}, list_price_fen=999, **changes),
        )
    assert refused.value.field == field
    sku.refresh_from_db()
    assert (sku.zone, sku.units_per_pack, sku.weight_g, sku.list_price_fen) == ("frozen", 1, None, 100)
    with pytest.raises(CatalogueInvalid):
        services.sku_save(
            by=operator,
            product=product,
            data=SKUInput(code="A-9", spec={"规格": "1只"}, list_price_fen=100, **changes),
        )
    assert SKU.objects.count() == 1


def test_a_supplier_keeps_its_lead_time_and_cut_off(operator):
    brand = factories.brand()
    farm = services.supplier_save(by=operator, brand=brand, data=SupplierInput(name="农场"))
    assert (farm.lead_time_days, farm.cutoff_time) == (1, time(22, 0))
    services.supplier_save(
        by=operator,
        brand=brand,
        supplier=farm,
        data=SupplierInput(name="农场", lead_time_days=2, cutoff_time=time(18, 30, 15)),
    )
    farm.refresh_from_db()
    assert (farm.lead_time_days, farm.cutoff_time) == (2, time(18, 30))
    services.supplier_save(by=operator, brand=brand, supplier=farm, data=SupplierInput(name="农场", region="云南"))
    farm.refresh_from_db()
    assert (farm.lead_time_days, farm.cutoff_time, farm.region) == (2, time(18, 30), "云南")


@pytest.mark.parametrize("days", [0, 31, -1], ids=["zero", "a-month", "negative"])
def test_a_lead_time_out_of_range_is_refused(operator, days):
    brand = factories.brand()
    farm = services.supplier_save(by=operator, brand=brand, data=SupplierInput(name="农场"))
    with pytest.raises(CatalogueInvalid) as refused:
        services.supplier_save(
            by=operator, brand=brand, supplier=farm, data=SupplierInput(name="新名字", lead_time_days=days)
        )
    assert refused.value.field == "lead_time_days"
    farm.refresh_from_db()
    assert (farm.name, farm.lead_time_days) == ("农场", 1)


# --- pages -------------------------------------------------------------------------------------------------------


def test_the_sku_form_offers_the_zone_defaulting_to_the_products_storage(ops):
    product = _product(storage=Product.StorageType.FROZEN)
    page = ops.get(f"/ops/catalogue/products/{product.pk}/").content.decode()
    assert 'name="sku-zone"' in page
    assert '<option value="frozen" selected>' in page
    assert 'name="sku-units_per_pack"' in page and 'name="sku-weight_g"' in page


def test_an_operator_adds_and_edits_an_sku_with_its_delivery_facts(ops):
    product = _product()
    post = {f"sku-{k}": v for k, v in _sku_post().items()}
    response = ops.post(f"/ops/catalogue/products/{product.pk}/skus/", post)
    assert response.status_code == 302
    sku = SKU.objects.get()
    assert (sku.zone, sku.pack_unit, sku.units_per_pack, sku.weight_g) == ("frozen", "箱", 6, 1500)
    page = ops.get(f"/ops/catalogue/products/{product.pk}/").content.decode()
    assert "zone-frozen" in page

    edit = ops.get(f"/ops/catalogue/skus/{sku.pk}/").content.decode()
    assert 'value="6"' in edit and 'value="1500"' in edit
    response = ops.post(
        f"/ops/catalogue/skus/{sku.pk}/",
        {k: v for k, v in _sku_post(zone="chilled", weight_g="").items() if k != "stock"},
    )
    assert response.status_code == 302
    sku.refresh_from_db()
    assert (sku.zone, sku.weight_g) == ("chilled", None)


def test_bad_pack_on_the_form_shows_a_message_and_saves_nothing(ops):
    product = _product()
    post = {f"sku-{k}": v for k, v in _sku_post(units_per_pack="0").items()}
    response = ops.post(f"/ops/catalogue/products/{product.pk}/skus/", post)
    assert response.status_code == 400
    assert SKU.objects.count() == 0
    assert "has-error" in response.content.decode()


def test_an_operator_sets_a_suppliers_lead_time_and_cut_off(ops):
    factories.brand()
    response = ops.post(
        "/ops/catalogue/suppliers/new/", {"name": "云南高原农场", "lead_time_days": "2", "cutoff_time": "20:00"}
    )
    assert response.status_code == 302
    farm = Supplier.objects.get()
    assert (farm.lead_time_days, farm.cutoff_time) == (2, time(20, 0))
    listing = ops.get("/ops/catalogue/suppliers/").content.decode()
    assert "20:00" in listing
    edit = ops.get(f"/ops/catalogue/suppliers/{farm.pk}/").content.decode()
    assert 'value="20:00"' in edit

    response = ops.post(f"/ops/catalogue/suppliers/{farm.pk}/", {"name": "云南高原农场", "lead_time_days": "0"})
    assert response.status_code == 200  # the form again, with its message
    assert "has-error" in response.content.decode()
    farm.refresh_from_db()
    assert farm.lead_time_days == 2
