"""Operator console for the catalogue (商品库): suppliers, products with photos and SKUs, stock by hand."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from community.access import staff_brands
from groupbuy.access import operator_required
from groupbuy.money import yuan_to_fen

from . import selectors, services
from .forms import CatalogueFilterForm, ProductForm, SKUForm, SupplierForm
from .models import ProductImage, Supplier

PRODUCTS_PER_PAGE = 30


def _add_error(form, exc: services.CatalogueInvalid) -> None:
    field = exc.field if exc.field in form.fields else None
    if exc.field == "list_price":
        field = "price"
    elif exc.field == "cost":
        field = "cost"
    elif exc.field == "spec":
        field = "spec_name_0"
    form.add_error(field if field in form.fields else None, exc.message)


@operator_required
def ops_catalogue(request: HttpRequest) -> HttpResponse:
    suppliers = selectors.suppliers(viewer=request.user)
    filters = CatalogueFilterForm(request.GET or None, suppliers=suppliers)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    found = selectors.products(**{k: v for k, v in criteria.items() if v not in (None, "")}, viewer=request.user)
    page = Paginator(found, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "ops/catalogue/products.html",
        {"filters": filters, "page": page, "has_suppliers": suppliers.exists(), "low_stock": selectors.LOW_STOCK},
    )


# --- Suppliers -----------------------------------------------------------------------------------------------------


@operator_required
def ops_suppliers(request: HttpRequest) -> HttpResponse:
    return render(request, "ops/catalogue/suppliers.html", {"suppliers": selectors.suppliers(viewer=request.user)})


def _supplier_page(request: HttpRequest, *, supplier: Supplier | None) -> HttpResponse:
    brands = list(staff_brands(request.user))  # a brand's operator adds suppliers to their own brand only
    if request.method == "POST":
        form = SupplierForm(request.POST)
        brand = (
            supplier.brand if supplier else next((b for b in brands if str(b.pk) == request.POST.get("brand")), None)
        )
        brand = brand or (brands[0] if len(brands) == 1 else None)
        if brand is None:
            form.add_error(None, _("Choose the brand this supplier works for."))
        elif form.is_valid():
            try:
                saved = services.supplier_save(by=request.user, brand=brand, data=form.to_input(), supplier=supplier)
            except services.CatalogueInvalid as exc:
                _add_error(form, exc)
            else:
                messages.success(request, _("Supplier “%(name)s” saved.") % {"name": saved.name})
                return redirect(request.POST.get("next") or reverse("catalogue:ops-suppliers"))
    else:
        form = SupplierForm.for_supplier(supplier) if supplier else SupplierForm()
    return render(
        request,
        "ops/catalogue/supplier_form.html",
        {"form": form, "supplier": supplier, "brands": brands if len(brands) > 1 and supplier is None else []},
    )


@operator_required
def ops_supplier_new(request: HttpRequest) -> HttpResponse:
    return _supplier_page(request, supplier=None)


@operator_required
def ops_supplier_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _supplier_page(request, supplier=get_object_or_404(selectors.suppliers(viewer=request.user), pk=pk))


# --- Products ------------------------------------------------------------------------------------------------------


@operator_required
def ops_product_new(request: HttpRequest) -> HttpResponse:
    suppliers = selectors.suppliers(viewer=request.user)
    if not suppliers.exists():
        messages.info(request, _("Add the supplier first: every product comes from a supplier."))
        return redirect(f"{reverse('catalogue:ops-supplier-new')}?next={reverse('catalogue:ops-product-new')}")
    if request.method == "POST":
        form = ProductForm(request.POST, suppliers=suppliers)
        if form.is_valid():
            try:
                product = services.product_save(
                    by=request.user, supplier=form.cleaned_data["supplier"], data=form.to_input()
                )
            except services.CatalogueInvalid as exc:
                _add_error(form, exc)
            else:
                messages.success(request, _("Product saved. Now add its photos and SKUs."))
                return redirect("catalogue:ops-product", pk=product.pk)
    else:
        form = ProductForm(suppliers=suppliers, initial={"supplier": request.GET.get("supplier")})
    return render(request, "ops/catalogue/product_new.html", {"form": form})


@operator_required
def ops_product(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(selectors.products_for_staff(request.user).select_related("supplier"), pk=pk)
    suppliers = selectors.suppliers(viewer=request.user).filter(brand_id=product.supplier.brand_id)
    if request.method == "POST":
        form = ProductForm(request.POST, suppliers=suppliers)
        if form.is_valid():
            try:
                services.product_save(
                    by=request.user, supplier=form.cleaned_data["supplier"], data=form.to_input(), product=product
                )
            except services.CatalogueInvalid as exc:
                _add_error(form, exc)
            else:
                messages.success(request, _("Product saved."))
                return redirect("catalogue:ops-product", pk=product.pk)
    else:
        form = ProductForm(suppliers=suppliers, initial=ProductForm.initial_for(product))
    return render(
        request,
        "ops/catalogue/product.html",
        {
            "product": product,
            "form": form,
            "photos": product.photos.all(),
            "skus": product.skus.order_by("pk"),
            "sku_form": SKUForm(prefix="sku", initial={"zone": product.storage}),
            "max_photos": services.MAX_PHOTOS,
        },
    )


@require_POST
@operator_required
def ops_product_photos_add(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(selectors.products_for_staff(request.user), pk=pk)
    try:
        added = services.product_photos_add(by=request.user, product=product, uploads=request.FILES.getlist("photos"))
    except services.CatalogueInvalid as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(count)s photo(s) added.") % {"count": len(added)})
    return redirect(reverse("catalogue:ops-product", args=[pk]) + "#photos")


@require_POST
@operator_required
def ops_product_photo_remove(request: HttpRequest, pk: int, photo_id: int) -> HttpResponse:
    photo = get_object_or_404(
        ProductImage, pk=photo_id, product__in=selectors.products_for_staff(request.user).filter(pk=pk)
    )
    services.product_photo_remove(by=request.user, photo=photo)
    messages.success(request, _("Photo removed."))
    return redirect(reverse("catalogue:ops-product", args=[pk]) + "#photos")


@require_POST
@operator_required
def ops_product_photo_cover(request: HttpRequest, pk: int, photo_id: int) -> HttpResponse:
    photo = get_object_or_404(
        ProductImage, pk=photo_id, product__in=selectors.products_for_staff(request.user).filter(pk=pk)
    )
    services.product_photo_move(by=request.user, photo=photo, to=0)
    messages.success(request, _("This photo is now the cover."))
    return redirect(reverse("catalogue:ops-product", args=[pk]) + "#photos")


# --- SKUs ----------------------------------------------------------------------------------------------------------


@require_POST
@operator_required
def ops_sku_new(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(selectors.products_for_staff(request.user).select_related("supplier"), pk=pk)
    form = SKUForm(request.POST, prefix="sku")
    if form.is_valid():
        try:
            sku = services.sku_save(by=request.user, product=product, data=form.to_input())
        except services.CatalogueInvalid as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("SKU %(code)s added.") % {"code": sku.code})
            return redirect(reverse("catalogue:ops-product", args=[pk]) + "#skus")
    return render(
        request,
        "ops/catalogue/product.html",
        {
            "product": product,
            "form": ProductForm(
                suppliers=selectors.suppliers(viewer=request.user), initial=ProductForm.initial_for(product)
            ),
            "photos": product.photos.all(),
            "skus": product.skus.order_by("pk"),
            "sku_form": form,
            "max_photos": services.MAX_PHOTOS,
        },
        status=400,
    )


@operator_required
def ops_sku_edit(request: HttpRequest, pk: int) -> HttpResponse:
    sku = get_object_or_404(selectors.skus_for_staff(request.user).select_related("product"), pk=pk)
    if request.method == "POST":
        form = SKUForm(request.POST, creating=False)
        if form.is_valid():
            try:
                services.sku_save(by=request.user, product=sku.product, data=form.to_input(), sku=sku)
            except services.CatalogueInvalid as exc:
                _add_error(form, exc)
            else:
                messages.success(request, _("SKU %(code)s saved.") % {"code": form.cleaned_data["code"]})
                return redirect(reverse("catalogue:ops-product", args=[sku.product_id]) + "#skus")
    else:
        form = SKUForm(creating=False, initial=SKUForm.initial_for(sku))
    return render(request, "ops/catalogue/sku_form.html", {"sku": sku, "form": form})


# --- Stock -----------------------------------------------------------------------------------------------------------


@operator_required
def ops_stock(request: HttpRequest) -> HttpResponse:
    skus = list(selectors.skus_for_stock(viewer=request.user))
    typed = {}
    error = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        changes = {}
        for sku in skus:
            raw = (request.POST.get(f"delta_{sku.pk}") or "").strip()
            typed[sku.pk] = raw
            if not raw:
                continue
            try:
                changes[sku.pk] = int(raw.replace("+", "", 1)) if raw.isascii() else int("x")
            except ValueError:
                error = _("Changes are whole numbers, e.g. 20 or -3.")
        if not error:
            try:
                done = services.stock_adjust(by=request.user, changes=changes, reason=reason)
            except services.CatalogueInvalid as exc:
                error = exc.message
            else:
                messages.success(request, _("Stock adjusted for %(count)s SKU(s).") % {"count": len(done)})
                return redirect("catalogue:ops-stock")
    return render(
        request,
        "ops/catalogue/stock.html",
        {
            "rows": [(sku, typed.get(sku.pk, "")) for sku in skus],
            "reason": request.POST.get("reason", "") if request.method == "POST" else "",
            "error": error,
            "adjustments": selectors.recent_adjustments(viewer=request.user),
        },
        status=400 if error else 200,
    )


# --- Quick create (from the campaign builder) ---------------------------------------------------------------------


@require_POST
@operator_required
def ops_product_quick_create(request: HttpRequest) -> JsonResponse:
    """A product with one SKU (and optionally its first photo) in one step, for the campaign builder:
    JSON in the user's language either way; a refusal (``{"error", "field"}``, 400) leaves nothing."""
    post = request.POST
    supplier_id = post.get("supplier", "")
    supplier = (
        selectors.suppliers(viewer=request.user).filter(pk=int(supplier_id)).first() if supplier_id.isdigit() else None
    )
    try:
        if supplier is None:
            raise services.CatalogueInvalid(_("Choose the supplier."), field="supplier")
        try:
            price = Decimal((post.get("price") or "").strip())
            if price.as_tuple().exponent < -2 or price <= 0:
                raise ArithmeticError
        except (ArithmeticError, ValueError):
            raise services.CatalogueInvalid(_("Enter a price in yuan, e.g. 12.90."), field="price") from None
        if not (post.get("spec") or "").strip():
            raise services.CatalogueInvalid(_("Enter the spec, e.g. 500g/袋."), field="spec")
        stock_text = (post.get("stock") or "0").strip()
        if not stock_text.isdigit():
            raise services.CatalogueInvalid(_("The stock must be zero or more."), field="stock")
        code = (post.get("code") or "").strip() or f"Q{uuid.uuid4().hex[:10].upper()}"
        with transaction.atomic():
            product = services.product_save(
                by=request.user, supplier=supplier, data=services.ProductInput(name=post.get("name", ""))
            )
            sku = services.sku_save(
                by=request.user,
                product=product,
                data=services.SKUInput(
                    code=code,
                    spec={_("Spec"): post.get("spec", "")},
                    list_price_fen=yuan_to_fen(price),
                    stock=int(stock_text),
                ),
            )
            photo = request.FILES.get("photo")
            if photo:
                services.product_photos_add(by=request.user, product=product, uploads=[photo])
                product.refresh_from_db(fields=["image"])
    except services.CatalogueInvalid as exc:
        return JsonResponse({"error": exc.message, "field": exc.field}, status=400)
    label = _("%(sku)s (%(code)s) — stock: %(stock)s") % {"sku": sku, "code": sku.code, "stock": sku.stock}
    return JsonResponse(
        {"sku": {"id": sku.pk, "label": label, "photo": product.image.url if product.image else ""}}, status=201
    )
