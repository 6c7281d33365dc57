"""Feedback (反馈): reviews (晒单) after pickup, shown as social proof, and the NPS survey per delivered campaign.

It sits above fulfillment (a pickup makes an order reviewable and sends the survey) and beside ``aftersales``;
nothing below imports it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from community.models import Brand, Community
from jielong.models import Campaign, Order


class Review(models.Model):
    """A member's review of one picked-up order (晒单): stars, words and photos. One per order."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="review")
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="reviews")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews")
    rating = models.PositiveSmallIntegerField(_("rating"))
    text = models.TextField(_("review"), blank=True)
    photo_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("posted at"))
    # Hidden by the operator (abuse, a neighbour's face, a wrong product): hidden everywhere, kept for the record.
    hidden_at = models.DateTimeField(_("hidden at"), null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    hidden_reason = models.CharField(_("reason for hiding"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5"),
        ]
        indexes = [
            models.Index(fields=["campaign", "-created_at"]),
            models.Index(fields=["community", "-created_at"]),
            models.Index(fields=["brand", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.rating}★"

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class ReviewPhoto(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("photo"), upload_to="reviews/")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("review photo")
        verbose_name_plural = _("review photos")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.image.name


class NpsSurvey(models.Model):
    """One NPS question per member per delivered campaign, made when the member picked up (the durable record
    the inbox message is sent from); answered once."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="nps_surveys")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="nps_surveys")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="nps_surveys")
    created_at = models.DateTimeField(_("asked at"))
    notified_at = models.DateTimeField(_("told at"), null=True, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("NPS survey")
        verbose_name_plural = _("NPS surveys")
        constraints = [
            models.UniqueConstraint(fields=["user", "campaign"], name="nps_once_per_member_campaign"),
            models.CheckConstraint(condition=Q(score__isnull=True) | Q(score__lte=10), name="nps_score_0_to_10"),
        ]
        indexes = [
            models.Index(fields=["brand", "answered_at"]),
            models.Index(fields=["notified_at"], condition=Q(notified_at__isnull=True), name="nps_to_notify"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.campaign_id}: {self.score}"
