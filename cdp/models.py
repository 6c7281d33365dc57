"""The customer data platform's own records: saved segments, where a segment is used as an audience, and the
audit rows of what operators did with people's data (a phone shown in full, a KOC designated).

The models themselves (RFM cells, LTV, KOC score) are computed on read from the domain tables (see
``cdp/rfm.py``, ``cdp/koc.py``); nothing here copies an order or a watch record.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community.models import Brand, Community
from livestream.models import WarmupRound


class Segment(models.Model):
    """A saved rule (人群包) over the stream and the models, e.g. "watched ≥ 30 min of the last two lives and no
    order in 30 days". ``rule`` is the structured JSON the builder writes (``cdp/segments.py`` validates and
    compiles it); members are counted live, never stored."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=64)
    rule = models.JSONField(_("rule"), default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["brand", "name"], name="cdp_segment_unique_name_per_brand")]

    def __str__(self) -> str:
        return self.name


class RoundAudience(models.Model):
    """A warm-up round (or a targeted invitation, which is a round of its own) whose audience is a segment
    instead of whole communities. Read by the hook ``cdp.audiences`` registers with livestream; the segment's
    members are taken when the round is expanded, so the count is the one of its sending time."""

    round = models.OneToOneField(WarmupRound, on_delete=models.CASCADE, related_name="+", primary_key=True)
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="audiences")
    is_invitation = models.BooleanField(_("targeted invitation"), default=False)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(_("set at"), default=timezone.now)

    class Meta:
        verbose_name = _("segment audience")
        verbose_name_plural = _("segment audiences")

    def __str__(self) -> str:
        return f"{self.round_id} → {self.segment}"


class PhoneUnmask(models.Model):
    """An operator showed a member's full phone number on the member's page: who, whose, when (the audit
    trail the privacy notice promises)."""

    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("phone shown in full")
        verbose_name_plural = _("phones shown in full")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["member", "-at"])]

    def __str__(self) -> str:
        return f"{self.viewer_id} saw {self.member_id} at {self.at:%Y-%m-%d %H:%M}"


class KocDesignation(models.Model):
    """An operator made a member a KOC of a community from the KOC ranking, with the score and its reasons at
    that moment. The role itself is the community's (``community.services.membership_role_set``)."""

    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    score = models.FloatField(_("KOC score"))
    reasons = models.JSONField(_("reasons"), default=list)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("KOC designation")
        verbose_name_plural = _("KOC designations")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.member_id} KOC of {self.community_id}"
