"""The customer data platform's records: the event stream as analytics reads it, and identity.

``Event`` is a proxy of the kernel's ``stream.Event`` (table ``stream_event``): the stream is written by
``groupbuy.events.publish`` in the publishing transaction, not by analytics. Its fields for readers
(and the BI app): ``name``, ``occurred_at``, ``received_at``, ``user`` (the account that did it),
``person_id`` (an ``analytics.Person``, filled in by ``identity.resolve_events`` shortly after the
write — null until then, so read a person's events with ``identity.person_events``), ``distinct_id``,
``source``, ``community_id``, ``live_session_id``, ``campaign_id``, ``order_id``, ``amount_fen``,
``properties`` (the event's other fields, as before), ``uuid`` (idempotency).

Identity: a ``Person`` per human, with ``DistinctId`` rows (the account, phone, WeChat openid/unionid,
anonymous device ids). ``PersonMerge`` is the audit record of every merge (automatic for an anonymous
device on sign-in; by an operator for two identified persons — never automatic).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from groupbuy.stream.models import Event as StreamEvent


class Event(StreamEvent):
    class Meta:
        proxy = True
        verbose_name = _("event")
        verbose_name_plural = _("events")


class Person(models.Model):
    """One human across channels. Identified when it has an account (``user``); anonymous otherwise
    (only device ids). A merged person points at the one it went into and owns nothing any more."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="cdp_person"
    )
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self) -> str:
        return f"person {self.pk}" + (f" (user {self.user_id})" if self.user_id else "")

    @property
    def is_identified(self) -> bool:
        return self.user_id is not None


class DistinctId(models.Model):
    """One of a person's ids, as ``<kind>:<value>`` (the form the stream's ``distinct_id`` takes)."""

    class Kind(models.TextChoices):
        ACCOUNT = "user", _("Account")
        PHONE = "phone", _("Phone")
        WECHAT_OPENID = "openid", _("WeChat openid")
        WECHAT_UNIONID = "unionid", _("WeChat unionid")
        DEVICE = "device", _("Device")

    value = models.CharField(_("distinct id"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="distinct_ids")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("distinct id")
        verbose_name_plural = _("distinct ids")
        indexes = [models.Index(fields=["person", "kind"])]

    def __str__(self) -> str:
        return self.value


class PersonMerge(models.Model):
    """The audit record of a merge: ``absorbed`` went into ``kept`` with its ids and its events."""

    kept = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="merges_kept")
    absorbed = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="merges_absorbed")
    automatic = models.BooleanField(_("automatic"), default=False)  # an anonymous device on sign-in
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.TextField(_("reason"), blank=True)
    distinct_ids = models.JSONField(default=list)  # the ids that moved
    events = models.PositiveIntegerField(default=0)  # the stream rows that moved
    at = models.DateTimeField(_("merged at"), default=timezone.now)

    class Meta:
        verbose_name = _("person merge")
        verbose_name_plural = _("person merges")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.absorbed_id} → {self.kept_id}"
