"""Fulfilment (履约): from a formed group to every order in a neighbour's hands.

The shape of a delivery day (one brand, one ``delivery_date``):

- where things go: ``Warehouse`` (城市仓), ``Route`` (a van, its driver and the zones it carries) with ordered
  ``RouteStop`` rows at pickup points;
- what the split writes (``fulfillment.split``, idempotent and incremental): ``PickLine`` per supplier SKU
  (采购汇总/拣货单), ``LoadLine`` per route stop, zone and SKU (装车单), and per member per pickup point one
  ``Handout`` (the merged 发货单 entry with its pickup code) with its ``HandoutLine`` rows;
- where each order is: one ``Parcel`` per order, moved through ``Parcel.State`` by batch moves
  (``BatchMove``) and by 核销 at the point; ``Shortage`` rows hold what a supplier could not supply.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalogue.models import SKU, Product, Supplier
from community.models import Brand, PickupPoint
from jielong.models import Campaign, Order, OrderLine

Zone = Product.StorageType


class Warehouse(models.Model):
    """A city warehouse (城市仓) where suppliers deliver and routes load."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="warehouses")
    name = models.CharField(_("name"), max_length=64)
    city = models.CharField(_("city"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        ordering = ["brand", "name"]
        constraints = [models.UniqueConstraint(fields=["brand", "name"], name="warehouse_unique_name_per_brand")]

    def __str__(self) -> str:
        return self.name


class Route(models.Model):
    """A delivery route (配送路线): one van from a warehouse along ordered stops, carrying some zones."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="routes")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="routes")
    name = models.CharField(_("name"), max_length=64)
    driver_name = models.CharField(_("driver"), max_length=32, blank=True)
    driver_phone = models.CharField(_("driver's phone"), max_length=20, blank=True)
    vehicle_plate = models.CharField(_("vehicle"), max_length=16, blank=True)
    # Zone values (``Zone``), a list rather than an ArrayField so the embedded SQLite default works too.
    zones = models.JSONField(_("zones it can carry"), default=list)
    departs_at = models.TimeField(_("departure time"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("delivery route")
        verbose_name_plural = _("delivery routes")
        ordering = ["brand", "name"]
        constraints = [models.UniqueConstraint(fields=["brand", "name"], name="route_unique_name_per_brand")]

    def __str__(self) -> str:
        return self.name


class RouteStop(models.Model):
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="stops")
    pickup_point = models.ForeignKey(PickupPoint, on_delete=models.PROTECT, related_name="route_stops")
    position = models.PositiveSmallIntegerField(_("stop number"))

    class Meta:
        verbose_name = _("route stop")
        verbose_name_plural = _("route stops")
        ordering = ["route", "position"]
        constraints = [
            models.UniqueConstraint(fields=["route", "pickup_point"], name="route_stop_point_once"),
            models.UniqueConstraint(fields=["route", "position"], name="route_stop_position_once"),
        ]

    def __str__(self) -> str:
        return f"{self.route} #{self.position} {self.pickup_point}"


class CampaignDelivery(models.Model):
    """When a campaign's orders are delivered; written when the group forms, changeable by the operator."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, primary_key=True, related_name="delivery")
    delivery_date = models.DateField(_("delivery date"))
    split_at = models.DateTimeField(_("last split"), null=True, blank=True)
    # The campaign's ``version`` the last split saw: a join or a cancellation bumps it, so a campaign whose
    # version moved on needs splitting again (no per-join write here).
    split_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("campaign delivery")
        verbose_name_plural = _("campaign deliveries")
        indexes = [models.Index(fields=["delivery_date"])]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.delivery_date}"


class SplitLine(models.Model):
    """What every split document row shares: a quantity, and what the last split changed about it.

    ``previous_quantity`` and ``changed_at`` mark a row a later split changed (a late cancellation): the
    lists show "3 → 2" until someone acknowledges them. A row whose quantity fell to 0 stays, marked.
    """

    # No database foreign keys on the rows the split writes (here, Handout, HandoutLine, Parcel): the split
    # derives every key in one locked transaction from rows it has just read, and those rows cannot go away
    # under it (PROTECT, or CASCADE done by the ORM, which deletes through the same models). A deferred
    # foreign key queues a check per written row, run at commit: ~70% of a 100k-order first split.
    # ``db_index=False`` where a composite index starts with the column, and on few-valued columns nothing
    # reads by alone (SKU, route, point): an index whose keys repeat thousands of times a day is the dearest
    # to write (the SKU index was ~40% of writing the hand-out lines). Only deleting a SKU, route or point
    # would scan for them, and the product deactivates those, it never deletes them.
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    delivery_date = models.DateField(_("delivery date"))
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False)
    quantity = models.PositiveIntegerField(_("quantity"))
    previous_quantity = models.PositiveIntegerField(_("previous quantity"), null=True, blank=True)
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True)

    class Meta:
        abstract = True


