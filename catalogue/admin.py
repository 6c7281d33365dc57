from django.contrib import admin

from .models import SKU, Product, ProductImage, StockAdjustment, Supplier


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("name", "brand", "region", "contact_name")
    search_fields = ("name",)


class SKUInline(admin.TabularInline):
    model = SKU
    extra = 0
    readonly_fields = ("stock",)  # stock moves through catalogue.stock (the console's "Adjust stock"), with a reason


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "supplier", "storage", "is_active")
    list_filter = ("supplier", "storage", "is_active")
    search_fields = ("name",)
    inlines = [ProductImageInline, SKUInline]


@admin.register(SKU)
class SKUAdmin(admin.ModelAdmin):
    list_display = ("code", "product", "spec_label", "list_price_fen", "stock", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "product__name")
    list_select_related = ("product",)
    # Stock changes only through guarded updates in services; the admin must not overwrite a live count.
    readonly_fields = ("stock",)


@admin.register(ProductImage)
class ProductImageAdmin(admin.ModelAdmin):
    list_display = ("product", "position", "width", "height")
    list_select_related = ("product",)


@admin.register(StockAdjustment)
class StockAdjustmentAdmin(admin.ModelAdmin):
    """The log of hand adjustments: read-only (adjust stock in the console, which writes this)."""

    list_display = ("created_at", "sku", "delta", "stock_after", "reason", "by")
    list_select_related = ("sku", "sku__product", "by")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
