"""The event stream's rows. Plain ids, not foreign keys (but ``user``, kept for the readers that filter
on it, without a database constraint): the stream outlives the rows it mentions and stays cheap to write."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    """One fact, as it happened. Append-only; ``person_id`` is filled in after the fact (identity)."""

    # ``id`` orders the stream (consumers read it by id); ``uuid`` makes a retried write idempotent.
    uuid = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("event"), max_length=64)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    # The person (analytics.Person) the event belongs to, once identity has resolved its distinct id.
    person_id = models.BigIntegerField(_("person"), null=True, blank=True)
    # Who did it, as the channel knows them: "user:<id>" when signed in, "device:<uuid>" before.
    distinct_id = models.CharField(_("distinct id"), max_length=100, blank=True, default="")
    # The channel it came through: live, community, mall (jielong and after it), share (a link opened).
    source = models.CharField(_("source"), max_length=32, blank=True, default="")
    community_id = models.BigIntegerField(null=True, blank=True)
    live_session_id = models.BigIntegerField(null=True, blank=True)
    campaign_id = models.BigIntegerField(null=True, blank=True)
    order_id = models.BigIntegerField(null=True, blank=True)
    amount_fen = models.BigIntegerField(_("amount (fen)"), null=True, blank=True)
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "stream_event"
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            models.Index(fields=["name", "occurred_at"], name="stream_name_occurred"),
            models.Index(fields=["user", "occurred_at"], name="stream_user_occurred"),
            models.Index(fields=["person_id", "occurred_at"], name="stream_person_occurred"),
            models.Index(fields=["live_session_id", "name"], name="stream_live_name"),
            models.Index(fields=["campaign_id", "name"], name="stream_campaign_name"),
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if kwargs and not args:  # made in code (a row read from the database comes positionally)
            self._fill_envelope()

    def __str__(self) -> str:
        return f"{self.name} @ {self.occurred_at:%Y-%m-%d %H:%M}"

    def _fill_envelope(self) -> None:
        """A row written directly (the demo's history, ``analytics.services``) gets the envelope columns
        the mapping in ``envelope.row`` would give it: the source, the user's distinct id, the order and
        the amount from its properties."""
        from .envelope import AMOUNT_FIELDS, default_source, distinct_id_of_user

        if not self.source and self.name:
            self.source = default_source(self.name)
        if not self.distinct_id and self.user_id:
            self.distinct_id = distinct_id_of_user(self.user_id)
        properties = self.properties if isinstance(self.properties, dict) else {}
        if self.order_id is None and type(properties.get("order_id")) is int:
            self.order_id = properties["order_id"]
        if self.amount_fen is None:
            self.amount_fen = next((properties[f] for f in AMOUNT_FIELDS if type(properties.get(f)) is int), None)


class Cursor(models.Model):
    """How far a durable consumer of the stream has read (the last ``Event.id`` it handled)."""

    name = models.CharField(max_length=64, primary_key=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "stream_cursor"

    def __str__(self) -> str:
        return f"{self.name} @ {self.position}"
