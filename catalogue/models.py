"""What is sold: supplier farms, products and their SKUs. Stock lives on the SKU, so every
campaign selling a SKU draws from the same number (库存同步)."""

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from community.models import Brand


class Supplier(models.Model):
    """A supplier, typically a partner farm (合作农场) such as 老李有机农场."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="suppliers")
    name = models.CharField(_("name"), max_length=64)
    region = models.CharField(_("region"), max_length=64, blank=True)
    contact_name = models.CharField(_("contact"), max_length=32, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    story = models.TextField(_("story"), blank=True)
    # What fulfilment plans with: an order placed before the cut-off is delivered lead_time_days later.
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (days)"), default=1)
    cutoff_time = models.TimeField(_("cut-off for next-day delivery"), default=time(22, 0))

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        constraints = [models.UniqueConstraint(fields=["brand", "name"], name="supplier_unique_name_per_brand")]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    class StorageType(models.TextChoices):
        AMBIENT = "ambient", _("Ambient")
        CHILLED = "chilled", _("Chilled (cold chain)")
        FROZEN = "frozen", _("Frozen")

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(_("name"), max_length=64)
    description = models.TextField(_("description"), blank=True)
    storage = models.CharField(_("storage"), max_length=16, choices=StorageType.choices, default=StorageType.CHILLED)
    # The cover: the first of the product's photos (kept in step by catalogue.services), shown where one
    # picture stands for the product (the live room's 讲解中 card).
    image = models.ImageField(_("image"), upload_to="products/", blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [models.UniqueConstraint(fields=["supplier", "name"], name="product_unique_name_per_supplier")]

    def __str__(self) -> str:
        return self.name


class ProductImage(models.Model):
    """One of a product's photos, in the order the operator gave them (upright, shrunk, without EXIF)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("image"), upload_to="products/")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("product photo")
        verbose_name_plural = _("product photos")

    def __str__(self) -> str:
        return f"{self.product_id}#{self.position}"


class SKU(models.Model):
    """One sellable variant of a product. ``spec`` holds its options, e.g. {"规格": "500g/袋"}."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="skus")
    code = models.CharField(_("SKU code"), max_length=32, unique=True)
    spec = models.JSONField(_("spec options"), default=dict, blank=True)
    unit = models.CharField(_("unit"), max_length=8, blank=True, help_text=_("e.g. 袋, 盒, 斤"))
    list_price_fen = models.PositiveIntegerField(_("list price (fen)"))
    cost_fen = models.PositiveIntegerField(_("cost (fen)"), null=True, blank=True)
    # The default limit per member when the SKU is put into a jielong (the campaign item may change it).
    max_per_member = models.PositiveIntegerField(_("limit per member"), null=True, blank=True)
    # Changed only through catalogue.stock (rows locked in pk order, guarded F() updates) and, inside the
    # database, its documented twin jielong_join; never read-modify-write.
    stock = models.PositiveIntegerField(_("stock"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    # Fulfilment facts: the zone decides the van (冷链/冷冻/常温); packs decide the crates per stop.
    zone = models.CharField(
        _("temperature zone"), max_length=16, choices=Product.StorageType.choices, default=Product.StorageType.CHILLED
    )
    pack_unit = models.CharField(_("pack"), max_length=8, blank=True, help_text=_("e.g. 箱, 筐"))
    units_per_pack = models.PositiveSmallIntegerField(_("units per pack"), default=1)
    weight_g = models.PositiveIntegerField(_("weight per unit (g)"), null=True, blank=True)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="sku_stock_not_negative"),
            models.CheckConstraint(condition=Q(units_per_pack__gte=1), name="sku_units_per_pack_positive"),
        ]

    def __str__(self) -> str:
        return self.label(self.product.name, self.spec)

    @property
    def spec_label(self) -> str:
        return " ".join(str(v) for v in self.spec.values())

    @staticmethod
    def label(product_name: str, spec: dict) -> str:
        """ "散养鸡蛋 30枚/盒": the product and its spec options (also for rows read without the model)."""
        return f"{product_name} {' '.join(str(v) for v in spec.values())}".strip()


class StockAdjustment(models.Model):
    """A stock change made by hand (a delivery counted in, spoilage written off), with its reason.
    Orders move stock too, but those are recorded by the orders themselves."""

    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="adjustments")
    delta = models.IntegerField(_("change"))
    stock_after = models.PositiveIntegerField(_("stock after"))
    reason = models.CharField(_("reason"), max_length=200)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("stock adjustment")
        verbose_name_plural = _("stock adjustments")
        constraints = [models.CheckConstraint(condition=~Q(delta=0), name="stock_adjustment_not_zero")]

    def __str__(self) -> str:
        return f"{self.sku_id} {self.delta:+d}"
