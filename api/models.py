"""Integration tokens and the idempotency records of the public API."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from community.models import Brand


class ApiToken(models.Model):
    """A brand's key for one integration (an ERP, a spreadsheet, a mini-program). Shown once when made;
    only a sha256 of it is kept (the secret has 256 bits, so a plain hash is enough). ``prefix`` is the
    visible start that tells tokens apart in the console and in logs."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("brand"))
    name = models.CharField(_("name"), max_length=64)
    scopes = models.JSONField(_("scopes"), default=list)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotencyRecord(models.Model):
    """The answer given to a POST with an ``Idempotency-Key``: the same key with the same request gets the
    same answer again and nothing happens twice; the same key with another request is refused. The unique
    constraint is what makes two concurrent requests with one key produce one effect: the second insert
    waits for the first transaction and then finds its record."""

    owner = models.CharField(max_length=40)  # "token:<pk>" or "user:<pk>": keys are per caller
    key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="api_idempotency_unique_key")]
        indexes = [models.Index(fields=["created_at"], name="api_idempotency_created")]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"
