"""The catalogue console's rules: everything is checked before anything is written."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalogue import services
from catalogue.models import SKU, Product, ProductImage, StockAdjustment, Supplier
from catalogue.services import ProductInput, SKUInput, SupplierInput
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _jpeg(size=(800, 600)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 140, 60)).save(buffer, format="JPEG")
    return SimpleUploadedFile("photo.jpg", buffer.getvalue(), content_type="image/jpeg")


def _supplier(operator, name="老李有机农场"):
    return services.supplier_save(by=operator, brand=factories.brand(), data=SupplierInput(name=name, region="云南"))


def _product(operator, supplier=None, name="云南高山小土豆"):
    return services.product_save(
        by=operator, supplier=supplier or _supplier(operator), data=ProductInput(name=name, storage="ambient")
    )


def _sku_input(**changes) -> SKUInput:
    values = {"code": "POTATO-5", "spec": {"规格": "5斤/箱"}, "list_price_fen": 3990, "stock": 50, "unit": "箱"}
    return SKUInput(**{**values, **changes})


def test_an_operator_builds_a_product_with_two_skus():
    operator = factories.operator()
    product = _product(operator)

    small = services.sku_save(by=operator, product=product, data=_sku_input())
    large = services.sku_save(
        by=operator,
        product=product,
        data=_sku_input(
            code="POTATO-10", spec={"规格": "10斤/箱"}, list_price_fen=6990, cost_fen=4200, max_per_member=3
        ),
    )

    assert [(s.code, s.spec, s.list_price_fen, s.stock) for s in product.skus.order_by("pk")] == [
        ("POTATO-5", {"规格": "5斤/箱"}, 3990, 50),
        ("POTATO-10", {"规格": "10斤/箱"}, 6990, 50),
    ]
    assert (large.cost_fen, large.max_per_member, small.unit) == (4200, 3, "箱")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"list_price_fen": -1}, "list_price"),
        ({"list_price_fen": 0}, "list_price"),
        ({"stock": -5}, "stock"),
        ({"cost_fen": -100}, "cost"),
        ({"spec": {"规格": ""}}, "spec"),
        ({"spec": {"": "500g"}}, "spec"),
        ({"spec": {}}, "spec"),
        ({"code": "bad code!"}, "code"),
        ({"code": "X\x00Y"}, "code"),
        ({"max_per_member": 0}, "max_per_member"),
    ],
    ids=[
        "negative-price",
        "zero-price",
        "negative-stock",
        "negative-cost",
        "spec-without-option",
        "option-without-spec",
        "no-spec",
        "bad-code",
        "nul-in-code",
        "zero-limit",
    ],
)
def test_bad_sku_input_is_refused_with_the_field_and_nothing_is_saved(changes, field):
    operator = factories.operator()
    product = _product(operator)

    with pytest.raises(services.CatalogueInvalid) as refused:
        services.sku_save(by=operator, product=product, data=_sku_input(**changes))

    assert refused.value.field == field
    assert refused.value.message
    assert not SKU.objects.exists()


def test_duplicate_names_and_codes_are_refused():
    operator = factories.operator()
    supplier = _supplier(operator)
    product = _product(operator, supplier)
    services.sku_save(by=operator, product=product, data=_sku_input())

    with pytest.raises(services.CatalogueInvalid) as supplier_twice:
        _supplier(operator)
    with pytest.raises(services.CatalogueInvalid) as product_twice:
        _product(operator, supplier)
    with pytest.raises(services.CatalogueInvalid) as code_twice:
        services.sku_save(by=operator, product=product, data=_sku_input())

    assert [(e.value.code, e.value.field) for e in (supplier_twice, product_twice, code_twice)] == [
        ("duplicate", "name"),
        ("duplicate", "name"),
        ("duplicate", "code"),
    ]
    assert (Supplier.objects.count(), Product.objects.count(), SKU.objects.count()) == (1, 1, 1)


def test_only_operators_change_the_catalogue():
    with pytest.raises(services.CatalogueInvalid) as refused:
        services.supplier_save(by=factories.host(), brand=factories.brand(), data=SupplierInput(name="农场"))

    assert refused.value.code == "forbidden"
    assert not Supplier.objects.exists()


def test_editing_an_sku_never_changes_its_stock():
    operator = factories.operator()
    product = _product(operator)
    sku = services.sku_save(by=operator, product=product, data=_sku_input(stock=50))

    services.sku_save(by=operator, product=product, sku=sku, data=_sku_input(stock=999, list_price_fen=3590))

    sku.refresh_from_db()
    assert (sku.stock, sku.list_price_fen) == (50, 3590)


def test_a_bulk_stock_adjustment_is_logged_with_its_reason():
    operator = factories.operator()
    product = _product(operator)
    a = services.sku_save(by=operator, product=product, data=_sku_input(code="A", stock=10))
    b = services.sku_save(by=operator, product=product, data=_sku_input(code="B", stock=10))

    logged = services.stock_adjust(by=operator, changes={a.pk: 20, b.pk: -3}, reason="农场到货清点")

    assert dict(SKU.objects.values_list("code", "stock")) == {"A": 30, "B": 7}
    assert [(x.sku_id, x.delta, x.stock_after, x.reason, x.by_id) for x in logged] == [
        (a.pk, 20, 30, "农场到货清点", operator.pk),
        (b.pk, -3, 7, "农场到货清点", operator.pk),
    ]


def test_an_adjustment_below_zero_changes_nothing_at_all():
    operator = factories.operator()
    product = _product(operator)
    a = services.sku_save(by=operator, product=product, data=_sku_input(code="A", stock=10))
    b = services.sku_save(by=operator, product=product, data=_sku_input(code="B", stock=2))

    with pytest.raises(services.CatalogueInvalid) as refused:
        services.stock_adjust(by=operator, changes={a.pk: 5, b.pk: -3}, reason="损耗")

    assert refused.value.code == "below_zero"
    assert "2" in refused.value.message
    assert dict(SKU.objects.values_list("code", "stock")) == {"A": 10, "B": 2}
    assert not StockAdjustment.objects.exists()


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
def test_an_adjustment_needs_a_reason(reason):
    operator = factories.operator()
    sku = services.sku_save(by=operator, product=_product(operator), data=_sku_input(stock=10))

    with pytest.raises(services.CatalogueInvalid) as refused:
        services.stock_adjust(by=operator, changes={sku.pk: 5}, reason=reason)

    assert refused.value.field == "reason"
    assert SKU.objects.get().stock == 10


def test_photos_are_ordered_and_the_first_is_the_cover():
    operator = factories.operator()
    product = _product(operator)

    first, second = services.product_photos_add(by=operator, product=product, uploads=[_jpeg((3000, 2000)), _jpeg()])
    product.refresh_from_db()
    assert product.image.name == first.image.name
    assert (first.width, first.height) == (1600, 1067)

    services.product_photo_move(by=operator, photo=second, to=0)
    product.refresh_from_db()
    assert product.image.name == second.image.name
    assert list(product.photos.values_list("pk", flat=True)) == [second.pk, first.pk]

    services.product_photo_remove(by=operator, photo=second)
    product.refresh_from_db()
    assert product.image.name == first.image.name
    assert list(product.photos.values_list("position", flat=True)) == [0]


def test_ten_photos_are_refused_before_any_is_read():
    operator = factories.operator()
    product = _product(operator)

    with pytest.raises(services.CatalogueInvalid) as refused:
        services.product_photos_add(by=operator, product=product, uploads=[object()] * 10)

    assert refused.value.code == "images"
    assert not ProductImage.objects.exists()


def test_a_file_that_is_not_a_picture_is_refused():
    operator = factories.operator()
    product = _product(operator)

    with pytest.raises(services.CatalogueInvalid) as refused:
        services.product_photos_add(
            by=operator, product=product, uploads=[SimpleUploadedFile("x.jpg", b"not an image", "image/jpeg")]
        )

    assert refused.value.code == "not_image"
    assert not ProductImage.objects.exists()


@pytest.mark.parametrize("name", ["土豆\x00", "土豆\ud800"], ids=["nul", "lone-surrogate"])
def test_text_that_cannot_be_stored_is_refused(name):
    operator = factories.operator()

    with pytest.raises(services.CatalogueInvalid) as refused:
        _product(operator, name=name)

    assert refused.value.field == "name"
    assert not Product.objects.exists()
