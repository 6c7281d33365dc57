"""Jielong (接龙) campaigns: what is offered to which communities, and the orders members place."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalogue.models import SKU
from community.models import Brand, Community, PickupPoint
from livestream.models import LiveSession


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        # 成团: the threshold is reached; members may still join until the campaign closes.
        FORMED = "formed", _("Formed")
        COMPLETED = "completed", _("Closed (formed)")
        FAILED = "failed", _("Failed (not formed)")
        CANCELLED = "cancelled", _("Cancelled")

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="campaigns")
    title = models.CharField(_("title"), max_length=100)
    story = models.TextField(_("story and selling points"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    communities = models.ManyToManyField(Community, related_name="campaigns", verbose_name=_("target communities"))
    # The session that launches this campaign. The link lives here so livestream never imports jielong.
    live_session = models.ForeignKey(
        LiveSession, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("live session")
    )
    group_threshold = models.PositiveIntegerField(_("members needed to form the group (成团人数)"), default=1)
    perk_limit = models.PositiveIntegerField(_("first-N perk places"), default=0)
    perk_description = models.CharField(_("perk"), max_length=200, blank=True)
    max_orders = models.PositiveIntegerField(_("maximum orders"), null=True, blank=True)
    min_spend_fen = models.PositiveIntegerField(_("minimum spend per order (fen, 起购金额)"), default=0)
    opens_at = models.DateTimeField(_("opens at"), null=True, blank=True)
    # KOCs may join this many minutes before everyone else, to lead by example (KOC带头).
    koc_early_minutes = models.PositiveSmallIntegerField(_("KOC early window (minutes)"), default=0)
    closes_at = models.DateTimeField(_("closes at"))
    formed_at = models.DateTimeField(_("formed at"), null=True, blank=True)
    delivery_note = models.CharField(_("estimated delivery"), max_length=100, blank=True)
    replay_url = models.URLField(_("live replay link"), blank=True)
    payment_method = models.CharField(
        _("payment"), max_length=32, default="pay_at_pickup", help_text=_("A provider from jielong.payments.")
    )
    # Counters kept with the rows they count, changed by F() in the join transaction.
    joined_count = models.PositiveIntegerField(_("orders"), default=0)
    perk_taken = models.PositiveIntegerField(_("perk places taken"), default=0)
    next_seq = models.PositiveIntegerField(default=1)
    version = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("jielong campaign")
        verbose_name_plural = _("jielong campaigns")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(perk_taken__lte=models.F("perk_limit")), name="campaign_perk_not_oversold"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def is_joinable(self, *, at, is_koc: bool = False) -> bool:
        """Open for joining at ``at``: open or formed, past its opening (earlier for KOCs), before closing."""
        if self.status not in (self.Status.OPEN, self.Status.FORMED) or at >= self.closes_at:
            return False
        if self.opens_at is None:
            return True
        early = timedelta(minutes=self.koc_early_minutes) if is_koc else timedelta(0)
        return at >= self.opens_at - early

    @property
    def still_needed(self) -> int:
        return max(self.group_threshold - self.joined_count, 0)

    @property
    def perk_left(self) -> int:
        return max(self.perk_limit - self.perk_taken, 0)


class CampaignItem(models.Model):
    """A SKU offered in a campaign at the community price (社群专享价), optionally lower for the first N."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="campaign_items")
    price_fen = models.PositiveIntegerField(_("community price (fen)"))
    perk_price_fen = models.PositiveIntegerField(_("first-N price (fen)"), null=True, blank=True)
    per_member_limit = models.PositiveIntegerField(_("limit per member"), default=10)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("campaign item")
        verbose_name_plural = _("campaign items")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["campaign", "sku"], name="campaign_item_unique_sku")]

    def __str__(self) -> str:
        return str(self.sku)

    def unit_price_fen(self, *, joined: int, is_perk: bool) -> int:
        """The price one unit costs when ``joined`` members are in: the community price, lowered by
        every tier reached, and the first-N price for a perk order when that is lower still."""
        prices = [self.price_fen]
        prices += [tier.price_fen for tier in self.price_tiers.all() if tier.min_joins <= joined]
        if is_perk and self.perk_price_fen is not None:
            prices.append(self.perk_price_fen)
        return min(prices)


