"""The one event stream every app feeds (CDP): reservations, watching, joins, pickups, reviews."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    name = models.CharField(_("event"), max_length=64)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Plain ids, not foreign keys: the stream must outlive the rows it mentions and stay cheap to write.
    community_id = models.BigIntegerField(null=True, blank=True)
    live_session_id = models.BigIntegerField(null=True, blank=True)
    campaign_id = models.BigIntegerField(null=True, blank=True)
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            models.Index(fields=["name", "occurred_at"]),
            models.Index(fields=["user", "occurred_at"]),
            models.Index(fields=["live_session_id", "name"]),
            models.Index(fields=["campaign_id", "name"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.occurred_at:%Y-%m-%d %H:%M}"
