from django.contrib import admin

from .models import DistinctId, Event, Person, PersonMerge


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "occurred_at",
        "user",
        "person_id",
        "source",
        "community_id",
        "live_session_id",
        "campaign_id",
    )
    list_filter = ("name", "source")
    date_hierarchy = "occurred_at"
    raw_id_fields = ("user",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the event stream is append-only


class DistinctIdInline(admin.TabularInline):
    model = DistinctId
    extra = 0


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("pk", "user", "merged_into", "created_at")
    raw_id_fields = ("user", "merged_into")
    inlines = [DistinctIdInline]


@admin.register(PersonMerge)
class PersonMergeAdmin(admin.ModelAdmin):
    list_display = ("at", "kept", "absorbed", "automatic", "by", "events")

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the audit record


@admin.register(DistinctId)
class DistinctIdAdmin(admin.ModelAdmin):
    list_display = ("value", "kind", "person", "created_at")
    list_filter = ("kind",)
    search_fields = ("value",)
    raw_id_fields = ("person",)
