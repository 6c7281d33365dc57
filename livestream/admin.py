from django.contrib import admin

from .models import LiveSeries, LiveSession, Reservation, WatchRecord


@admin.register(LiveSeries)
class LiveSeriesAdmin(admin.ModelAdmin):
    list_display = ("title", "brand")


@admin.register(LiveSession)
class LiveSessionAdmin(admin.ModelAdmin):
    list_display = ("title", "series", "status", "scheduled_start", "started_at", "ended_at")
    list_filter = ("status", "series")
    search_fields = ("title",)
    filter_horizontal = ("hosts", "assistants", "communities")
    # Status moves only through the host panel's services (go live / end), which notify other apps.
    readonly_fields = ("status", "started_at", "ended_at")


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ("session", "user", "created_at")
    list_select_related = ("session", "user")
    raw_id_fields = ("user",)


@admin.register(WatchRecord)
class WatchRecordAdmin(admin.ModelAdmin):
    list_display = ("session", "user", "seconds_watched", "first_seen_at", "last_seen_at")
    list_select_related = ("session", "user")
    raw_id_fields = ("user",)
