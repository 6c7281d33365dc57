"""A member's personal-information requests (PIPL 个人信息权利): each download of their data, and deletion.

Neither table holds personal information of its own: an export row says who downloaded how much, when; a
deletion request, once done, is the deletion record — the (anonymised) account it was, dates, a reference
the member was given, and counts of what was removed or kept.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DataExport(models.Model):
    """One download of "my data" (下载我的数据): the file itself is made on the fly and not kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("downloaded at"))
    size_bytes = models.PositiveIntegerField(_("size (bytes)"), default=0)
    # {"orders": 3, "events": 120, ...}: how many records of each kind the file held.
    counts = models.JSONField(_("records"), default=dict, blank=True)

    class Meta:
        verbose_name = _("data download")
        verbose_name_plural = _("data downloads")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="privacy_export_user_at")]

    def __str__(self) -> str:
        return f"#{self.pk}"


class DeletionRequest(models.Model):
    """A member asked for their account to be deleted (注销账号). It waits out a cooling-off period during which
    they may cancel; then (or earlier, when an operator processes it) the account is anonymised and this row
    becomes the deletion record: no phone, no name — the anonymised account, dates and ``summary`` counts."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Cooling off")
        CANCELLED = "cancelled", _("Cancelled")
        DONE = "done", _("Anonymised")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # What the member is told to quote (and the pseudonym their anonymised account takes: deleted-<reference>).
    reference = models.CharField(_("reference"), max_length=16, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(_("requested at"))
    due_at = models.DateTimeField(_("anonymised from"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    processed_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)
    processed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Why a due request has not been processed yet (an order came in during the cooling-off, ...).
    waiting_reason = models.CharField(_("waiting for"), max_length=300, blank=True)
    # {"orders_kept": 3, "comments_cleared": 5, ...}: counts only.
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        verbose_name = _("deletion request")
        verbose_name_plural = _("deletion requests")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="pending"), name="privacy_one_pending_deletion"
            ),
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="privacy_deletion_due")]

    def __str__(self) -> str:
        return self.reference