class PriceTier(models.Model):
    """Tiered price (阶梯价): once ``min_joins`` members have joined, the item costs ``price_fen``
    for everyone, earlier joiners included (they are settled down to it)."""

    item = models.ForeignKey(CampaignItem, on_delete=models.CASCADE, related_name="price_tiers")
    min_joins = models.PositiveIntegerField(_("from this many joins"))
    price_fen = models.PositiveIntegerField(_("price (fen)"))

    class Meta:
        verbose_name = _("price tier")
        verbose_name_plural = _("price tiers")
        ordering = ["item", "min_joins"]
        constraints = [models.UniqueConstraint(fields=["item", "min_joins"], name="price_tier_unique_threshold")]

    def __str__(self) -> str:
        return f"≥{self.min_joins}: {self.price_fen}"


class Order(models.Model):
    """One member's entry in the jielong (``seq`` is the 序号 in "1. 昵称 上海青×2")."""

    class Status(models.TextChoices):
        JOINED = "joined", _("Joined")
        CANCELLED = "cancelled", _("Cancelled")
        READY = "ready", _("Ready for pickup")
        PICKED_UP = "picked_up", _("Picked up")

    class PaymentStatus(models.TextChoices):
        UNPAID = "unpaid", _("Unpaid")
        PAID = "paid", _("Paid")
        REFUNDED = "refunded", _("Refunded")

    # No index of its own: order_unique_seq (campaign, seq) leads with it and serves every campaign lookup; one
    # index fewer for each join to write.
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="orders", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jielong_orders")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="jielong_orders")
    pickup_point = models.ForeignKey(
        PickupPoint, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    seq = models.PositiveIntegerField(_("jielong number"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.JOINED)
    payment_status = models.CharField(
        _("payment"), max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID
    )
    is_perk = models.BooleanField(_("first-N perk"), default=False)
    total_fen = models.PositiveIntegerField(_("total (fen)"))
    note = models.CharField(_("member note"), max_length=200, blank=True)
    leader_note = models.CharField(_("leader note"), max_length=200, blank=True)
    refunded_fen = models.PositiveIntegerField(_("refunded (fen)"), default=0)
    idempotency_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("joined at"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    # When the row last changed, for the public API's incremental sync (``?updated_after=``). Written by the
    # database, not by Python: the join function inserts and updates orders in SQL, and services change them
    # with queryset ``update()``s; a default on insert and a trigger on update (migration 0013) catch them all.
    # The database's clock is a change marker here, never the judge of a business rule.
    updated_at = models.DateTimeField(_("changed at"), db_default=Now(), editable=False)

    class Meta:
        verbose_name = _("jielong order")
        verbose_name_plural = _("jielong orders")
        ordering = ["campaign", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "seq"], name="order_unique_seq"),
            # One live entry per member per campaign: a double tap cannot make a second order.
            models.UniqueConstraint(
                fields=["campaign", "user"], condition=~Q(status="cancelled"), name="order_one_active_per_member"
            ),
            models.UniqueConstraint(
                fields=["campaign", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="order_unique_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=["updated_at", "id"], name="order_updated_at_id"),
            # Orders by the time they were placed: a board's period, the 30 days of the monthly-active rate.
            models.Index(fields=["created_at"], name="order_created_at"),
            # The perk places in the order they were taken (the BI's 福利售罄用时 steps to each jielong's N-th).
            # Partial: only the first N orders of a jielong enter it, so the join storm barely writes it.
            models.Index(
                fields=["campaign", "created_at", "seq"],
                condition=Q(is_perk=True) & ~Q(status="cancelled"),
                name="order_perk_places",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}#{self.seq}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(CampaignItem, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price_fen = models.PositiveIntegerField(_("unit price (fen)"))

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.UniqueConstraint(fields=["order", "item"], name="order_line_unique_item"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.item} ×{self.quantity}"


class CampaignImage(models.Model):
    """A picture of a campaign, stored resized (≤ 1280 px) and without EXIF (no GPS leaks from a phone photo)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(_("image"), upload_to="campaigns/")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("campaign image")
        verbose_name_plural = _("campaign images")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.image.name


class CampaignChange(models.Model):
    """One entry of a live campaign's change log (操作记录): who changed which field, from what to what."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    field = models.CharField(_("field"), max_length=100)
    old_value = models.TextField(_("old value"), blank=True)
    new_value = models.TextField(_("new value"), blank=True)

    class Meta:
        verbose_name = _("campaign change")
        verbose_name_plural = _("campaign changes")
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.field}"

    @property
    def field_label(self) -> str:
        """The changed field in the reader's language: ``closes_at`` or ``items|<SKU>|price_fen``."""
        if self.field == "images":
            return str(_("pictures"))
        if self.field == "communities":
            return str(_("target communities"))
        if self.field.startswith("items|"):
            item, _sep, attr = self.field.removeprefix("items|").rpartition("|")
            item_label = {"added": _("added"), "removed": _("removed"), "price_tiers": _("price tiers")}.get(attr)
            if item_label is None:
                item_label = CampaignItem._meta.get_field(attr).verbose_name
            return f"{item} · {item_label}"
        name = self.field.removesuffix("_id")
        return str(Campaign._meta.get_field(name).verbose_name)


class CampaignOutbox(models.Model):
    """Work a campaign is owed after joins committed: a snapshot broadcast and, when a join reached a
    price tier, settling earlier orders down (阶梯价). Written in the join's own transaction (one upsert
    per group call, in ``jielong.join.sql``), so the work survives Redis or the broker being down and a
    process dying; cleared once done (``jielong.join.after_join.deliver``), swept periodically otherwise.
    """

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, primary_key=True, related_name="+")
    needs_settle = models.BooleanField(default=False)
    # The campaign's version at the newest join recorded: clearing the row for the work done up to
    # version v leaves a row a later join has bumped.
    version = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"outbox of campaign {self.campaign_id}"


class LedgerEntry(models.Model):
    """One money movement (资金流水): a payment, a refund, a store credit or a commission. Written only by
    ``jielong.ledger``, in the same transaction as the change it describes; never updated or deleted.

    ``amount_fen`` is positive; ``kind`` says which way it goes (a payment comes in, the rest go out).
    Payments and refunds name the order line they belong to, so "never refund more than was paid for an
    item" is a sum over this table.
    """

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("Payment")
        REFUND = "refund", _("Refund")
        CREDIT = "credit", _("Store credit")
        COMMISSION = "commission", _("Commission")
        # A commission taken back (a refund of what earned it, an undone pickup); ``reverses`` names it.
        CLAWBACK = "clawback", _("Commission clawback")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    amount_fen = models.PositiveIntegerField(_("amount (fen)"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="ledger_entries")
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    provider = models.CharField(_("payment"), max_length=32, blank=True)
    # What makes a retry the same movement: "payment:<line>", "refund:<caller's key>:<line>", ...
    key = models.CharField(max_length=150, unique=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Commissions and clawbacks: who earns (or gives back) the money, and the commission a clawback reverses.
    payee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="commission_entries"
    )
    reverses = models.ForeignKey(
        "self", on_delete=models.RESTRICT, null=True, blank=True, related_name="clawbacks", verbose_name=_("reverses")
    )

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["order_line", "kind"]),
            models.Index(fields=["payee", "created_at"], condition=Q(payee__isnull=False), name="ledger_payee_at"),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount_fen__gte=1), name="ledger_amount_positive")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_fen} ({self.order_id})"
