"""Help-sellers (帮卖), the touches and attributions of their links, commission rules and settlement statements.

The money itself is in ``jielong.LedgerEntry`` (kinds ``commission`` and ``clawback``, with a payee); a
statement names the ledger entries it settled, each at most once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from community.models import Brand
from jielong.models import Campaign, LedgerEntry, Order


class RuleKind(models.TextChoices):
    PERCENT = "percent", _("Percentage of the item price")
    FIXED = "fixed", _("Fixed amount per unit")


class BrandCommission(models.Model):
    """A brand's defaults: how long a link's touch counts, and the leaders' pickup-point commission."""

    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, primary_key=True, related_name="+")
    attribution_days = models.PositiveSmallIntegerField(_("attribution window (days)"), default=7)
    leader_rate_bp = models.PositiveIntegerField(_("leader commission (basis points)"), default=0)

    class Meta:
        verbose_name = _("commission defaults")
        verbose_name_plural = _("commission defaults")
        constraints = [
            models.CheckConstraint(condition=Q(leader_rate_bp__lte=10000), name="fission_brand_leader_rate_max"),
        ]

    def __str__(self) -> str:
        return f"{self.brand_id}: {self.attribution_days} days, leader {self.leader_rate_bp} bp"


class CommissionRule(models.Model):
    """A campaign's commission: the help-sellers' default (a percentage of the item price, or fixed fen per
    unit) and the leaders' pickup-point rate (empty: the brand's default)."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, primary_key=True, related_name="+")
    kind = models.CharField(
        _("help-seller commission"), max_length=8, choices=RuleKind.choices, default=RuleKind.PERCENT
    )
    rate_bp = models.PositiveIntegerField(_("rate (basis points)"), default=0)
    fixed_fen = models.PositiveIntegerField(_("per unit (fen)"), default=0)
    leader_rate_bp = models.PositiveIntegerField(_("leader commission (basis points)"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("commission rule")
        verbose_name_plural = _("commission rules")
        constraints = [
            models.CheckConstraint(condition=Q(rate_bp__lte=10000), name="fission_rule_rate_max"),
            models.CheckConstraint(condition=Q(leader_rate_bp__lte=10000), name="fission_rule_leader_rate_max"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.kind} {self.rate_bp} bp / {self.fixed_fen} fen"


class HelpSeller(models.Model):
    """A person the operator invited to sell a campaign (帮卖): a leader of another community, a KOC. Their share
    link carries ``token``; their own rule, when set, replaces the campaign's default."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="help_sellers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="help_selling")
    token = models.CharField(max_length=16, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    kind = models.CharField(_("own commission"), max_length=8, choices=RuleKind.choices, blank=True)
    rate_bp = models.PositiveIntegerField(_("rate (basis points)"), null=True, blank=True)
    fixed_fen = models.PositiveIntegerField(_("per unit (fen)"), null=True, blank=True)
    invited_at = models.DateTimeField(_("invited at"))
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("help-seller")
        verbose_name_plural = _("help-sellers")
        ordering = ["campaign", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="fission_one_help_seller_per_campaign"),
            models.CheckConstraint(condition=Q(rate_bp__lte=10000), name="fission_help_seller_rate_max"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.campaign_id}"


class Touch(models.Model):
    """Someone opened a campaign page through a help-seller's link (``?hs=``, or the personal ``?ref=`` code of a
    help-seller of that campaign). The last touch inside the window before an order is what it is attributed to."""

    class Source(models.TextChoices):
        LINK = "link", _("Share link")
        REFERRAL = "referral", _("Referral code")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    help_seller = models.ForeignKey(HelpSeller, on_delete=models.CASCADE, related_name="touches")
    source = models.CharField(max_length=8, choices=Source.choices)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "campaign", "at"], name="fission_touch_user_at")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.help_seller_id} at {self.at}"


class Attribution(models.Model):
    """The help-seller an order is attributed to (at most one per order: last touch within the window)."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, primary_key=True, related_name="attribution")
    help_seller = models.ForeignKey(HelpSeller, on_delete=models.PROTECT, related_name="attributions")
    source = models.CharField(max_length=8, choices=Touch.Source.choices)
    touched_at = models.DateTimeField(_("touched at"))
    attributed_at = models.DateTimeField(_("attributed at"))

    class Meta:
        verbose_name = _("attribution")
        verbose_name_plural = _("attributions")

    def __str__(self) -> str:
        return f"{self.order_id} → {self.help_seller_id}"


class Statement(models.Model):
    """A settlement (结算单) of one person's commissions for a period: the ledger entries it covers are in its
    lines, each settled once; its totals are their sums."""

    payee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commission_statements")
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    accrued_fen = models.PositiveIntegerField(_("accrued (fen)"))
    reversed_fen = models.PositiveIntegerField(_("reversed (fen)"))
    total_fen = models.IntegerField(_("total (fen)"))
    settled_at = models.DateTimeField(_("settled at"))
    settled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-period_end", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["payee", "period_start", "period_end"], name="fission_one_statement"),
            models.CheckConstraint(
                condition=Q(total_fen=models.F("accrued_fen") - models.F("reversed_fen")),
                name="fission_statement_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payee_id} {self.period_start}–{self.period_end}: {self.total_fen}"


class StatementLine(models.Model):
    """One ledger entry a statement settled. The unique entry is the "settled once" rule. No database
    foreign key to the ledger: its entries are never deleted, except by the demo re-telling its past."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    entry = models.OneToOneField(
        LedgerEntry, on_delete=models.DO_NOTHING, db_constraint=False, related_name="statement_line"
    )

    def __str__(self) -> str:
        return f"{self.statement_id}: {self.entry_id}"
