"""The audit log's one table. Plain ids for the brand and the target (the kernel knows no app, and the log
outlives what it mentions); the actor is a foreign key without a database constraint, like the stream's user,
so deleting or anonymising a person never fails on their entries (the actor's name at the time is kept)."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Entry(models.Model):
    """Who did which sensitive thing (``action``, a stable dotted code), to what, when, from where, and
    what changed (``before``/``after``: only the changed fields, phone numbers masked). Append-only."""

    at = models.DateTimeField(_("when"), default=timezone.now)
    action = models.CharField(_("action"), max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(_("by (name then)"), max_length=100, blank=True, default="")
    # Where: the client's address and browser for a page, "api token <prefix>", "system" or "command <name>".
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=255, blank=True, default="")
    via = models.CharField(_("via"), max_length=80, blank=True, default="")
    brand_id = models.BigIntegerField(_("brand"), null=True, blank=True)
    target_type = models.CharField(_("target type"), max_length=64, blank=True, default="")
    target_id = models.CharField(_("target id"), max_length=64, blank=True, default="")
    target_label = models.CharField(_("target"), max_length=200, blank=True, default="")
    before = models.JSONField(_("before"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("after"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    note = models.CharField(_("note"), max_length=500, blank=True, default="")

    class Meta:
        db_table = "audit_entry"
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["brand_id", "-at"], name="audit_brand_at"),
            models.Index(fields=["action", "-at"], name="audit_action_at"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id or self.via} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def place(self) -> str:
        """The place in one line: "203.0.113.7 · Mozilla/5.0 …", "api token gb_3f9a · 203.0.113.7", "system"."""
        return " · ".join(part for part in (self.via, self.ip or "", self.user_agent) if part)
