"""The rollups behind the sales and NPS tiles (see :mod:`bi.rollups`): daily sums per community and jielong,
folded from the event stream by the background worker, and the per-order and per-jielong facts that let an
event arriving late or out of order land in the right day.

Plain ids, no foreign keys: like the stream, the rollups outlive the rows they mention, and a rebuild from the
raw stream (``manage.py rollups_rebuild``) must not depend on them.
"""

from __future__ import annotations

from django.db import models


class RollupDay(models.Model):
    """One local day's figures for one community and one jielong (campaign): the orders placed that day that
    count (joined, not cancelled, jielong not failed), their amounts and refunds, and the NPS answers given that
    day. Sums over rows are the tiles' figures."""

    day = models.DateField()
    community_id = models.BigIntegerField()
    campaign_id = models.BigIntegerField()
    is_live = models.BooleanField(default=False)  # the jielong was launched by a live (its RollupCampaign's)
    orders = models.BigIntegerField(default=0)
    gross_fen = models.BigIntegerField(default=0)
    refund_fen = models.BigIntegerField(default=0)  # refunds of those orders, whenever they were paid back
    nps_answers = models.IntegerField(default=0)
    nps_promoters = models.IntegerField(default=0)
    nps_detractors = models.IntegerField(default=0)
    # Refunds of the orders that count, on the local day they were paid (this row's day): LTV at a moment counts
    # a refund once it is paid, not from its order's day.
    refund_paid_fen = models.BigIntegerField(default=0)
    # The parcels of those orders that reached the pickup point (at it, picked up or 超时未取), and of them the
    # ones picked up (取货率).
    parcels_at_point = models.BigIntegerField(default=0)
    parcels_picked_up = models.BigIntegerField(default=0)

    class Meta:
        db_table = "bi_rollup_day"
        constraints = [
            models.UniqueConstraint(fields=["day", "community_id", "campaign_id"], name="bi_rollup_day_key"),
        ]
        indexes = [
            models.Index(fields=["campaign_id"], name="bi_rollup_day_campaign"),
            models.Index(fields=["community_id", "day"], name="bi_rollup_day_community"),
        ]

    def __str__(self) -> str:
        return f"{self.day} c{self.community_id} j{self.campaign_id}"


class RollupDayAll(models.Model):
    """The same sums over every community (day × jielong): what a board of all communities reads, a thousand
    times fewer rows than ``RollupDay`` for a brand of a thousand communities."""

    day = models.DateField()
    campaign_id = models.BigIntegerField()
    is_live = models.BooleanField(default=False)  # the jielong was launched by a live (its RollupCampaign's)
    orders = models.BigIntegerField(default=0)
    gross_fen = models.BigIntegerField(default=0)
    refund_fen = models.BigIntegerField(default=0)
    nps_answers = models.IntegerField(default=0)
    nps_promoters = models.IntegerField(default=0)
    nps_detractors = models.IntegerField(default=0)
    refund_paid_fen = models.BigIntegerField(default=0)
    parcels_at_point = models.BigIntegerField(default=0)
    parcels_picked_up = models.BigIntegerField(default=0)

    class Meta:
        db_table = "bi_rollup_day_all"
        constraints = [models.UniqueConstraint(fields=["day", "campaign_id"], name="bi_rollup_day_all_key")]
        indexes = [models.Index(fields=["campaign_id"], name="bi_rollup_day_all_campaign")]

    def __str__(self) -> str:
        return f"{self.day} j{self.campaign_id}"


class RollupOrder(models.Model):
    """What the stream has said about one order so far. Its contribution to ``RollupDay`` is a function of this
    row alone (and its jielong's), so events may come in any order: each moves the row and the day by the
    difference."""

    order_id = models.BigIntegerField(primary_key=True)
    campaign_id = models.BigIntegerField(null=True)
    community_id = models.BigIntegerField(null=True)
    day = models.DateField(null=True)  # the local day of the join; null until the join is seen
    total_fen = models.BigIntegerField(default=0)
    total_event_id = models.BigIntegerField(default=0)  # the stream row that set the total: the latest wins
    refund_fen = models.BigIntegerField(default=0)
    is_joined = models.BooleanField(default=False)
    is_cancelled = models.BooleanField(default=False)
    user_id = models.BigIntegerField(null=True)  # the customer, from the join
    refunds = models.JSONField(default=dict)  # {"YYYY-MM-DD": fen}: the refunds by the local day they were paid
    # Where its parcel is, as the fulfilment events say: "" (not at the pickup point yet), "at_point" (there, or
    # 超时未取 there) or "picked_up" (核销); the latest stream row wins (a 核销 undone puts it back at the point).
    parcel = models.CharField(max_length=16, default="", blank=True)
    parcel_event_id = models.BigIntegerField(default=0)

    class Meta:
        db_table = "bi_rollup_order"
        indexes = [
            models.Index(fields=["campaign_id"], name="bi_rollup_order_campaign"),
            models.Index(fields=["user_id", "community_id"], name="bi_rollup_order_customer"),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id}"


