"""Live series (IP化) and sessions, with reservations (预约) and watch records."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalogue.models import SKU
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
    # Highest concurrent online count seen from heartbeats (kept live in Redis, saved here as it grows).
    peak_online = models.PositiveIntegerField(_("peak concurrency"), default=0)
    # The product being explained (讲解中): the SKU plus a display snapshot taken when it was pinned, so
    # the room shows what the host picked even if the campaign's price changes later.
    pinned_sku = models.ForeignKey(
        SKU, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("pinned product")
    )
    pinned_name = models.CharField(_("pinned product name"), max_length=100, blank=True)
    pinned_price_fen = models.PositiveIntegerField(_("pinned product price (fen)"), null=True, blank=True)
    pinned_image_url = models.CharField(_("pinned product image"), max_length=300, blank=True)
    pinned_at = models.DateTimeField(_("pinned at"), null=True, blank=True)
    # 发布接龙: the host asked for the jielong during the live; the jielong app opens it and reports back.
    jielong_requested_at = models.DateTimeField(_("jielong requested at"), null=True, blank=True)
    jielong_campaign_id = models.BigIntegerField(_("opened jielong"), null=True, blank=True)
    jielong_opened_at = models.DateTimeField(_("jielong opened at"), null=True, blank=True)

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


class WarmupRound(models.Model):
    """One announcement round of a session's warm-up plan (预热), e.g. the D-2 teaser poster (悬念海报).

    A due round is expanded once into :class:`Delivery` rows (one per recipient and channel), which a
    periodic task sends; see ``livestream/warmup/delivery.py``.
    """

    class Kind(models.TextChoices):
        TEASER = "teaser", _("Teaser poster")
        STORY = "story", _("Story post")
        REMINDER = "reminder", _("Reminder")
        LIVE_NOW = "live_now", _("Live now")
        CANCELLED = "cancelled", _("Cancellation notice")

    class Audience(models.TextChoices):
        RESERVED = "reserved", _("Members who reserved")
        COMMUNITIES = "communities", _("Target communities")
        KOCS = "kocs", _("KOCs of the target communities")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        EXPANDED = "expanded", _("Delivering")
        CANCELLED = "cancelled", _("Cancelled")

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="warmup_rounds")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # Before the scheduled start; null for a round with a fixed time. Rescheduling shifts pending rounds either way.
    offset = models.DurationField(_("before the start"), null=True, blank=True)
    send_at = models.DateTimeField(_("send at"))
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"), blank=True)
    has_poster = models.BooleanField(_("poster"), default=False)
    teaser_video_url = models.URLField(_("teaser video link"), blank=True)
    audience = models.CharField(_("audience"), max_length=16, choices=Audience.choices, default=Audience.COMMUNITIES)
    send_sms = models.BooleanField(_("also by SMS"), default=False)
    leader_copy = models.BooleanField(_("copy for the leaders' WeChat groups"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    expanded_at = models.DateTimeField(_("expanded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("warm-up round")
        verbose_name_plural = _("warm-up rounds")
        ordering = ["send_at", "pk"]
        indexes = [models.Index(fields=["status", "send_at"])]

    def __str__(self) -> str:
        return f"{self.session} · {self.get_kind_display()} @ {self.send_at:%Y-%m-%d %H:%M}"


class Delivery(models.Model):
    """One round to one recipient over one channel. The unique constraint is the "exactly once" rule."""

    class Channel(models.TextChoices):
        INBOX = "inbox", _("In-app inbox")
        SMS = "sms", _("SMS")
        LEADER_COPY = "leader_copy", _("Leader's group copy")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")  # the session was cancelled or ended before this went out

    round = models.ForeignKey(WarmupRound, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    text = models.TextField(_("text"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # A claimed (sending) row whose worker died is picked up again once its lease has run out.
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["round", "user", "channel"], name="delivery_once_per_recipient_channel")
        ]
        indexes = [models.Index(fields=["status", "lease_until"])]

    def __str__(self) -> str:
        return f"{self.round} → {self.user} ({self.channel})"


class Notification(models.Model):
    """A message in a member's in-app inbox (站内信)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    # Set when the message came from a warm-up delivery: at most one inbox message per delivery.
    delivery = models.OneToOneField(
        Delivery, on_delete=models.SET_NULL, null=True, blank=True, related_name="notification"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.user}: {self.title}"


class ViewerSample(models.Model):
    """How many members were online in one minute of a session (from heartbeats)."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="viewer_samples")
    minute = models.DateTimeField(_("minute"))
    online = models.PositiveIntegerField(_("online"), default=0)

    class Meta:
        verbose_name = _("viewer sample")
        verbose_name_plural = _("viewer samples")
        constraints = [models.UniqueConstraint(fields=["session", "minute"], name="viewer_sample_once_per_minute")]

    def __str__(self) -> str:
        return f"{self.session} {self.minute:%H:%M}: {self.online}"


class Comment(models.Model):
    """A member's comment or question (提问) in the live room."""

    MAX_LENGTH = 200

    class Kind(models.TextChoices):
        COMMENT = "comment", _("Comment")
        QUESTION = "question", _("Question")

    class Status(models.TextChoices):
        VISIBLE = "visible", _("Visible")
        HIDDEN = "hidden", _("Hidden")

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="comments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="live_comments")
    text = models.CharField(_("text"), max_length=MAX_LENGTH)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.COMMENT)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.VISIBLE)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Question triage by the assistant: picked for the host, answered, or merged into a duplicate.
    picked_at = models.DateTimeField(_("picked at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="duplicates",
        verbose_name=_("merged into"),
    )
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("live comment")
        verbose_name_plural = _("live comments")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["session", "kind", "status", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=~Q(merged_into=models.F("id")), name="comment_not_merged_into_itself")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.session}: {self.text[:20]}"


class Mute(models.Model):
    """A member muted (禁言) in one session, or by an operator in a whole community."""

    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, null=True, blank=True, related_name="mutes")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="live_mutes")
    muted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("mute")
        verbose_name_plural = _("mutes")
        constraints = [
            models.CheckConstraint(
                condition=Q(session__isnull=False, community__isnull=True)
                | Q(session__isnull=True, community__isnull=False),
                name="mute_session_xor_community",
            ),
            models.UniqueConstraint(
                fields=["session", "user"], condition=Q(session__isnull=False), name="mute_once_per_session"
            ),
            models.UniqueConstraint(
                fields=["community", "user"], condition=Q(community__isnull=False), name="mute_once_per_community"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} muted in {self.session or self.community}"


class BannedWord(models.Model):
    """A word the operator blocks from a brand's live rooms (违禁词)."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="banned_words")
    word = models.CharField(_("word"), max_length=32)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("blocked word")
        verbose_name_plural = _("blocked words")
        ordering = ["word"]
        constraints = [models.UniqueConstraint(fields=["brand", "word"], name="banned_word_unique_per_brand")]

    def __str__(self) -> str:
        return self.word
