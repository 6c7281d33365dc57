from django.contrib import admin

from .models import SKU, Product, Supplier


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("name", "brand", "region", "contact_name")
    search_fields = ("name",)


class SKUInline(admin.TabularInline):
    model = SKU
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "supplier", "storage", "is_active")
    list_filter = ("supplier", "storage", "is_active")
    search_fields = ("name",)
    inlines = [SKUInline]


@admin.register(SKU)
class SKUAdmin(admin.ModelAdmin):
    list_display = ("code", "product", "spec_label", "list_price_fen", "stock", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "product__name")
    list_select_related = ("product",)
    # Stock changes only through guarded updates in services; the admin must not overwrite a live count.
    readonly_fields = ("stock",)