class RollupCampaign(models.Model):
    """A jielong as the stream knows it: the live session that launched it, and whether it failed (不成团 — its
    orders were cancelled together, with one event)."""

    campaign_id = models.BigIntegerField(primary_key=True)
    live_session_id = models.BigIntegerField(null=True)
    is_failed = models.BooleanField(default=False)

    class Meta:
        db_table = "bi_rollup_campaign"
        indexes = [models.Index(fields=["live_session_id"], name="bi_rollup_campaign_session")]

    def __str__(self) -> str:
        return f"jielong {self.campaign_id}"


class RollupCustomer(models.Model):
    """A customer of a community as the stream knows them: the local day of their first order there that counts.
    "Customers until a moment" (LTV's denominator) is then a count of these rows (distinct over the communities of a
    board) instead of a grouping of every order by customer. Kept by the fold for the (customer, community) pairs an
    event moves, from ``RollupOrder``."""

    user_id = models.BigIntegerField()
    community_id = models.BigIntegerField()
    first_day = models.DateField()

    class Meta:
        db_table = "bi_rollup_customer"
        constraints = [models.UniqueConstraint(fields=["user_id", "community_id"], name="bi_rollup_customer_key")]
        indexes = [models.Index(fields=["community_id", "first_day"], name="bi_rollup_customer_community")]

    def __str__(self) -> str:
        return f"customer {self.user_id} of c{self.community_id}"


class RollupCustomerAll(models.Model):
    """A customer as the stream knows them over every community: the local day of their first order that counts
    anywhere (the earliest of their ``RollupCustomer`` rows). The new customers of a period on a board of every
    community (裂变新客占比's denominator) are then a range of these rows, not a grouping of every order by
    customer."""

    user_id = models.BigIntegerField(primary_key=True)
    first_day = models.DateField()

    class Meta:
        db_table = "bi_rollup_customer_all"
        indexes = [models.Index(fields=["first_day"], name="bi_rollup_customer_all_day")]

    def __str__(self) -> str:
        return f"customer {self.user_id} since {self.first_day}"


class RollupNewCustomersAll(models.Model):
    """Per local day, the customers whose first order that counts, in any community, was placed that day: a board
    of every community sums the days before its moment."""

    day = models.DateField(primary_key=True)
    customers = models.BigIntegerField(default=0)

    class Meta:
        db_table = "bi_rollup_new_customers_all"

    def __str__(self) -> str:
        return f"{self.day}: {self.customers}"


# --- watch facts: kept by triggers on livestream_watchrecord (migration 0004, PostgreSQL) ---------------------

SESSION_BLOCK = 1024  # session ids per ViewerSessions row: bit (id % 1024) of block (id // 1024)
WATCH_SHARDS = 8  # WatchTotal rows per session (user_id % 8), so concurrent heartbeats do not queue on one row


class SessionBitsField(models.Field):
    """``bit(1024)`` on PostgreSQL: one bit per live session of a block of ids (read and written in SQL only)."""

    description = "a bit per live session of a block of 1,024 session ids"

    def db_type(self, connection):
        return f"bit({SESSION_BLOCK})" if connection.vendor == "postgresql" else "blob"


class ViewerSessions(models.Model):
    """Which live sessions a member has a watch record of: bit ``session_id % 1024`` of the row for block
    ``session_id // 1024`` is set while ``livestream.WatchRecord(session, user)`` exists. "Distinct viewers of
    these sessions" is then one AND per member (``sessions & mask``) instead of a distinct over every watch
    record. Written in the same transaction as the watch records, by statement triggers on
    ``livestream_watchrecord`` (insert, update, delete, truncate; bulk SQL and cascades included) — PostgreSQL
    only; elsewhere the tiles read the watch records (``bi.metrics``)."""

    user_id = models.BigIntegerField()
    block = models.IntegerField()
    sessions = SessionBitsField()

    class Meta:
        db_table = "bi_viewer_sessions"
        constraints = [models.UniqueConstraint(fields=["user_id", "block"], name="bi_viewer_sessions_key")]

    def __str__(self) -> str:
        return f"viewer {self.user_id} block {self.block}"


