"""The catalogue console pages: an operator builds the catalogue without /admin/; others are refused."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalogue.models import SKU, Product, StockAdjustment, Supplier
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def ops(client):
    client.force_login(factories.operator())
    return client


def _jpeg() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 160, 40)).save(buffer, format="JPEG")
    return SimpleUploadedFile("potato.jpg", buffer.getvalue(), content_type="image/jpeg")


@pytest.mark.parametrize(
    "url",
    ["/ops/catalogue/", "/ops/catalogue/suppliers/", "/ops/catalogue/suppliers/new/", "/ops/catalogue/stock/"],
)
def test_members_and_hosts_are_refused(client, url):
    for user in (factories.member(), factories.host()):
        client.force_login(user)
        assert client.get(url).status_code == 403


def test_the_navigation_offers_the_catalogue(ops):
    assert 'href="/ops/catalogue/"' in ops.get("/ops/").content.decode()


def test_an_operator_creates_supplier_product_photo_and_sku_from_the_console(ops):
    factories.brand()
    response = ops.post("/ops/catalogue/suppliers/new/", {"name": "云南高原农场", "region": "云南"})
    assert response.status_code == 302
    supplier = Supplier.objects.get()

    response = ops.post(
        "/ops/catalogue/products/new/",
        {"supplier": supplier.pk, "name": "云南高山小土豆", "storage": "ambient", "is_active": "on"},
    )
    product = Product.objects.get()
    assert response["Location"] == f"/ops/catalogue/products/{product.pk}/"

    ops.post(f"/ops/catalogue/products/{product.pk}/photos/", {"photos": [_jpeg()]})
    response = ops.post(
        f"/ops/catalogue/products/{product.pk}/skus/",
        {
            "sku-code": "POTATO-5",
            "sku-unit": "箱",
            "sku-price": "39.90",
            "sku-cost": "21.50",
            "sku-stock": "80",
            "sku-max_per_member": "5",
            "sku-is_active": "on",
            "sku-spec_name_0": "规格",
            "sku-spec_value_0": "5斤/箱",
        },
    )
    assert response.status_code == 302
    sku = SKU.objects.get()
    assert (sku.list_price_fen, sku.cost_fen, sku.stock, sku.spec, sku.max_per_member) == (
        3990,
        2150,
        80,
        {"规格": "5斤/箱"},
        5,
    )
    product.refresh_from_db()
    assert product.image

    page = ops.get("/ops/catalogue/?q=POTATO").content.decode()
    assert "云南高山小土豆" in page
    assert "¥39.90" in page


def test_a_negative_price_shows_a_message_and_saves_nothing(ops):
    operator_supplier = Supplier.objects.create(brand=factories.brand(), name="农场")
    product = Product.objects.create(supplier=operator_supplier, name="小土豆")

    response = ops.post(
        f"/ops/catalogue/products/{product.pk}/skus/",
        {"sku-code": "P1", "sku-price": "-1", "sku-stock": "5", "sku-spec_name_0": "规格", "sku-spec_value_0": "5斤"},
    )

    assert response.status_code == 400
    assert "价格不能为负数" in response.content.decode()
    assert not SKU.objects.exists()


def test_a_spec_without_an_option_shows_a_message_and_saves_nothing(ops):
    product = Product.objects.create(supplier=Supplier.objects.create(brand=factories.brand(), name="农场"), name="蛋")

    response = ops.post(
        f"/ops/catalogue/products/{product.pk}/skus/",
        {"sku-code": "EGG", "sku-price": "20", "sku-stock": "5", "sku-spec_name_0": "规格", "sku-spec_value_0": ""},
    )

    assert response.status_code == 400
    assert "需要一个选项" in response.content.decode()
    assert not SKU.objects.exists()


def test_stock_adjustment_page_applies_and_logs(ops):
    product = Product.objects.create(supplier=Supplier.objects.create(brand=factories.brand(), name="农场"), name="蛋")
    sku = SKU.objects.create(product=product, code="EGG", spec={"规格": "30枚"}, list_price_fen=4990, stock=10)

    response = ops.post("/ops/catalogue/stock/", {f"delta_{sku.pk}": "+15", "reason": "农场到货"})

    assert response.status_code == 302
    sku.refresh_from_db()
    assert sku.stock == 25
    assert StockAdjustment.objects.get().reason == "农场到货"
    assert "农场到货" in ops.get("/ops/catalogue/stock/").content.decode()


@pytest.mark.parametrize("typed", ["abc", "²", "1.5"], ids=["letters", "superscript", "decimal"])
def test_stock_adjustment_refuses_what_is_not_a_whole_number(ops, typed):
    product = Product.objects.create(supplier=Supplier.objects.create(brand=factories.brand(), name="农场"), name="蛋")
    sku = SKU.objects.create(product=product, code="EGG", spec={"规格": "30枚"}, list_price_fen=4990, stock=10)

    response = ops.post("/ops/catalogue/stock/", {f"delta_{sku.pk}": typed, "reason": "清点"})

    assert response.status_code == 400
    assert "整数" in response.content.decode()
    sku.refresh_from_db()
    assert sku.stock == 10
