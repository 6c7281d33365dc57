from django.contrib import admin

from .models import Chapter, Destination, Recording, Stream


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = ("session", "name", "is_connected", "connected_at")
    # The key is rotated from the host panel (services.stream_key_rotate), which cuts off the old one.
    readonly_fields = ("session", "name", "key", "key_created_at", "client_id", "connected_at", "disconnected_at")
    exclude = ()


@admin.register(Destination)
class DestinationAdmin(admin.ModelAdmin):
    list_display = ("session", "label", "kind", "is_enabled", "status", "status_changed_at")
    list_filter = ("status", "kind")


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = ("session", "started_at", "ended_at", "duration_seconds", "status")
    list_filter = ("status",)


@admin.register(Chapter)
class ChapterAdmin(admin.ModelAdmin):
    list_display = ("session", "title", "started_at", "ended_at")
