from django.contrib import admin

from .models import Campaign, CampaignItem, Order, OrderLine, PriceTier


class CampaignItemInline(admin.TabularInline):
    model = CampaignItem
    extra = 0
    raw_id_fields = ("sku",)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
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
