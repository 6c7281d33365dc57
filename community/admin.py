from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import (
    Application,
    Brand,
    Choice,
    Column,
    Community,
    ConsentRecord,
    FeedItem,
    Flag,
    FlagLogEntry,
    Invitation,
    Membership,
    PhoneCode,
    PickupPoint,
    Post,
    PostImage,
    Question,
    Questionnaire,
    User,
)
from .phones import mask_phone
from .services.staff import staff_changed


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("display_name", "username", "masked_phone", "role", "is_active", "date_joined")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("username", "nickname", "phone")
    ordering = ("-date_joined",)
    fieldsets = (
        (None, {"fields": ("username", "password", "phone", "nickname", "email")}),
        (_("Role and access"), {"fields": ("role", "is_active", "is_staff", "is_superuser", "groups")}),
        (_("Dates"), {"fields": ("date_joined", "last_login", "privacy_consent_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "role", "password1", "password2")}),)

    def save_model(self, request, obj, form, change) -> None:
        """A role or sign-in changed here does what the team page does (audit, sign-out, open panels)."""
        before = User.objects.filter(pk=obj.pk).values("role", "is_active").first() if change else None
        super().save_model(request, obj, form, change)
        if before is not None:
            staff_changed(
                by=request.user, user=obj, before=before, after={"role": obj.role, "is_active": obj.is_active}
            )


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ("name", "slogan")


class PickupPointInline(admin.TabularInline):
    model = PickupPoint
    extra = 0
    autocomplete_fields = ("leader",)


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ("name", "brand", "join_gate", "capacity", "is_active")
    list_filter = ("brand", "join_gate", "is_active")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}
    inlines = [PickupPointInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "community", "role", "status", "joined_at")
    list_filter = ("community", "role", "status")
    search_fields = ("user__nickname", "user__phone")
    autocomplete_fields = ("user", "invited_by")
    list_select_related = ("user", "community")


@admin.register(PickupPoint)
class PickupPointAdmin(admin.ModelAdmin):
    list_display = ("name", "community", "address", "opening_hours", "leader", "is_active")
    list_filter = ("community", "is_active")
    search_fields = ("name", "address")
    autocomplete_fields = ("leader",)


@admin.register(PhoneCode)
class PhoneCodeAdmin(admin.ModelAdmin):
    # Codes are stored hashed; the admin only shows that a code was sent and what became of it.
    list_display = ("masked", "created_at", "expires_at", "used_at", "attempts")
    readonly_fields = [f.name for f in PhoneCode._meta.fields]

    @admin.display(description=_("phone"))
    def masked(self, obj: PhoneCode) -> str:
        return mask_phone(obj.phone)

    def has_add_permission(self, request) -> bool:
        return False


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    show_change_link = True


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):
    list_display = ("community", "threshold")
    inlines = [QuestionInline]


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 0


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("text", "questionnaire", "kind", "position")
    list_filter = ("kind",)
    inlines = [ChoiceInline]


@admin.register(Choice)
class ChoiceAdmin(admin.ModelAdmin):
    list_display = ("text", "question", "score")


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    # Reviews go through the review pages (community.services.application_review) so memberships follow.
    list_display = ("user", "community", "score", "status", "created_at", "reviewed_by")
    list_filter = ("community", "status")
    list_select_related = ("user", "community", "reviewed_by")
    readonly_fields = ("user", "community", "answers", "score", "status", "invited_by", "reviewed_by", "reviewed_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("code", "community", "inviter", "is_personal", "uses", "max_uses", "expires_at")
    list_filter = ("community", "is_personal")
    search_fields = ("code", "inviter__nickname")
    list_select_related = ("community", "inviter")
    autocomplete_fields = ("inviter",)
    readonly_fields = ("uses",)


# --- Daily rhythm: planned on the content calendar pages; the admin is for looking and fixing -------------------


@admin.register(Column)
class ColumnAdmin(admin.ModelAdmin):
    list_display = ("name", "community", "weekdays", "time_of_day", "is_active")
    list_filter = ("community", "is_active")
    list_select_related = ("community",)


class PostImageInline(admin.TabularInline):
    model = PostImage
    extra = 0
    fields = ("image", "width", "height", "position")
    readonly_fields = ("width", "height")


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    # Publishing goes through community.rhythm (the scheduler writes the feed entry with the status).
    list_display = ("title", "community", "column", "status", "scheduled_at", "published_at")
    list_filter = ("community", "status", "column")
    list_select_related = ("community", "column")
    search_fields = ("title", "text")
    readonly_fields = ("status", "published_at", "leader_copy")
    raw_id_fields = ("author",)
    inlines = [PostImageInline]


@admin.register(PostImage)
class PostImageAdmin(admin.ModelAdmin):
    list_display = ("image", "post", "width", "height", "position")
    list_select_related = ("post",)
    raw_id_fields = ("post",)


@admin.register(FeedItem)
class FeedItemAdmin(admin.ModelAdmin):
    list_display = ("title", "community", "kind", "source_key", "published_at")
    list_filter = ("community", "kind")
    list_select_related = ("community",)
    search_fields = ("title", "source_key")


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Flags change only through ``community.services.flags`` (operators' 黑名单 pages), which log every step."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Flag)
class FlagAdmin(_ReadOnlyAdmin):
    list_display = ("user", "brand", "reason", "flagged_at", "lifted_at")
    list_filter = ("brand",)
    raw_id_fields = ("user", "flagged_by", "lifted_by")


@admin.register(FlagLogEntry)
class FlagLogEntryAdmin(_ReadOnlyAdmin):
    list_display = ("user", "brand", "action", "actor", "at")
    list_filter = ("brand", "action")


@admin.register(ConsentRecord)
class ConsentRecordAdmin(_ReadOnlyAdmin):
    """Which privacy notice version each person accepted, and where (kept as evidence: read-only)."""

    list_display = ("user", "version", "source", "consented_at")
    list_filter = ("version", "source")
    raw_id_fields = ("user",)
