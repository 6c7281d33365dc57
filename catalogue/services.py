"""Writing the catalogue: suppliers, products with their photos and SKUs, and stock adjusted by hand.

Every function checks everything before it writes anything: a refusal (``CatalogueInvalid``, with a
message for the operator and the field it is about) leaves the catalogue as it was. Stock moves only
through ``catalogue.stock``; a hand adjustment is logged with its reason in the same transaction.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from community.inputs import unstorable
from community.models import Brand, User
from groupbuy import audit
from groupbuy.errors import DomainError
from groupbuy.images import ImageRejected, check_count, clean_image

from . import stock
from .models import SKU, Product, ProductImage, StockAdjustment, Supplier

MAX_PHOTOS = 9
MAX_PHOTO_SIDE = 1600
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PRICE_FEN = 10_000_000  # ¥100,000: a typo guard, not a business rule
MAX_STOCK = 10_000_000
MAX_LEAD_TIME_DAYS = 30
MAX_UNITS_PER_PACK = 1000  # PositiveSmallIntegerField; a crate of a thousand is already a pallet
MAX_WEIGHT_G = 1_000_000  # 1 t per unit: a typo guard
_SKU_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


class CatalogueInvalid(DomainError):
    def __init__(self, message: str, *, field: str = "", code: str = "invalid") -> None:
        super().__init__(message, code=code)
        self.field = field


def _check_operator(by: User) -> None:
    if not by.is_operator:
        raise CatalogueInvalid(_("Only operators can change the catalogue."), code="forbidden")


def _text(value: str | None, *, field: str, label: str, max_length: int, required: bool = False) -> str:
    text = (value or "").strip()
    if unstorable(text):
        raise CatalogueInvalid(
            _("%(label)s contains a character that cannot be saved.") % {"label": label}, field=field
        )
    if required and not text:
        raise CatalogueInvalid(_("Enter the %(label)s.") % {"label": label}, field=field)
    if len(text) > max_length:
        raise CatalogueInvalid(
            _("The %(label)s is too long (at most %(count)s characters).") % {"label": label, "count": max_length},
            field=field,
        )
    return text


# --- Suppliers ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SupplierInput:
    name: str
    region: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    story: str = ""
    # Fulfilment facts; None keeps what the supplier has (the model's defaults for a new one).
    lead_time_days: int | None = None
    cutoff_time: time | None = None


def _check_supplier_facts(data: SupplierInput) -> dict:
    facts = {}
    if data.lead_time_days is not None:
        if type(data.lead_time_days) is not int or not 1 <= data.lead_time_days <= MAX_LEAD_TIME_DAYS:
            raise CatalogueInvalid(
                _("The lead time is 1 to %(most)s days (1: picked today, delivered tomorrow).")
                % {"most": MAX_LEAD_TIME_DAYS},
                field="lead_time_days",
            )
        facts["lead_time_days"] = data.lead_time_days
    if data.cutoff_time is not None:
        if not isinstance(data.cutoff_time, time):
            raise CatalogueInvalid(_("Enter the cut-off as a time of day, e.g. 22:00."), field="cutoff_time")
        facts["cutoff_time"] = data.cutoff_time.replace(second=0, microsecond=0)
    return facts


def supplier_save(*, by: User, brand: Brand, data: SupplierInput, supplier: Supplier | None = None) -> Supplier:
    """Create (``supplier`` None) or change a supplier of ``brand``."""
    _check_operator(by)
    if supplier is not None and supplier.brand_id != brand.pk:
        raise CatalogueInvalid(_("This supplier belongs to another brand."), code="brand")
    fields = {
        "name": _text(data.name, field="name", label=_("supplier's name"), max_length=64, required=True),
        "region": _text(data.region, field="region", label=_("region"), max_length=64),
        "contact_name": _text(data.contact_name, field="contact_name", label=_("contact"), max_length=32),
        "contact_phone": _text(data.contact_phone, field="contact_phone", label=_("contact phone"), max_length=20),
        "story": _text(data.story, field="story", label=_("story"), max_length=4000),
        **_check_supplier_facts(data),
    }
    if Supplier.objects.filter(brand=brand, name=fields["name"]).exclude(pk=getattr(supplier, "pk", None)).exists():
        raise CatalogueInvalid(_("A supplier with this name already exists."), field="name", code="duplicate")
    target = supplier or Supplier(brand=brand)
    for name, value in fields.items():
        setattr(target, name, value)
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:  # a concurrent save of the same name
        raise CatalogueInvalid(_("A supplier with this name already exists."), field="name", code="duplicate") from None
    return target


# --- Products and SKUs -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductInput:
    name: str
    storage: str = Product.StorageType.CHILLED
    description: str = ""
    is_active: bool = True


def product_save(*, by: User, supplier: Supplier, data: ProductInput, product: Product | None = None) -> Product:
    """Create (``product`` None) or change a product of ``supplier``."""
    _check_operator(by)
    name = _text(data.name, field="name", label=_("product's name"), max_length=64, required=True)
    description = _text(data.description, field="description", label=_("description"), max_length=4000)
    if data.storage not in Product.StorageType.values:
        raise CatalogueInvalid(_("Choose how the product is stored."), field="storage")
    if product is not None and product.supplier.brand_id != supplier.brand_id:
        raise CatalogueInvalid(_("A product cannot move to another brand's supplier."), field="supplier")
    duplicate = Product.objects.filter(supplier=supplier, name=name).exclude(pk=getattr(product, "pk", None))
    if duplicate.exists():
        raise CatalogueInvalid(_("This supplier already has a product with this name."), field="name", code="duplicate")
    target = product or Product()
    target.supplier, target.name, target.description = supplier, name, description
    target.storage, target.is_active = data.storage, data.is_active
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise CatalogueInvalid(
            _("This supplier already has a product with this name."), field="name", code="duplicate"
        ) from None
    return target


@dataclass(frozen=True)
class SKUInput:
    code: str
    spec: Mapping[str, str]
    list_price_fen: int
    stock: int = 0  # only when the SKU is created; later changes are adjustments with a reason
    unit: str = ""
    cost_fen: int | None = None
    max_per_member: int | None = None
    is_active: bool = True
    # Fulfilment facts: the zone decides the van; None keeps the SKU's zone (a new SKU takes its product's
    # storage) and its units per pack (1 for a new SKU).
    zone: str | None = None
    pack_unit: str = ""
    units_per_pack: int | None = None
    weight_g: int | None = None


def _check_sku_facts(data: SKUInput) -> dict:
    facts = {}
    if data.zone is not None:
        if data.zone not in Product.StorageType.values:
            raise CatalogueInvalid(_("Choose the temperature zone (ambient, chilled or frozen)."), field="zone")
        facts["zone"] = data.zone
    facts["pack_unit"] = _text(data.pack_unit, field="pack_unit", label=_("pack"), max_length=8)
    if data.units_per_pack is not None:
        if type(data.units_per_pack) is not int or not 1 <= data.units_per_pack <= MAX_UNITS_PER_PACK:
            raise CatalogueInvalid(
                _("Units per pack is a whole number from 1 to %(most)s.") % {"most": MAX_UNITS_PER_PACK},
                field="units_per_pack",
            )
        facts["units_per_pack"] = data.units_per_pack
    if data.weight_g is not None and (type(data.weight_g) is not int or not 1 <= data.weight_g <= MAX_WEIGHT_G):
        raise CatalogueInvalid(
            _("The weight per unit is in grams, from 1 to %(most)s (leave it empty if unknown).")
            % {"most": MAX_WEIGHT_G},
            field="weight_g",
        )
    facts["weight_g"] = data.weight_g
    return facts


def _check_sku(data: SKUInput, *, sku: SKU | None) -> dict:
    code = _text(data.code, field="code", label=_("SKU code"), max_length=32, required=True)
    if not _SKU_CODE.match(code):
        raise CatalogueInvalid(
            _("The SKU code may use letters, digits, '.', '_' and '-' only (e.g. EGG-30)."), field="code"
        )
    if SKU.objects.filter(code=code).exclude(pk=getattr(sku, "pk", None)).exists():
        raise CatalogueInvalid(_("Another SKU already has this code."), field="code", code="duplicate")
    spec = {}
    for raw_name, raw_value in data.spec.items():
        name = _text(raw_name, field="spec", label=_("spec name"), max_length=16)
        value = _text(raw_value, field="spec", label=_("spec option"), max_length=32)
        if name and not value:
            raise CatalogueInvalid(
                _("The spec “%(name)s” needs an option, e.g. 500g/袋.") % {"name": name}, field="spec"
            )
        if value and not name:
            raise CatalogueInvalid(
                _("Give the option “%(value)s” a spec name, e.g. 规格.") % {"value": value}, field="spec"
            )
        if name:
            spec[name] = value
    if not spec:
        raise CatalogueInvalid(_("Give the SKU at least one spec with its option, e.g. 规格: 500g/袋."), field="spec")
    for value, field, label, top in (
        (data.list_price_fen, "list_price", _("price"), MAX_PRICE_FEN),
        (data.cost_fen, "cost", _("cost"), MAX_PRICE_FEN),
        (data.max_per_member, "max_per_member", _("limit per member"), MAX_STOCK),
    ):
        if value is not None and (type(value) is not int or value < 0 or value > top):
            raise CatalogueInvalid(_("The %(label)s must be zero or more.") % {"label": label}, field=field)
    if data.list_price_fen in (None, 0):
        raise CatalogueInvalid(_("Enter the price."), field="list_price")
    if data.max_per_member == 0:
        raise CatalogueInvalid(
            _("A limit per member must be at least 1 (leave it empty for none)."), field="max_per_member"
        )
    if sku is None and (type(data.stock) is not int or not 0 <= data.stock <= MAX_STOCK):
        raise CatalogueInvalid(_("The stock must be zero or more."), field="stock")
    return {
        "code": code,
        "spec": spec,
        "unit": _text(data.unit, field="unit", label=_("unit"), max_length=8),
        "list_price_fen": data.list_price_fen,
        "cost_fen": data.cost_fen,
        "max_per_member": data.max_per_member,
        "is_active": data.is_active,
        **_check_sku_facts(data),
    }


def sku_save(*, by: User, product: Product, data: SKUInput, sku: SKU | None = None) -> SKU:
    """Create (``sku`` None, with its opening stock) or change an SKU. Stock changes later go through
    ``stock_adjust`` (with a reason), never through this form."""
    _check_operator(by)
    if sku is not None and sku.product_id != product.pk:
        raise CatalogueInvalid(_("This SKU belongs to another product."), code="product")
    fields = _check_sku(data, sku=sku)
    try:
        with transaction.atomic():
            if sku is None:
                fields.setdefault("zone", product.storage)
                return SKU.objects.create(product=product, stock=data.stock, **fields)
            SKU.objects.filter(pk=sku.pk).update(**fields)
            prices = ("list_price_fen", "cost_fen")
            before = {name: getattr(sku, name) for name in prices}
            after = {name: fields[name] for name in prices}
            if before != after:
                audit.record(
                    "catalogue.price_changed",
                    actor=by,
                    target=sku,
                    brand_id=product.supplier.brand_id,
                    before=before,
                    after=after,
                )
    except IntegrityError:
        raise CatalogueInvalid(_("Another SKU already has this code."), field="code", code="duplicate") from None
    sku.refresh_from_db()
    return sku


# --- Stock adjusted by hand -----------------------------------------------------------------------------------


def stock_adjust(*, by: User, changes: Mapping[int, int], reason: str) -> list[StockAdjustment]:
    """Change the stock of several SKUs at once ({sku id: +n or −n}) for one ``reason``, all or nothing.

    A decrease below zero refuses the whole adjustment (naming the SKU); each change is logged with the
    stock after it, in the same transaction as the change (and in the audit log).
    """
    _check_operator(by)
    reason = _text(reason, field="reason", label=_("reason"), max_length=200, required=True)
    changes = {sku_id: delta for sku_id, delta in changes.items() if delta}
    if not changes:
        raise CatalogueInvalid(_("Enter a change for at least one SKU."), field="changes")
    for delta in changes.values():
        if type(delta) is not int or abs(delta) > MAX_STOCK:
            raise CatalogueInvalid(_("Changes are whole numbers, e.g. 20 or -3."), field="changes")
    take = {sku_id: -delta for sku_id, delta in changes.items() if delta < 0}
    give = {sku_id: delta for sku_id, delta in changes.items() if delta > 0}
    with transaction.atomic():
        try:
            stock.stock_exchange(take=take, give_back=give)
        except stock.InsufficientStock as exc:
            sku = SKU.objects.select_related("product").get(pk=exc.sku_id)
            raise CatalogueInvalid(
                _("%(item)s has only %(stock)s in stock; it cannot go below zero.") % {"item": sku, "stock": sku.stock},
                field="changes",
                code="below_zero",
            ) from None
        except SKU.DoesNotExist:
            raise CatalogueInvalid(_("One of the SKUs no longer exists. Reload the page."), field="changes") from None
        skus = SKU.objects.filter(pk__in=list(changes)).select_related("product__supplier").in_bulk()
        audit.record_all(
            audit.entry(
                "catalogue.stock_changed",
                actor=by,
                target=skus[sku_id],
                brand_id=skus[sku_id].product.supplier.brand_id,
                before={"stock": skus[sku_id].stock - delta},
                after={"stock": skus[sku_id].stock},
                note=reason,
            )
            for sku_id, delta in sorted(changes.items())
        )
        return StockAdjustment.objects.bulk_create(
            StockAdjustment(sku_id=sku_id, delta=delta, stock_after=skus[sku_id].stock, reason=reason, by=by)
            for sku_id, delta in sorted(changes.items())
        )


# --- Photos -------------------------------------------------------------------------------------------------------


def _sync_cover(product: Product) -> None:
    first = product.photos.order_by("position", "pk").first()
    Product.objects.filter(pk=product.pk).update(image=first.image.name if first else "")


def product_photos_add(*, by: User, product: Product, uploads: Sequence) -> list[ProductImage]:
    """Add photos after the existing ones: counted before any is read, each upright, at most 1600 px on
    the long edge and without EXIF. The first photo is the product's cover."""
    _check_operator(by)
    uploads = [u for u in uploads if u]
    if not uploads:
        raise CatalogueInvalid(_("Choose at least one photo."), field="photos")
    too_many = _("A product can have at most %(count)s photos.") % {"count": MAX_PHOTOS}
    try:
        check_count(uploads, already=product.photos.count(), most=MAX_PHOTOS, message=too_many)
        cleaned = [clean_image(u, max_side=MAX_PHOTO_SIDE, max_bytes=MAX_PHOTO_BYTES) for u in uploads]
    except ImageRejected as exc:
        raise CatalogueInvalid(exc.message, field="photos", code=exc.code) from None
    with transaction.atomic():
        locked = Product.objects.select_for_update().get(pk=product.pk)
        position = locked.photos.count()
        if position + len(cleaned) > MAX_PHOTOS:
            raise CatalogueInvalid(too_many, field="photos", code="images")
        added = []
        for offset, picture in enumerate(cleaned):
            photo = ProductImage(product=locked, position=position + offset, width=picture.width, height=picture.height)
            photo.image.save(
                f"{locked.pk}-{uuid.uuid4().hex[:16]}.{picture.extension}", ContentFile(picture.content), save=False
            )
            photo.save()
            added.append(photo)
        _sync_cover(locked)
    return added


def product_photo_remove(*, by: User, photo: ProductImage) -> None:
    _check_operator(by)
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=photo.product_id)
        ProductImage.objects.filter(pk=photo.pk).delete()
        for position, remaining in enumerate(product.photos.order_by("position", "pk")):
            if remaining.position != position:
                ProductImage.objects.filter(pk=remaining.pk).update(position=position)
        _sync_cover(product)


def product_photo_move(*, by: User, photo: ProductImage, to: int) -> None:
    """Move a photo to position ``to`` (0 makes it the cover); the others close ranks."""
    _check_operator(by)
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=photo.product_id)
        order = [p.pk for p in product.photos.order_by("position", "pk")]
        order.remove(photo.pk)
        order.insert(max(0, min(to, len(order))), photo.pk)
        for position, pk in enumerate(order):
            ProductImage.objects.filter(pk=pk).update(position=position)
        _sync_cover(product)