class MemberAims(models.Model):
    """Per member and block of session ids (as ``ViewerSessions``): ``aimed``, the sessions aimed at one of
    their active communities that ended after they joined it; ``watched``, the sessions they watched that were
    aimed at one of their active communities. Over the sessions of a board of every community, 社群→直播观看
    counts the members with an aimed bit (and a watched bit) in its mask — one row per member, no join. Kept by
    triggers on the watch records, memberships, sessions' target communities and end (migration 0004): each
    change names the (member, session) pairs it can move, and those are recomputed from the domain rows. (No
    trigger on the jielong orders: a join's transaction stays as it is.)"""

    user_id = models.BigIntegerField()
    block = models.IntegerField()
    aimed = SessionBitsField()
    watched = SessionBitsField()

    class Meta:
        db_table = "bi_member_aims"
        constraints = [models.UniqueConstraint(fields=["user_id", "block"], name="bi_member_aims_key")]

    def __str__(self) -> str:
        return f"member {self.user_id} block {self.block}"


class SessionShard(models.Model):
    """One of a live session's ``WATCH_SHARDS`` rows (by ``user_id % 8``): concurrent writers for different
    members of one session rarely wait on the same row. Each table names its own (session_id, shard) key."""

    session_id = models.BigIntegerField()
    shard = models.SmallIntegerField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"session {self.session_id} shard {self.shard}"


class WatchTotal(SessionShard):
    """Per live session: its watch records and their seconds watched, kept by the same triggers. Σ over a scope's
    sessions ÷ Σ records is the average watch time."""

    records = models.BigIntegerField(default=0)
    seconds = models.BigIntegerField(default=0)

    class Meta:
        db_table = "bi_watch_total"
        constraints = [models.UniqueConstraint(fields=["session_id", "shard"], name="bi_watch_total_key")]


class SessionAims(SessionShard):
    """Per live session: the ``MemberAims`` rows with its aimed bit (``aimed``) and with its aimed and watched bits
    (``watched``) — a board of one picked session over every community reads 社群→直播观看 here instead of testing
    a bit of every member's row. Moved by ``bi_member_aims_refresh`` by the bits it changes, in the same statement
    (migration 0015)."""

    aimed = models.BigIntegerField(default=0)
    watched = models.BigIntegerField(default=0)

    class Meta:
        db_table = "bi_session_aims"
        constraints = [models.UniqueConstraint(fields=["session_id", "shard"], name="bi_session_aims_key")]


# --- parcel facts: kept by triggers on fulfillment_parcel (migration 0008, PostgreSQL) -------------------------


class ParcelDay(models.Model):
    """The parcels to be delivered (neither cancelled nor out of stock) of the orders one community placed on one
    local day in one jielong, per delivery day: how many, how many reached the pickup point (at it, picked up or
    超时未取 there), and how many of those by 12:00 of the delivery day (准时送达率). A parcel's part here is a
    function of its own row and its order's day, community and jielong, which a join fixes for good, so statement
    triggers on the parcels keep these rows in the transaction that moves a parcel."""

    day = models.DateField()
    community_id = models.BigIntegerField()
    campaign_id = models.BigIntegerField()
    delivery_date = models.DateField()
    parcels = models.BigIntegerField(default=0)
    arrived = models.BigIntegerField(default=0)
    on_time = models.BigIntegerField(default=0)

    class Meta:
        db_table = "bi_parcel_day"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "community_id", "campaign_id", "delivery_date"], name="bi_parcel_day_key"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign_id"], name="bi_parcel_day_campaign"),
            models.Index(fields=["community_id", "day"], name="bi_parcel_day_community"),
        ]

    def __str__(self) -> str:
        return f"{self.day} c{self.community_id} j{self.campaign_id} → {self.delivery_date}"


class ParcelDayAll(models.Model):
    """``ParcelDay`` summed over every community: what a board of all communities reads."""

    day = models.DateField()
    campaign_id = models.BigIntegerField()
    delivery_date = models.DateField()
    parcels = models.BigIntegerField(default=0)
    arrived = models.BigIntegerField(default=0)
    on_time = models.BigIntegerField(default=0)

    class Meta:
        db_table = "bi_parcel_day_all"
        constraints = [
            models.UniqueConstraint(fields=["day", "campaign_id", "delivery_date"], name="bi_parcel_day_all_key"),
        ]
        indexes = [models.Index(fields=["campaign_id"], name="bi_parcel_day_all_campaign")]

    def __str__(self) -> str:
        return f"{self.day} j{self.campaign_id} → {self.delivery_date}"


