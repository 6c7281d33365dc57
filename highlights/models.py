"""Highlights (精彩片段): short clips of a live's recording, cut where the room came alive.

The worker plans a recording's clips once (:class:`ClipPlan`), from its engagement peaks, its product
explanations and the jielong launch (``highlights/peaks.py``), and cuts each to an MP4 with a thumbnail.
The operator reviews them: renames, trims, publishes, and attaches a published clip to a campaign page
("看回放·老李讲上海青") and to a warm-up round of the next session.

It sits above ``media`` (the recordings) and ``jielong`` (orders, campaigns); nothing below imports it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jielong.models import Campaign
from livestream.models import LiveSession, WarmupRound
from media.models import Recording


class ClipPlan(models.Model):
    """The one planning of a recording's clips: the "only once" behind a redelivered or repeated task."""

    recording = models.OneToOneField(Recording, on_delete=models.CASCADE, related_name="clip_plan")
    planned_at = models.DateTimeField(_("planned at"))
    clip_count = models.PositiveIntegerField(_("clips"), default=0)

    class Meta:
        verbose_name = _("clip plan")
        verbose_name_plural = _("clip plans")

    def __str__(self) -> str:
        return f"{self.recording}: {self.clip_count}"


class Clip(models.Model):
    class Kind(models.TextChoices):
        PEAK = "peak", _("Engagement peak")
        PRODUCT = "product", _("Product explanation")
        LAUNCH = "launch", _("Jielong launch")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    class RenderState(models.TextChoices):
        PENDING = "pending", _("Being cut")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="clips")
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="clips")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=60)
    # Seconds into the recording's MP4. ``peak_s`` is where the thumbnail is taken.
    start_s = models.FloatField(_("start (s)"))
    end_s = models.FloatField(_("end (s)"))
    peak_s = models.FloatField(_("thumbnail at (s)"))
    score = models.FloatField(_("score"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    render_state = models.CharField(_("file"), max_length=16, choices=RenderState.choices, default=RenderState.PENDING)
    render_error = models.CharField(_("error"), max_length=300, blank=True)
    # When the current window was asked for (planned or trimmed): the sweep leaves younger ones to their task.
    render_requested_at = models.DateTimeField(default=timezone.now)
    video = models.FileField(_("video"), upload_to="highlights/", max_length=300, blank=True)
    thumbnail = models.FileField(_("thumbnail"), upload_to="highlights/", max_length=300, blank=True)
    # Where a published clip is shown: a campaign page and a warm-up round of a later session.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("campaign")
    )
    warmup_round = models.ForeignKey(
        WarmupRound, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("warm-up round")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("clip")
        verbose_name_plural = _("clips")
        ordering = ["start_s", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(end_s__gt=models.F("start_s")), name="clip_ends_after_start"),
            models.CheckConstraint(condition=Q(start_s__gte=0), name="clip_starts_in_recording"),
        ]
        indexes = [
            models.Index(fields=["session", "start_s"]),
            models.Index(fields=["campaign", "status"]),
            models.Index(fields=["render_state"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED
