from django.contrib import admin

from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("name", "occurred_at", "user", "community_id", "live_session_id", "campaign_id")
    list_filter = ("name",)
    date_hierarchy = "occurred_at"
    raw_id_fields = ("user",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the event stream is append-only
