"""Webhook endpoints of a brand, the deliveries owed to them and every attempt to send one.

A delivery is one stream event (``groupbuy.stream.Event``) for one endpoint: its body is written once, when
the fan-out (``webhooks.fanout``) creates it, so every attempt and every manual replay sends the same bytes
under the same event id (``X-Groupbuy-Event-Id``), which receivers deduplicate on."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community.models import Brand
from groupbuy.sealed import SealedCharField


class Endpoint(models.Model):
    """Where a brand wants its facts sent: a URL, the event types it asked for, and the secret that signs them."""

    class DisabledReason(models.TextChoices):
        OPERATOR = "operator", _("Disabled by an operator")
        FAILING = "failing", _("Disabled after repeated failures")

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=100, blank=True)
    # Wire names (``webhooks.catalog.TYPES``), e.g. ["order.created", "order.paid"].
    event_types = models.JSONField(_("event types"), default=list)
    # Signing needs the secret itself (HMAC), so it cannot be stored hashed: it is stored sealed (encrypted
    # under a key derived from SECRET_KEY, ``groupbuy.sealed``). Shown once.
    secret = SealedCharField(max_length=255)
    # After a rotation the old secret signs too (a second ``v1=``) until this time, so receivers can switch.
    previous_secret = SealedCharField(max_length=255, blank=True, default="")
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=16, choices=DisabledReason.choices, blank=True, default="")
    # Failed attempts in a row (any delivery) and when the run began; a success resets both.
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    @property
    def secret_hint(self) -> str:
        """What the console shows after the secret's one showing: its prefix and last four characters."""
        return f"{self.secret[:6]}…{self.secret[-4:]}" if self.secret else ""

    @property
    def is_auto_disabled(self) -> bool:
        return not self.is_active and self.disabled_reason == self.DisabledReason.FAILING


class Delivery(models.Model):
    """One event owed to one endpoint, with its body as first written and its retry schedule."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The event id receivers deduplicate on: the stream row's uuid (a random one for a test event).
    event_uuid = models.UUIDField(_("event id"), default=uuid.uuid4)
    event_type = models.CharField(_("event type"), max_length=40)
    stream_event_id = models.BigIntegerField(null=True, blank=True)  # plain id: the stream outlives nothing
    body = models.TextField()
    is_test = models.BooleanField(default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    # When the next attempt is due (PENDING only). A sender claims a delivery by moving this past its
    # lease (``lease``), so a second sender skips it while the first one's POST is in flight.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)  # every attempt, replays included
    tries = models.PositiveIntegerField(default=0)  # attempts since it was queued (or replayed): the backoff's n
    replays = models.PositiveIntegerField(default=0)
    is_replay_queued = models.BooleanField(default=False)  # the next attempt is an operator's replay
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            # One delivery per event and endpoint: the fan-out may see a row many times (ON CONFLICT DO NOTHING).
            models.UniqueConstraint(fields=["endpoint", "event_uuid"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_uuid} → {self.endpoint_id}"


class Attempt(models.Model):
    """One POST of a delivery: what came back and how long it took."""

    class Outcome(models.TextChoices):
        OK = "ok", _("Delivered")
        HTTP_ERROR = "http_error", _("Error response")
        TIMEOUT = "timeout", _("Timed out")
        CONNECTION = "connection", _("Could not connect")
        REFUSED = "refused", _("Address refused")

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    is_replay = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True, default="")
    error = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_number_once")]

    def __str__(self) -> str:
        return f"#{self.number} {self.outcome}"