class PickLine(SplitLine):
    """One SKU a supplier must pick for a delivery date (采购汇总/拣货单), and what the supplier confirmed."""

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="pick_lines")
    # None until the supplier confirms; less than ``quantity`` is a shortage, allocated by ``Shortage`` rows.
    confirmed_quantity = models.PositiveIntegerField(_("confirmed"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("pick line")
        verbose_name_plural = _("pick lines")
        constraints = [models.UniqueConstraint(fields=["delivery_date", "sku"], name="pick_line_once_per_day_sku")]
        indexes = [models.Index(fields=["brand", "delivery_date", "supplier"])]

    def __str__(self) -> str:
        return f"{self.delivery_date} {self.sku_id} ×{self.quantity}"


class LoadLine(SplitLine):
    """One SKU for one stop of one route (装车单); ``route`` is None when no active route serves the point's zone."""

    # The day, point and SKU are the key: no surrogate id, whose index was a quarter of writing a day's lines.
    pk = models.CompositePrimaryKey("delivery_date", "pickup_point", "sku")

    pickup_point = models.ForeignKey(
        PickupPoint, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    zone = models.CharField(_("temperature zone"), max_length=16, choices=Zone.choices)
    route = models.ForeignKey(
        Route,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="load_lines",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        verbose_name = _("load line")
        verbose_name_plural = _("load lines")
        # A day's lists by brand read the primary key (delivery_date first); a route's by this one.
        indexes = [models.Index(fields=["delivery_date", "route"], name="load_line_day_route")]

    def __str__(self) -> str:
        return f"{self.delivery_date} {self.pickup_point_id}/{self.sku_id} ×{self.quantity}"


class Handout(models.Model):
    """One member's merged hand-out at one pickup point on one day (合并收货信息相同的订单), with its code."""

    # No database foreign keys, and no index on the one-valued brand (a day's hand-outs are read by the unique
    # index, delivery_date first) nor on the mostly empty verified_by (a partial one): see SplitLine.
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    delivery_date = models.DateField(_("delivery date"))
    pickup_point = models.ForeignKey(
        PickupPoint, on_delete=models.PROTECT, related_name="handouts", db_constraint=False, db_index=False
    )
    # No index either: a member's hand-outs are reached through their orders' parcels (``Parcel.handout``);
    # one keyed by member, written in random order, was a third of writing a day's hand-outs.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="handouts", db_constraint=False, db_index=False
    )
    # 6 digits, unique per pickup point: what the member shows (as a QR) or says at the counter.
    code = models.CharField(_("pickup code"), max_length=8)
    verified_at = models.DateTimeField(_("picked up at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("hand-out")
        verbose_name_plural = _("hand-outs")
        constraints = [
            models.UniqueConstraint(
                fields=["delivery_date", "pickup_point", "user"], name="handout_once_per_member_point_day"
            ),
            models.UniqueConstraint(fields=["pickup_point", "code"], name="handout_code_unique_per_point"),
        ]
        # A point's day is read by the first unique index (delivery_date, pickup_point, …), a point's codes by the
        # second: no index of its own for (pickup_point, delivery_date), one less to write for 60k hand-outs.
        indexes = [
            models.Index(fields=["verified_by"], condition=Q(verified_by__isnull=False), name="handout_verified_by"),
        ]

    def __str__(self) -> str:
        return f"{self.pickup_point} {self.delivery_date} {self.code}"


class HandoutLine(models.Model):
    # The hand-out and SKU are the key: no surrogate id, whose index was ~40% of writing a day's lines.
    pk = models.CompositePrimaryKey("handout", "sku")
    # No database foreign keys: see SplitLine.
    handout = models.ForeignKey(
        Handout, on_delete=models.CASCADE, related_name="lines", db_constraint=False, db_index=False
    )
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False)
    quantity = models.PositiveIntegerField(_("quantity"))
    previous_quantity = models.PositiveIntegerField(_("previous quantity"), null=True, blank=True)
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("hand-out line")
        verbose_name_plural = _("hand-out lines")

    def __str__(self) -> str:
        return f"{self.handout_id}/{self.sku_id} ×{self.quantity}"


class ParcelQuerySet(models.QuerySet):
    def of_handouts(self, handouts) -> ParcelQuerySet:
        """The parcels of these hand-outs, found among their points' days: a parcel shares its hand-out's point
        and day (the split writes the three together), and ``handout`` has no index of its own."""
        handouts = list(handouts)
        return self.filter(
            pickup_point_id__in={h.pickup_point_id for h in handouts},
            delivery_date__in={h.delivery_date for h in handouts},
            handout_id__in=[h.pk for h in handouts],
        )

    def of_handout(self, handout: Handout) -> ParcelQuerySet:
        return self.of_handouts([handout])


class Parcel(models.Model):
    """Where one order is. Written by the split; moved forward only, by batch moves and by 核销."""

    class State(models.TextChoices):
        PENDING = "pending", _("To be shipped")  # 待发货
        SHIPPED = "shipped", _("Shipped")  # 已发货
        AT_WAREHOUSE = "at_warehouse", _("At the warehouse")  # 已到仓
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")  # 配送中
        AT_PICKUP = "at_pickup", _("Ready for pickup")  # 已到自提点（待取货）
        PICKED_UP = "picked_up", _("Picked up")  # 已取货
        SHORTAGE = "shortage", _("Out of stock")  # 缺货 (nothing of the order could be supplied)
        UNCOLLECTED = "uncollected", _("Not collected")  # 超时未取
        CANCELLED = "cancelled", _("Cancelled")  # the order was cancelled after the split

    # The forward order of the happy path; SHORTAGE, UNCOLLECTED and CANCELLED sit beside it.
    FLOW = [
        State.PENDING,
        State.SHIPPED,
        State.AT_WAREHOUSE,
        State.OUT_FOR_DELIVERY,
        State.AT_PICKUP,
        State.PICKED_UP,
    ]

    # No database foreign keys: see SplitLine.
    order = models.OneToOneField(
        Order, on_delete=models.CASCADE, primary_key=True, related_name="parcel", db_constraint=False
    )
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    delivery_date = models.DateField(_("delivery date"))
    pickup_point = models.ForeignKey(
        PickupPoint, on_delete=models.PROTECT, related_name="parcels", db_constraint=False, db_index=False
    )
    # Read through ``of_handouts`` (the point-and-day index): an index of its own, filled in hand-out order
    # while a split writes parcels in order-id order, was a third of writing a day's parcels.
    handout = models.ForeignKey(
        Handout,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="parcels",
        db_constraint=False,
        db_index=False,
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    state_changed_at = models.DateTimeField(_("state changed at"))
    shipped_at = models.DateTimeField(null=True, blank=True)
    at_warehouse_at = models.DateTimeField(null=True, blank=True)
    out_for_delivery_at = models.DateTimeField(null=True, blank=True)
    at_pickup_at = models.DateTimeField(null=True, blank=True)
    picked_up_at = models.DateTimeField(null=True, blank=True)

    objects = ParcelQuerySet.as_manager()

    class Meta:
        verbose_name = _("parcel")
        verbose_name_plural = _("parcels")
        indexes = [
            models.Index(fields=["brand", "delivery_date", "state"]),
            models.Index(fields=["pickup_point", "delivery_date"]),
            # The sweeps read across days by a state's time (超时未取 every 10 minutes; the commissions' catch-up
            # over the last fortnight's pickups): partial, so a split's pending parcels write no entry and a
            # year of parcels is not read to find the few waiting ones.
            models.Index(fields=["at_pickup_at"], condition=Q(state="at_pickup"), name="parcel_waiting_since"),
            models.Index(fields=["picked_up_at"], condition=Q(state="picked_up"), name="parcel_picked_up_at"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.state}"


class Shortage(models.Model):
    """Units of one order line a supplier could not supply (缺货): ready for after-sales (refund)."""

    order_line = models.OneToOneField(OrderLine, on_delete=models.CASCADE, related_name="shortage")
    pick_line = models.ForeignKey(PickLine, on_delete=models.CASCADE, related_name="shortages")
    quantity = models.PositiveIntegerField(_("units short"))
    created_at = models.DateTimeField(_("recorded at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shortage")
        verbose_name_plural = _("shortages")
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="shortage_positive")]

    def __str__(self) -> str:
        return f"{self.order_line_id} −{self.quantity}"


class BatchMove(models.Model):
    """One batch step of a delivery day (a supplier shipped, a van departed, a stop was reached...).

    The log of who moved what; the unique constraint makes each step happen once per target and day.
    """

    class Kind(models.TextChoices):
        SUPPLIER_SHIPPED = "supplier_shipped", _("Supplier shipped")
        WAREHOUSE_RECEIVED = "warehouse_received", _("Received at the warehouse")
        ROUTE_DEPARTED = "route_departed", _("Van departed")
        STOP_ARRIVED = "stop_arrived", _("Van arrived at the stop")
        POINT_RECEIVED = "point_received", _("Received at the pickup point")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    delivery_date = models.DateField(_("delivery date"))
    kind = models.CharField(_("step"), max_length=24, choices=Kind.choices)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    route = models.ForeignKey(Route, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    pickup_point = models.ForeignKey(PickupPoint, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    parcels = models.PositiveIntegerField(_("orders moved"), default=0)
    at = models.DateTimeField(_("when"))

    class Meta:
        verbose_name = _("batch move")
        verbose_name_plural = _("batch moves")
        ordering = ["delivery_date", "at"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery_date", "kind", "supplier", "warehouse", "route", "pickup_point"],
                nulls_distinct=False,
                name="batch_move_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.delivery_date} {self.kind}"


class SupplierLink(models.Model):
    """A signed link a supplier opens without an account: their pick list, and where they confirm it."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("supplier link")
        verbose_name_plural = _("supplier links")

    def __str__(self) -> str:
        return f"{self.supplier} → {self.expires_at:%Y-%m-%d}"


class PointVerifier(models.Model):
    """A 核销员: someone besides the leader who may verify pickups at one pickup point."""

    pickup_point = models.ForeignKey(PickupPoint, on_delete=models.CASCADE, related_name="verifiers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verifier_points")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(_("added at"))

    class Meta:
        verbose_name = _("pickup verifier")
        verbose_name_plural = _("pickup verifiers")
        constraints = [models.UniqueConstraint(fields=["pickup_point", "user"], name="verifier_once_per_point")]

    def __str__(self) -> str:
        return f"{self.pickup_point}: {self.user}"


class Verification(models.Model):
    """The log of 核销 at the counter, including undos (within a short window, with a reason)."""

    handout = models.ForeignKey(Handout, on_delete=models.CASCADE, related_name="verifications")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("when"))
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    undo_reason = models.CharField(_("reason for undoing"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("pickup verification")
        verbose_name_plural = _("pickup verifications")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.handout_id} @ {self.at:%Y-%m-%d %H:%M}"


class Notice(models.Model):
    """A member-facing state change told to one member over one channel: exactly once (the constraint).

    Written in the transaction that moved the parcel; sent after commit by ``fulfillment.notices``,
    claimed with a lease so a killed worker's rows are picked up again. Leader copies (one per pickup
    point, day and state) have no order and no user.
    """

    class Channel(models.TextChoices):
        INBOX = "inbox", _("In-app inbox")
        SMS = "sms", _("SMS")
        LEADER_COPY = "leader_copy", _("Leader's group copy")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    pickup_point = models.ForeignKey(PickupPoint, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    delivery_date = models.DateField(_("delivery date"))
    state = models.CharField(_("state"), max_length=16, choices=Parcel.State.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    text = models.TextField(_("text"), blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("fulfilment notice")
        verbose_name_plural = _("fulfilment notices")
        constraints = [
            models.UniqueConstraint(
                fields=["order", "state", "channel"], condition=Q(order__isnull=False), name="notice_once_per_order"
            ),
            models.UniqueConstraint(
                fields=["pickup_point", "delivery_date", "state", "channel"],
                condition=Q(order__isnull=True),
                name="notice_once_per_point_day",
            ),
        ]
        indexes = [models.Index(fields=["status", "lease_until"])]

    def __str__(self) -> str:
        return f"{self.order_id or self.pickup_point_id} {self.state} ({self.channel})"