# --- referral facts: kept by triggers on the memberships and the viewer facts (migration 0009, PostgreSQL) ----


class ReferredMember(models.Model):
    """A member brought in by someone who has watched a live (裂变): an active membership of theirs names an
    inviter with a watch record (a ``ViewerSessions`` row with a bit set). The referred new customers of a board of
    every community are then a join of two keyed tables, not a pass over every membership and every viewer.
    Kept by statement triggers on the memberships (a member joins, leaves, is re-invited) and on
    ``ViewerSessions`` (an inviter's first watch, or their last watch record gone): each names the members it can
    move, and those are recomputed from the domain rows."""

    user_id = models.BigIntegerField(primary_key=True)

    class Meta:
        db_table = "bi_referred_member"

    def __str__(self) -> str:
        return f"referred {self.user_id}"


class ReferredNewCustomersAll(models.Model):
    """Changes to the number of customers, per local day, whose first order that counts anywhere was placed that day
    (``RollupCustomerAll``) and who were brought in by a viewer (``ReferredMember``): 裂变新客占比's numerator on a
    board of every community is the sum over its days, as ``RollupNewCustomersAll`` gives the denominator. Kept on
    PostgreSQL by statement triggers on both tables (migration 0010), whose writers differ: the stream's fold moves
    first days, the memberships' and watch records' triggers move the referred flag. The triggers append rows
    rather than add to one row per day (two writers adding to the same days in several statements each could
    deadlock); the fold folds each day's rows into one (``bi_referred_new_compact``)."""

    day = models.DateField()
    customers = models.BigIntegerField()

    class Meta:
        db_table = "bi_referred_new_customers_all"
        indexes = [models.Index(fields=["day"], name="bi_referred_new_day")]

    def __str__(self) -> str:
        return f"{self.day}: {self.customers} referred"


class LiveJoiner(models.Model):
    """Per live session and member: how many of the member's orders that count (``RollupOrder``) are in jielongs
    that session launched (``RollupCampaign.live_session_id``), and whether the member watched it (their
    ``ViewerSessions`` bit). 直播观看→接龙 counts the members of the rows with both over a board's sessions: an index
    of those rows alone, not every live order joined to the viewers' bits.

    Two writers, PostgreSQL only: the stream's fold moves ``orders`` (no trigger on the jielong orders: a join's
    transaction stays as it is) and reads ``watched`` when it adds a row; statement triggers on
    ``livestream_watchrecord`` move ``watched`` (migration 0012). Both first take a transaction-scoped advisory lock
    on the member's bucket, so the later sees the earlier's rows. Rows whose orders fell to 0 stay (the index leaves
    them out)."""

    session_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    orders = models.IntegerField(default=0)
    watched = models.BooleanField(default=False)

    class Meta:
        db_table = "bi_live_joiner"
        constraints = [models.UniqueConstraint(fields=["user_id", "session_id"], name="bi_live_joiner_key")]
        indexes = [
            models.Index(
                fields=["session_id", "user_id"],
                name="bi_live_joiner_counted",
                condition=models.Q(orders__gt=0, watched=True),
            )
        ]

    def __str__(self) -> str:
        return f"member {self.user_id} session {self.session_id}: {self.orders} orders"


class MemberActivity(models.Model):
    """Per member with an active membership: how many they have, the earliest join among them, and their latest
    activity of every kind 社群月活率 counts (memberships' joins and visits, reservations, watch records' last
    heartbeats, comments, orders, NPS answers, reviews). On a board of every community whose window ends after
    everyone's latest activity (a period up to today) the tile counts rows, not a union of eight tables: active when
    ``last_active`` falls in the window. Kept on PostgreSQL by statement triggers on those tables (migration 0014)
    and, for the orders (no trigger on them), by the stream's fold; the orders after its cursor are read by the
    board. Other databases get the table, empty and unused."""

    user_id = models.BigIntegerField(primary_key=True)
    memberships = models.IntegerField()
    first_joined = models.DateTimeField(null=True)
    last_active = models.DateTimeField(null=True)

    class Meta:
        db_table = "bi_member_activity"

    def __str__(self) -> str:
        return f"member {self.user_id}: last active {self.last_active}"
