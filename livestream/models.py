"""Live series (IP化) and sessions, with reservations (预约) and watch records."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from community.models import Brand, Community


class LiveSeries(models.Model):
    """A recurring show with its own identity, e.g. 《农场主来了》."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="live_series")
    title = models.CharField(_("title"), max_length=64)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("live series")
        verbose_name_plural = _("live series")
        constraints = [models.UniqueConstraint(fields=["brand", "title"], name="series_unique_title_per_brand")]

    def __str__(self) -> str:
        return self.title


class LiveSession(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        LIVE = "live", _("Live")
        ENDED = "ended", _("Ended")
        CANCELLED = "cancelled", _("Cancelled")

    series = models.ForeignKey(LiveSeries, on_delete=models.PROTECT, related_name="sessions")
    title = models.CharField(_("title"), max_length=100)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    scheduled_start = models.DateTimeField(_("scheduled start"))
    scheduled_end = models.DateTimeField(_("scheduled end"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    hosts = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="hosted_sessions", verbose_name=_("hosts"))
    assistants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="assisted_sessions", blank=True, verbose_name=_("assistants")
    )
    communities = models.ManyToManyField(Community, related_name="live_sessions", verbose_name=_("target communities"))
    perk_summary = models.CharField(_("perk summary"), max_length=200, blank=True)
    cover = models.ImageField(_("cover"), upload_to="live/covers/", blank=True)
    hls_url = models.URLField(_("HLS stream URL"), blank=True)
    channels_live_url = models.URLField(_("WeChat Channels live link"), blank=True)
    replay_url = models.URLField(_("replay link"), blank=True)

    class Meta:
        verbose_name = _("live session")
        verbose_name_plural = _("live sessions")
        ordering = ["-scheduled_start"]
        indexes = [models.Index(fields=["status", "scheduled_start"])]

    def __str__(self) -> str:
        return self.title


class Reservation(models.Model):
    """A member's reservation (预约) of an upcoming session."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="reservations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reservations")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="reservation_unique_per_member")]

    def __str__(self) -> str:
        return f"{self.user} → {self.session}"


class WatchRecord(models.Model):
    """How long one member watched one session, credited from player heartbeats."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="watch_records")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watch_records")
    first_seen_at = models.DateTimeField(_("first seen at"))
    last_seen_at = models.DateTimeField(_("last seen at"))
    seconds_watched = models.PositiveIntegerField(_("seconds watched"), default=0)

    class Meta:
        verbose_name = _("watch record")
        verbose_name_plural = _("watch records")
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="watch_record_unique_per_member")]

    def __str__(self) -> str:
        return f"{self.user} watched {self.session} for {self.seconds_watched}s"
