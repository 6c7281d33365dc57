"""The media pipeline of a live session (智能直播): ingest, push to many (多端推流), recordings and chapters.

One :class:`Stream` per session holds its public stream name and the current key (推流密钥); nginx-rtmp
asks the app (``callbacks``) whether an encoder with that key may publish. :class:`Destination` rows are
the places the stream is pushed to while the session is live (视频号 or any RTMP URL), each with the
status its relay reports. Every publish is recorded: one :class:`Recording` per encoder connection, turned
into a seekable MP4 by the worker after the connection ends. :class:`Chapter` rows are the product
explanations (讲解) of the session, from pin to unpin, in wall-clock time; a recording maps them to offsets.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalogue.models import SKU
from livestream.models import LiveSession


class Stream(models.Model):
    """The ingest point of one session: ``rtmp://…/live/<name>?key=<key>``.

    ``name`` is public (it names the HLS playlist members load); ``key`` is the secret, shown only to the
    session's hosts. Rotating the key replaces it: the old key stops working at once and an encoder still
    publishing with it is cut off at nginx's next update call.
    """

    session = models.OneToOneField(LiveSession, on_delete=models.CASCADE, related_name="media_stream")
    name = models.CharField(_("stream name"), max_length=32, unique=True)
    key = models.CharField(_("stream key"), max_length=64)
    key_created_at = models.DateTimeField(_("key created at"), default=timezone.now)
    # The encoder connection nginx admitted last (its client id), while it publishes.
    is_connected = models.BooleanField(_("encoder connected"), default=False)
    client_id = models.CharField(max_length=32, blank=True)
    encoder_addr = models.CharField(_("encoder address"), max_length=64, blank=True)
    connected_at = models.DateTimeField(_("connected at"), null=True, blank=True)
    # Last word from nginx about that connection (publish or update): a connection silent for long is gone
    # even if its publish-done call was lost.
    seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True)
    disconnected_at = models.DateTimeField(_("disconnected at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stream")
        verbose_name_plural = _("streams")

    def __str__(self) -> str:
        return f"{self.session} ({self.name})"


class Destination(models.Model):
    """Where the session's stream is pushed while it is live (多端推流): 视频号 or any RTMP(S) URL."""

    class Kind(models.TextChoices):
        CHANNELS = "channels", _("WeChat Channels")
        RTMP = "rtmp", _("Other RTMP")

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")  # not pushing: the session is not live, no encoder, or disabled
        CONNECTING = "connecting", _("Connecting")
        LIVE = "live", _("Live")
        RETRYING = "retrying", _("Retrying")
        FAILED = "failed", _("Failed")

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="media_destinations")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.RTMP)
    label = models.CharField(_("name"), max_length=40)
    url = models.CharField(_("push URL"), max_length=300)
    stream_key = models.CharField(_("stream key"), max_length=300, blank=True)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.WAITING)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("push destination")
        verbose_name_plural = _("push destinations")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.session} → {self.label}"

    @property
    def target(self) -> str:
        """The full URL the relay publishes to: the push URL, plus the stream key as its last path part."""
        if not self.stream_key:
            return self.url
        return f"{self.url.rstrip('/')}/{self.stream_key.lstrip('/')}"


class Recording(models.Model):
    """One encoder connection's recording (FLV from nginx), turned into a seekable MP4 (回放) by the worker.

    ``started_at``/``ended_at`` are wall-clock times of the first and last frame as the platform saw them
    (publish and publish-done), so engagement at time *t* is at ``offset(t)`` seconds into the MP4.
    """

    class Status(models.TextChoices):
        RECORDING = "recording", _("Recording")
        PROCESSING = "processing", _("Processing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")  # past retention: the files are gone

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="recordings")
    client_id = models.CharField(max_length=32, blank=True)
    source_path = models.CharField(_("source file"), max_length=500, blank=True)
    mp4 = models.FileField(_("MP4"), upload_to="recordings/", max_length=300, blank=True)
    duration_seconds = models.FloatField(_("duration (s)"), null=True, blank=True)
    size_bytes = models.BigIntegerField(_("size (bytes)"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECORDING)
    error = models.CharField(_("error"), max_length=300, blank=True)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recording")
        verbose_name_plural = _("recordings")
        ordering = ["started_at", "pk"]
        indexes = [models.Index(fields=["status", "ready_at"])]

    def __str__(self) -> str:
        return f"{self.session} @ {self.started_at:%Y-%m-%d %H:%M:%S}"

    def offset(self, at: datetime) -> float:
        """Seconds into the MP4 at wall-clock ``at`` (may be negative or past the end)."""
        return (at - self.started_at).total_seconds()


class Chapter(models.Model):
    """A product explanation (讲解) of the session: from pinning the product to unpinning it (or the next pin,
    or the end). Wall-clock times; a recording turns them into offsets."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="chapters")
    sku = models.ForeignKey(SKU, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    title = models.CharField(_("title"), max_length=100)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("chapter")
        verbose_name_plural = _("chapters")
        ordering = ["started_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["session"], condition=Q(ended_at__isnull=True), name="chapter_one_open")
        ]

    def __str__(self) -> str:
        return f"{self.session}: {self.title}"
