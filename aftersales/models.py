"""After-sales (售后): members' requests with SLA timers, their thread, and bulk refunds.

Money is not kept here: refunds and credits go through ``jielong.ledger`` (the ledger must be written in the
same transaction as a payment, which jielong marks and cannot import this app). This app sits above
fulfillment (a recorded shortage opens a request) and beside ``feedback``; nothing below imports it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from community.models import Brand, Community
from jielong.models import Order, OrderLine


class SlaSettings(models.Model):
    """A brand's after-sales promises (SLA): hours to a first answer and to a resolution. Past either, a request
    is overdue: shown in red and escalated to the operator."""

    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, primary_key=True, related_name="+")
    first_answer_hours = models.PositiveSmallIntegerField(_("first answer within (hours)"), default=4)
    resolution_hours = models.PositiveSmallIntegerField(_("resolved within (hours)"), default=48)

    class Meta:
        verbose_name = _("after-sales settings")
        verbose_name_plural = _("after-sales settings")

    def __str__(self) -> str:
        return f"{self.brand_id}: {self.first_answer_hours}h / {self.resolution_hours}h"


class Request(models.Model):
    """An after-sales request (售后申请) on one order: which items, why, what the member asks for."""

    class Reason(models.TextChoices):
        SHORTAGE = "shortage", _("Missing or short")
        QUALITY = "quality", _("Quality problem")
        NOT_RECEIVED = "not_received", _("Not received")
        WRONG_ITEM = "wrong_item", _("Wrong item")
        OTHER = "other", _("Other")

    class Ask(models.TextChoices):
        REFUND = "refund", _("Refund")
        REPLACEMENT = "replacement", _("Replacement")
        CREDIT = "credit", _("Store credit")

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for an answer")
        ANSWERED = "answered", _("In progress")
        RESOLVED = "resolved", _("Resolved")
        REJECTED = "rejected", _("Rejected")

    class Resolution(models.TextChoices):
        REFUND = "refund", _("Refunded")
        REPLACEMENT = "replacement", _("Replacement")
        CREDIT = "credit", _("Store credit")
        REJECTED = "rejected", _("Rejected")

    class Source(models.TextChoices):
        MEMBER = "member", _("Member")
        SHORTAGE = "shortage", _("Shortage recorded by fulfilment")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="aftersales_requests")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="aftersales_requests")
    source = models.CharField(_("opened by"), max_length=16, choices=Source.choices, default=Source.MEMBER)
    # The shortage's order line when fulfilment opened it: one request per short line, however often swept.
    shortage_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    ask = models.CharField(_("asks for"), max_length=16, choices=Ask.choices)
    asked_fen = models.PositiveIntegerField(_("amount asked (fen)"), default=0)
    description = models.TextField(_("what happened"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(_("opened at"))
    first_answer_due = models.DateTimeField(_("first answer due"))
    resolution_due = models.DateTimeField(_("resolution due"))
    first_answered_at = models.DateTimeField(_("first answered at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.CharField(_("resolution"), max_length=16, choices=Resolution.choices, blank=True)
    resolved_fen = models.PositiveIntegerField(_("amount (fen)"), default=0)
    resolution_note = models.CharField(_("resolution note"), max_length=200, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("after-sales request")
        verbose_name_plural = _("after-sales requests")
        ordering = ["-opened_at", "-pk"]
        indexes = [models.Index(fields=["brand", "status", "opened_at"]), models.Index(fields=["community", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["shortage_line"], condition=Q(shortage_line__isnull=False), name="aftersales_one_per_shortage"
            ),
            # A double tap on 提交 cannot open two: one open member request per order at a time.
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(source="member", status__in=["open", "answered"]),
                name="aftersales_one_open_per_order",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.order_id}"

    @property
    def is_closed(self) -> bool:
        return self.status in (self.Status.RESOLVED, self.Status.REJECTED)

    def is_overdue(self, *, at) -> bool:
        if self.is_closed:
            return False
        return at > self.resolution_due or (self.first_answered_at is None and at > self.first_answer_due)


class RequestLine(models.Model):
    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("after-sales item")
        verbose_name_plural = _("after-sales items")
        constraints = [
            models.UniqueConstraint(fields=["request", "order_line"], name="aftersales_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="aftersales_line_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.order_line_id} ×{self.quantity}"


class RequestPhoto(models.Model):
    """A photo of the problem, stored resized and without EXIF (``groupbuy.images``)."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("photo"), upload_to="aftersales/")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("after-sales photo")
        verbose_name_plural = _("after-sales photos")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.image.name


class RequestMessage(models.Model):
    """The request's thread: what the member, leader and operator wrote, and each step (opened, escalated,
    resolved) as the member sees it."""

    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message")
        STEP = "step", _("Step")

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.MESSAGE)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    is_staff = models.BooleanField(default=False)
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("sent at"))

    class Meta:
        verbose_name = _("after-sales message")
        verbose_name_plural = _("after-sales messages")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.body[:20]}"


class BulkRefund(models.Model):
    """A bulk refund (批量退款) of a campaign or a delivery day's pickup point, confirmed once from its preview.
    ``key`` makes the confirmation idempotent: a second post of the same preview refunds nothing more."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=40, unique=True)
    scope = models.CharField(_("what was refunded"), max_length=200)
    reason = models.CharField(_("reason"), max_length=200)
    orders = models.PositiveIntegerField(_("orders"))
    total_fen = models.PositiveIntegerField(_("total (fen)"))
    created_at = models.DateTimeField(_("refunded at"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("bulk refund")
        verbose_name_plural = _("bulk refunds")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.scope
