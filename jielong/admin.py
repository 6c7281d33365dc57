from django.contrib import admin
from django.db import models

from .models import (
    Campaign,
    CampaignChange,
    CampaignImage,
    CampaignItem,
    CampaignOutbox,
    LedgerEntry,
    Order,
    OrderLine,
    PriceTier,
)


class CampaignItemInline(admin.TabularInline):
    model = CampaignItem
    extra = 0
    raw_id_fields = ("sku",)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # Django 6's default for a bare link
    list_display = ("title", "status", "joined_count", "group_threshold", "perk_taken", "perk_limit", "closes_at")
    list_filter = ("status", "brand")
    search_fields = ("title",)
    filter_horizontal = ("communities",)
    inlines = [CampaignItemInline]
    # Counters and status belong to the join/close services (they hold the row lock); never hand-edit them.
    readonly_fields = ("status", "joined_count", "perk_taken", "next_seq", "version", "formed_at")


@admin.register(PriceTier)
class PriceTierAdmin(admin.ModelAdmin):
    list_display = ("item", "min_joins", "price_fen")


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = ("item", "quantity", "unit_price_fen")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("__str__", "campaign", "user", "status", "payment_status", "is_perk", "total_fen", "created_at")
    list_filter = ("status", "payment_status", "is_perk", "campaign")
    search_fields = ("user__nickname", "user__phone")
    list_select_related = ("campaign", "user")
    inlines = [OrderLineInline]
    readonly_fields = ("campaign", "user", "seq", "status", "is_perk", "total_fen", "idempotency_key", "created_at")
    raw_id_fields = ("pickup_point",)


@admin.register(CampaignImage)
class CampaignImageAdmin(admin.ModelAdmin):
    list_display = ("__str__", "campaign", "width", "height", "position")
    list_select_related = ("campaign",)
    raw_id_fields = ("campaign",)
    # Uploads go through the builder, which resizes them and strips EXIF; the admin only shows and reorders.
    readonly_fields = ("image", "width", "height")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(CampaignChange)
class CampaignChangeAdmin(admin.ModelAdmin):
    """The change log (操作记录) is evidence: it can be read, never written or edited by hand."""

    list_display = ("campaign", "changed_at", "changed_by", "field", "old_value", "new_value")
    list_filter = ("campaign",)
    list_select_related = ("campaign", "changed_by")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CampaignOutbox)
class CampaignOutboxAdmin(admin.ModelAdmin):
    """Read-only: what joins still owe a campaign (a broadcast, tier settling) while Redis was down."""

    list_display = ("campaign", "needs_settle", "version", "queued_at")
    readonly_fields = ("campaign", "needs_settle", "version", "queued_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Read only: the ledger is written by ``jielong.ledger`` alone, never edited by hand."""

    list_display = ("created_at", "kind", "amount_fen", "order", "order_line", "key", "by")
    list_filter = ("kind",)
    search_fields = ("key",)
    list_select_related = ("order", "order_line__item__sku", "by")
    raw_id_fields = ("order", "order_line", "by")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
