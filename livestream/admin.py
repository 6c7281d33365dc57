from django.contrib import admin
from django.db import models

from .models import (
    BannedWord,
    Comment,
    Delivery,
    LiveSeries,
    LiveSession,
    Mute,
    Notification,
    Reservation,
    ViewerSample,
    WarmupRound,
    WatchRecord,
)


@admin.register(LiveSeries)
class LiveSeriesAdmin(admin.ModelAdmin):
    list_display = ("title", "brand")


@admin.register(LiveSession)
class LiveSessionAdmin(admin.ModelAdmin):
    # A link typed without a scheme is https (Django 6's default; 5.2 warns until told).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("title", "series", "status", "scheduled_start", "started_at", "ended_at")
    list_filter = ("status", "series")
    search_fields = ("title",)
    filter_horizontal = ("hosts", "assistants", "communities")
    # Status moves only through the host panel's services (go live / end), which notify other apps.
    readonly_fields = ("status", "started_at", "ended_at", "peak_online")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # Hosts and assistants are brand staff: the picker never lists the (many) members.
        if db_field.name in ("hosts", "assistants"):
            from .console import staff_users

            kwargs["queryset"] = staff_users()
        return super().formfield_for_manytomany(db_field, request, **kwargs)


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


@admin.register(WarmupRound)
class WarmupRoundAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("session", "kind", "send_at", "audience", "status")
    list_filter = ("status", "kind")
    list_select_related = ("session",)
    # Expansion is the scheduler's job: changing status by hand would break "exactly once".
    readonly_fields = ("status", "expanded_at")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("round", "user", "channel", "status", "attempts", "sent_at")
    list_filter = ("channel", "status")
    list_select_related = ("round__session", "user")
    raw_id_fields = ("round", "user", "community")
    readonly_fields = ("status", "attempts", "lease_until", "sent_at", "last_error")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "title", "created_at", "read_at")
    list_select_related = ("user",)
    raw_id_fields = ("user", "delivery")


@admin.register(ViewerSample)
class ViewerSampleAdmin(admin.ModelAdmin):
    list_display = ("session", "minute", "online")
    list_select_related = ("session",)


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("session", "user", "kind", "status", "text", "created_at", "answered_at")
    list_filter = ("kind", "status")
    list_select_related = ("session", "user")
    search_fields = ("text",)
    raw_id_fields = ("user", "merged_into", "hidden_by")


@admin.register(Mute)
class MuteAdmin(admin.ModelAdmin):
    list_display = ("user", "session", "community", "muted_by", "reason", "created_at")
    list_select_related = ("user", "session", "community", "muted_by")
    raw_id_fields = ("user", "muted_by")


@admin.register(BannedWord)
class BannedWordAdmin(admin.ModelAdmin):
    list_display = ("word", "brand", "created_by", "created_at")
    list_filter = ("brand",)
    search_fields = ("word",)
