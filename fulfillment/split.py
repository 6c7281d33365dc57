"""Smart splitting (智能分单): one brand's delivery day, from order lines to the documents.

``split_day`` turns every live order line of the formed campaigns delivered that day into

- ``PickLine``: per supplier SKU, what was ordered (采购/拣货单);
- ``LoadLine``: per pickup point and SKU, what to deliver, on the route that serves the point in the SKU's zone;
- ``Handout`` + ``HandoutLine``: per member per pickup point, the merged hand-out with its pickup code;
- ``Parcel``: per order, where it is (created ``pending``; cancelled orders' parcels become ``cancelled``).

It is written in set-based SQL (temp tables of the day's orders, of its members with their hand-out ids —
drawn before any hand-out is written —, and of what each hand-out holds per SKU; then one statement per
document), because a delivery day is 100k orders. It is idempotent (an upsert that finds the same quantity
writes nothing) and incremental: a row whose quantity changes keeps ``previous_quantity`` and gets
``changed_at``; a row nothing feeds any more falls to 0 and is marked the same way. Units a supplier could
not supply (``Shortage``) are picked (the supplier was asked for them) but neither loaded nor handed out.
Splits of one day are serialised with the day's other changes (``fulfillment.locks.lock_day``). The same SQL
runs on the embedded SQLite default.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.utils.translation import gettext as _

from groupbuy import clock, events
from groupbuy.commit import after_commit
from jielong.models import Campaign

from . import events as fulfillment_events
from .locks import lock_day
from .models import CampaignDelivery, RouteStop

logger = logging.getLogger(__name__)

SPLITTABLE = (Campaign.Status.FORMED, Campaign.Status.COMPLETED)


class SplitError(ValueError):
    """A split that cannot be done; the message is for the operator."""


@dataclasses.dataclass(frozen=True)
class SplitResult:
    brand_id: int
    delivery_date: date
    orders: int
    units: int
    handouts_created: int
    pick_lines_changed: int
    load_lines_changed: int
    handout_lines_changed: int
    parcels_cancelled: int
    # Pickup points with something to deliver in a zone no active route of the brand carries there.
    unrouted_point_ids: tuple[int, ...]

    @property
    def changed(self) -> int:
        return self.pick_lines_changed + self.load_lines_changed + self.handout_lines_changed


def default_delivery_date(campaign: Campaign) -> date:
    """The day after the jielong closes, or later when a supplier of its SKUs needs more lead time."""
    lead = campaign.items.aggregate(days=Max("sku__product__supplier__lead_time_days"))["days"] or 1
    return clock.localdate(campaign.closes_at) + timedelta(days=max(lead, 1))


def ensure_delivery(campaign: Campaign) -> CampaignDelivery:
    delivery, _created = CampaignDelivery.objects.get_or_create(
        campaign=campaign, defaults={"delivery_date": default_delivery_date(campaign)}
    )
    return delivery


def split_campaign(campaign: Campaign, *, now: datetime | None = None) -> SplitResult:
    """Split the delivery day of a formed campaign (成团 → 分单)."""
    if campaign.status not in SPLITTABLE:
        raise SplitError(
            _("“%(title)s” has not formed a group: there is nothing to split yet.") % {"title": campaign.title}
        )
    delivery = ensure_delivery(campaign)
    return split_day(brand_id=campaign.brand_id, delivery_date=delivery.delivery_date, now=now)


def due_days() -> list[tuple[int, date]]:
    """(brand, day) pairs with a campaign whose orders changed since its day was last split."""
    rows = (
        CampaignDelivery.objects.exclude(split_version=F("campaign__version"))
        .values_list("campaign__brand_id", "delivery_date")
        .distinct()
    )
    return sorted(set(rows))


def split_due(*, now: datetime | None = None) -> list[SplitResult]:
    """Split every day with a newly formed campaign or a campaign whose orders changed since (the periodic
    sweep: the campaign's status and version are the durable record, so a lost after-commit hook costs a
    sweep interval, never a split)."""
    for campaign in Campaign.objects.filter(status__in=SPLITTABLE, delivery__isnull=True):
        ensure_delivery(campaign)
    return [split_day(brand_id=brand_id, delivery_date=day, now=now) for brand_id, day in due_days()]


# Each statement runs on its own (SQLite executes one per call); the SQL is the common subset of PostgreSQL
# and SQLite ≥ 3.39 (upserts, IS DISTINCT FROM), so the embedded demo splits the same way.
_TEMP_TABLES = ("split_versions", "split_orders", "split_pairs", "split_src", "split_routes")

_VERSIONS = """
CREATE TEMP TABLE split_versions AS
SELECT c.id AS campaign_id, c.version AS version, c.status AS status
FROM fulfillment_campaigndelivery cd JOIN jielong_campaign c ON c.id = cd.campaign_id
WHERE cd.delivery_date = %(d)s AND c.brand_id = %(b)s
"""
# The day's live orders (an order always has a line: the join and its edits refuse an empty one). The parcels
# are written from here, an order a row, rather than by grouping the day's lines back into orders.
_ORDERS = """
CREATE TEMP TABLE split_orders AS
SELECT o.id AS order_id, o.user_id AS user_id, o.pickup_point_id AS pickup_point_id
FROM split_versions v
JOIN jielong_order o ON o.campaign_id = v.campaign_id
WHERE v.status IN ('formed', 'completed') AND o.status <> 'cancelled' AND o.pickup_point_id IS NOT NULL
"""
# What each hand-out holds, per SKU: the day's order lines summed per hand-out (a member's orders of several
# campaigns merge here), with the point, zone and supplier the other lists group by. The items' SKU, zone and
# supplier are looked up once (a few hundred rows, MATERIALIZED so they are not joined row by row), and the
# rows are written in (hand-out, SKU) order, which the hand-out lines then keep (see below).
_SOURCE = """
CREATE TEMP TABLE split_src AS
WITH items AS MATERIALIZED (
    SELECT ci.id AS item_id, ci.sku_id AS sku_id, s.zone AS zone, p.supplier_id AS supplier_id
    FROM jielong_campaignitem ci
    JOIN catalogue_sku s ON s.id = ci.sku_id
    JOIN catalogue_product p ON p.id = s.product_id
    WHERE ci.campaign_id IN (SELECT campaign_id FROM split_versions)
)
SELECT o.handout_id AS handout_id, o.pickup_point_id AS pickup_point_id, i.sku_id AS sku_id, i.zone AS zone,
       i.supplier_id AS supplier_id, SUM(ol.quantity) AS quantity,
       SUM(ol.quantity - COALESCE(sh.quantity, 0)) AS deliver
FROM (
    SELECT o.order_id, o.pickup_point_id, m.handout_id FROM split_orders o
    JOIN split_pairs m ON m.pickup_point_id = o.pickup_point_id AND m.user_id = o.user_id
) o
JOIN jielong_orderline ol ON ol.order_id = o.order_id
JOIN items i ON i.item_id = ol.item_id
LEFT JOIN fulfillment_shortage sh ON sh.order_line_id = ol.id
GROUP BY o.handout_id, i.sku_id, o.pickup_point_id, i.zone, i.supplier_id
ORDER BY o.handout_id, i.sku_id
"""
# For the anti-joins of a re-split (and SQLite, which has no hash joins); a first split has nothing to zero.
_SOURCE_INDEXES = [
    "CREATE INDEX split_orders_order ON split_orders (order_id)",
    "CREATE INDEX split_src_point_sku ON split_src (pickup_point_id, sku_id)",
    "CREATE INDEX split_src_handout_sku ON split_src (handout_id, sku_id)",
]


def _upsert_quantity(table: str) -> str:
    """Write a new quantity only when it differs, keeping the old one and stamping the change."""
    return f"""
    quantity = excluded.quantity,
    previous_quantity = {table}.quantity,
    changed_at = %(now)s
WHERE {table}.quantity <> excluded.quantity"""


# Each list zeroes the rows nothing feeds any more *before* its upsert (the upsert never touches those rows,
# so the order changes nothing): the zeroing then reads the table as it was before this split, whose
# statistics the planner has — a table filled a moment ago in this transaction looks empty to it, and an
# anti-join planned against an "empty" table rescans it for every row (a 100k-order day took minutes).
_PICK_ZERO = """
UPDATE fulfillment_pickline SET previous_quantity = quantity, quantity = 0, changed_at = %(now)s
WHERE brand_id = %(b)s AND delivery_date = %(d)s AND quantity > 0
  AND NOT EXISTS (SELECT 1 FROM split_src s WHERE s.sku_id = fulfillment_pickline.sku_id)
"""
# Rows go in in their unique key's order (a b-tree filled left to right, not at random), and a first split's
# rows are all new: a plain INSERT then, without the upsert's speculative insertion (each conflict clause is
# appended on a re-split only).
_PICK = """
INSERT INTO fulfillment_pickline (brand_id, delivery_date, sku_id, supplier_id, quantity, previous_quantity, changed_at)
SELECT %(b)s, %(d)s, sku_id, supplier_id, SUM(quantity), %(new_prev)s, %(new_at)s
FROM split_src WHERE true GROUP BY sku_id, supplier_id ORDER BY sku_id
"""
_PICK_CONFLICT = "ON CONFLICT (delivery_date, sku_id) DO UPDATE SET" + _upsert_quantity("fulfillment_pickline")

_LOAD_ZERO = """
UPDATE fulfillment_loadline SET previous_quantity = quantity, quantity = 0, changed_at = %(now)s
WHERE brand_id = %(b)s AND delivery_date = %(d)s AND quantity > 0
  AND NOT EXISTS (
      SELECT 1 FROM split_src s
      WHERE s.pickup_point_id = fulfillment_loadline.pickup_point_id AND s.sku_id = fulfillment_loadline.sku_id
        AND s.deliver > 0
  )
"""
_LOAD = """
INSERT INTO fulfillment_loadline
    (brand_id, delivery_date, pickup_point_id, sku_id, zone, route_id, quantity, previous_quantity, changed_at)
SELECT %(b)s, %(d)s, s.pickup_point_id, s.sku_id, s.zone, rt.route_id, s.deliver, %(new_prev)s, %(new_at)s
FROM (
    SELECT pickup_point_id, sku_id, zone, SUM(deliver) AS deliver FROM split_src
    GROUP BY pickup_point_id, sku_id, zone HAVING SUM(deliver) > 0
) s LEFT JOIN split_routes rt ON rt.pickup_point_id = s.pickup_point_id AND rt.zone = s.zone
WHERE true
ORDER BY s.pickup_point_id, s.sku_id
"""
_LOAD_CONFLICT = """
ON CONFLICT (delivery_date, pickup_point_id, sku_id) DO UPDATE SET
    route_id = excluded.route_id,
    zone = excluded.zone,
    quantity = excluded.quantity,
    previous_quantity = CASE WHEN fulfillment_loadline.quantity <> excluded.quantity
        THEN fulfillment_loadline.quantity ELSE fulfillment_loadline.previous_quantity END,
    changed_at = CASE WHEN fulfillment_loadline.quantity <> excluded.quantity
        THEN %(now)s ELSE fulfillment_loadline.changed_at END
WHERE fulfillment_loadline.quantity <> excluded.quantity
   OR fulfillment_loadline.route_id IS DISTINCT FROM excluded.route_id
   OR fulfillment_loadline.zone <> excluded.zone
"""

# Every member at a point with what they collect today, and the id of their hand-out: the one they have, or
# a new id drawn here (``{new_id}``), before any hand-out is written — the hand-out lines and the parcels
# then take their hand-out from this table, with no join back to the hand-outs just written (whose
# statistics say "empty" until analysed). Read before any hand-out is written (see above).
_PAIRS = """
CREATE TEMP TABLE split_pairs AS
SELECT q.pickup_point_id AS pickup_point_id, q.user_id AS user_id, COALESCE(h.id, {new_id}) AS handout_id,
       CASE WHEN h.id IS NULL THEN 1 ELSE 0 END AS new
FROM (SELECT DISTINCT pickup_point_id, user_id FROM split_orders) q
LEFT JOIN fulfillment_handout h
  ON h.delivery_date = %(d)s AND h.pickup_point_id = q.pickup_point_id AND h.user_id = q.user_id
ORDER BY q.pickup_point_id, q.user_id
"""
# PostgreSQL draws from the hand-outs' own sequence; SQLite (whose writers take turns on the whole database)
# numbers the new ones after the highest id it ever gave (AUTOINCREMENT's sqlite_sequence).
_NEW_ID = {
    "postgresql": "nextval(%(handout_seq)s::regclass)",
    "sqlite": """(SELECT MAX(COALESCE((SELECT MAX(id) FROM fulfillment_handout), 0),
                        COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'fulfillment_handout'), 0)))
       + row_number() OVER (PARTITION BY h.id IS NULL ORDER BY q.pickup_point_id, q.user_id)""",
}
_PAIRS_INDEXES = [
    "CREATE UNIQUE INDEX split_pairs_member ON split_pairs (pickup_point_id, user_id)",
    "CREATE INDEX split_pairs_handout ON split_pairs (handout_id)",
]

# Codes are 6 random digits, unique per pickup point: a collision skips the row, and the next round retries
# it with a new code (only the pairs still without a hand-out: its id answers each).
_HANDOUTS = """
INSERT INTO fulfillment_handout (id, brand_id, delivery_date, pickup_point_id, user_id, code, created_at)
SELECT p.handout_id, %(b)s, %(d)s, p.pickup_point_id, p.user_id, {code}, %(now)s
FROM split_pairs p WHERE p.new = 1 {retry}
ORDER BY p.handout_id
ON CONFLICT DO NOTHING
"""
_HANDOUTS_RETRY = "AND NOT EXISTS (SELECT 1 FROM fulfillment_handout h WHERE h.id = p.handout_id)"
# PostgreSQL's first round draws the codes and leaves out, in the same statement, a code drawn twice at a
# point or already given there (on any day): a plain INSERT then, without the upsert's speculative insertion
# per row. The pairs it left out get theirs in the rounds above; a code another transaction gave at the same
# moment (a split of another day at the point) fails it, and the rounds above then do all.
_HANDOUTS_DRAWN = """
INSERT INTO fulfillment_handout (id, brand_id, delivery_date, pickup_point_id, user_id, code, created_at)
SELECT c.handout_id, %(b)s, %(d)s, c.pickup_point_id, c.user_id, c.code, %(now)s
FROM (
    SELECT DISTINCT ON (c.pickup_point_id, c.code) c.handout_id, c.pickup_point_id, c.user_id, c.code
    FROM (SELECT p.handout_id, p.pickup_point_id, p.user_id, {code} AS code FROM split_pairs p WHERE p.new = 1) c
    WHERE NOT EXISTS (
        SELECT 1 FROM fulfillment_handout x WHERE x.pickup_point_id = c.pickup_point_id AND x.code = c.code
    )
    ORDER BY c.pickup_point_id, c.code, c.handout_id
) c
ORDER BY c.handout_id
"""
_RANDOM_CODE = {
    "postgresql": "lpad(floor(random() * 1000000)::int::text, 6, '0')",
    "sqlite": "substr('000000' || abs(random() %% 1000000), -6, 6)",
}

_HANDOUT_ZERO = """
UPDATE fulfillment_handoutline SET previous_quantity = quantity, quantity = 0, changed_at = %(now)s
WHERE quantity > 0
  AND handout_id IN (SELECT id FROM fulfillment_handout WHERE brand_id = %(b)s AND delivery_date = %(d)s)
  AND NOT EXISTS (
      SELECT 1 FROM split_src s
      WHERE s.handout_id = fulfillment_handoutline.handout_id AND s.sku_id = fulfillment_handoutline.sku_id
        AND s.deliver > 0
  )
"""
# split_src is already a hand-out line per row, written in the lines' key order: a first split appends them to
# the key's b-tree left to right (a temp table's scan reads its rows in the order they were written; were it
# not, the rows would still be right, only slower to insert).
_HANDOUT_LINES = """
INSERT INTO fulfillment_handoutline (handout_id, sku_id, quantity, previous_quantity, changed_at)
SELECT handout_id, sku_id, deliver, %(new_prev)s, %(new_at)s
FROM split_src WHERE deliver > 0
"""
_HANDOUT_LINES_CONFLICT = "ON CONFLICT (handout_id, sku_id) DO UPDATE SET" + _upsert_quantity("fulfillment_handoutline")

# An order has one parcel whatever its day: a campaign moved to another day takes its parcels along. A first
# split of a day upserts only the orders that have one (rare: a moved campaign) and inserts the rest plainly.
# An order nothing of which could be supplied is 'shortage': looked for only among the day's orders with a short
# line (shortages are few; the day's lines, summed per hand-out in split_src, no longer say which order).
_PARCELS = """
INSERT INTO fulfillment_parcel (order_id, brand_id, delivery_date, pickup_point_id, handout_id, state, state_changed_at)
SELECT o.order_id, %(b)s, %(d)s, o.pickup_point_id, p.handout_id,
       CASE WHEN z.order_id IS NULL THEN 'pending' ELSE 'shortage' END, %(now)s
FROM split_orders o
JOIN split_pairs p ON p.pickup_point_id = o.pickup_point_id AND p.user_id = o.user_id
LEFT JOIN (
    SELECT ol.order_id FROM jielong_orderline ol LEFT JOIN fulfillment_shortage sh ON sh.order_line_id = ol.id
    WHERE ol.order_id IN (
        SELECT l.order_id FROM fulfillment_shortage s JOIN jielong_orderline l ON l.id = s.order_line_id
        JOIN split_orders so ON so.order_id = l.order_id
    )
    GROUP BY ol.order_id HAVING SUM(ol.quantity - COALESCE(sh.quantity, 0)) = 0
) z ON z.order_id = o.order_id
WHERE {which}
ORDER BY o.order_id
"""
_PARCEL_EXISTS = "EXISTS (SELECT 1 FROM fulfillment_parcel x WHERE x.order_id = o.order_id)"
_PARCELS_CONFLICT = """
ON CONFLICT (order_id) DO UPDATE SET
    delivery_date = excluded.delivery_date,
    pickup_point_id = excluded.pickup_point_id,
    handout_id = excluded.handout_id,
    state = CASE WHEN fulfillment_parcel.state = 'pending' AND excluded.state = 'shortage'
        THEN 'shortage' ELSE fulfillment_parcel.state END,
    state_changed_at = CASE WHEN fulfillment_parcel.state = 'pending' AND excluded.state = 'shortage'
        THEN %(now)s ELSE fulfillment_parcel.state_changed_at END
WHERE fulfillment_parcel.handout_id IS DISTINCT FROM excluded.handout_id
   OR fulfillment_parcel.delivery_date <> excluded.delivery_date
   OR (fulfillment_parcel.state = 'pending' AND excluded.state = 'shortage')
"""

_CANCELLED_PARCELS = """
UPDATE fulfillment_parcel SET state = 'cancelled', state_changed_at = %(now)s
WHERE brand_id = %(b)s AND delivery_date = %(d)s AND state <> 'cancelled'
  AND NOT EXISTS (SELECT 1 FROM split_orders s WHERE s.order_id = fulfillment_parcel.order_id)
"""

_FINISH = """
UPDATE fulfillment_campaigndelivery SET split_at = %(now)s,
    split_version = (SELECT v.version FROM split_versions v WHERE v.campaign_id = fulfillment_campaigndelivery.campaign_id)
WHERE campaign_id IN (SELECT campaign_id FROM split_versions)
"""


def _route_rows(brand_id: int) -> list[tuple[int, str, int]]:
    """(pickup point, zone, route): the route that serves each point in each zone (the lowest id wins)."""
    chosen: dict[tuple[int, str], int] = {}
    stops = RouteStop.objects.filter(route__brand_id=brand_id, route__is_active=True).order_by("route_id")
    for point_id, route_id, zones in stops.values_list("pickup_point_id", "route_id", "route__zones"):
        for zone in zones or []:
            chosen.setdefault((point_id, zone), route_id)
    return [(point, zone, route) for (point, zone), route in chosen.items()]


def _run(cur, statements, params) -> None:
    for statement in [statements] if isinstance(statements, str) else statements:
        cur.execute(statement, params)


def split_day(*, brand_id: int, delivery_date: date, now: datetime | None = None) -> SplitResult:
    """Split (or re-split) one brand's delivery day; see the module docstring."""
    now = now or clock.now()
    params = {"b": brand_id, "d": delivery_date, "now": now}
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cur:
        lock_day(brand_id, delivery_date)  # the day's one lock (fulfillment.locks)
        if postgres:
            # The GROUP BYs of a 100k-order day hash ~10 MB each: in memory rather than spilled to disk.
            cur.execute("SET LOCAL work_mem = '64MB'")
            # The temp tables' statistics only steer hash-or-sort choices: a 3,000-row sample does.
            cur.execute("SET LOCAL default_statistics_target = 10")
        for table in _TEMP_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(
            "SELECT EXISTS (SELECT 1 FROM fulfillment_pickline WHERE brand_id = %(b)s AND delivery_date = %(d)s)",
            params,
        )
        # After the first split every new row is a change too ("0 → 2"); the first split marks nothing.
        resplit = bool(cur.fetchone()[0])
        params |= {"new_prev": 0 if resplit else None, "new_at": now if resplit else None}

        # A first split has nothing to zero or to upsert: its anti-joins and their indexes are skipped (SQLite,
        # without hash joins, keeps the indexes for the joins below).
        cur.execute(_VERSIONS, params)
        if postgres:
            # The planner's guess for a table it has never seen is ~1,000 rows, filtered to ~9 campaigns: it
            # then reads the day's order lines order by order through an index. Knowing there are 50, it
            # hashes them when the day is a large part of the lines (~20% of the source step at 100k orders).
            cur.execute("ANALYZE split_versions")
        cur.execute(_ORDERS, params)
        if postgres:
            cur.execute("ANALYZE split_orders")
            cur.execute("SELECT pg_get_serial_sequence('fulfillment_handout', 'id')")
            params["handout_seq"] = cur.fetchone()[0]
        cur.execute(_PAIRS.format(new_id=_NEW_ID[connection.vendor]), params)
        if resplit or not postgres:
            _run(cur, _PAIRS_INDEXES, params)
        if postgres:  # a few thousand to 100k members: hashed, and the plans below know it
            cur.execute("ANALYZE split_pairs")
        cur.execute(_SOURCE, params)
        if resplit or not postgres:
            _run(cur, _SOURCE_INDEXES, params)
        cur.execute("ANALYZE split_src")
        cur.execute("SELECT (SELECT count(*) FROM split_orders), (SELECT COALESCE(SUM(quantity), 0) FROM split_src)")
        orders, units = cur.fetchone()

        if resplit:
            cur.execute(_PICK_ZERO, params)
        cur.execute(_PICK + (_PICK_CONFLICT if resplit else ""), params)
        # A first split marks nothing (its rows are new and nothing was there to zero): no need to count.
        pick_changed = _changed(cur, "fulfillment_pickline", params) if resplit else 0

        cur.execute("CREATE TEMP TABLE split_routes (pickup_point_id bigint, zone varchar(16), route_id bigint)")
        cur.executemany("INSERT INTO split_routes VALUES (%s, %s, %s)", _route_rows(brand_id))
        if postgres:  # one route per point and zone: the planner then hashes these few rows, not the day's lines
            cur.execute("ANALYZE split_routes")
        if resplit:
            cur.execute(_LOAD_ZERO, params)
        cur.execute(_LOAD + (_LOAD_CONFLICT if resplit else ""), params)
        load_changed = _changed(cur, "fulfillment_loadline", params) if resplit else 0
        cur.execute(
            "SELECT DISTINCT pickup_point_id FROM fulfillment_loadline "
            "WHERE brand_id = %(b)s AND delivery_date = %(d)s AND route_id IS NULL AND quantity > 0 ORDER BY 1",
            params,
        )
        unrouted = tuple(row[0] for row in cur.fetchall())

        cur.execute("SELECT count(*) FROM split_pairs WHERE new = 1")
        missing, created = cur.fetchone()[0], 0
        if postgres and missing:
            try:
                with transaction.atomic():
                    cur.execute(_HANDOUTS_DRAWN.format(code=_RANDOM_CODE["postgresql"]), params)
                    created = cur.rowcount
            except IntegrityError:
                created = 0
        for round_ in range(20):
            if created >= missing:
                break
            retry = _HANDOUTS_RETRY if round_ or created else ""
            cur.execute(_HANDOUTS.format(code=_RANDOM_CODE[connection.vendor], retry=retry), params)
            created += cur.rowcount
        else:  # pragma: no cover - a point with ~a million live codes
            raise SplitError(_("Could not give every hand-out a pickup code; please try again."))

        if resplit:
            cur.execute(_HANDOUT_ZERO, params)
        cur.execute(_HANDOUT_LINES + (_HANDOUT_LINES_CONFLICT if resplit else ""), params)
        handout_changed = _changed_handout_lines(cur, params) if resplit else 0

        # Cancelling first, like the zeroing: the parcels the upsert writes are all in split_src anyway.
        cur.execute(_CANCELLED_PARCELS, params)
        cancelled = cur.rowcount
        if resplit:
            cur.execute(_PARCELS.format(which="true") + _PARCELS_CONFLICT, params)
        else:
            cur.execute(_PARCELS.format(which=_PARCEL_EXISTS) + _PARCELS_CONFLICT, params)
            cur.execute(_PARCELS.format(which="NOT " + _PARCEL_EXISTS), params)
        cur.execute(_FINISH, params)
        for table in _TEMP_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table}")

        result = SplitResult(
            brand_id=brand_id,
            delivery_date=delivery_date,
            orders=orders,
            units=int(units),
            handouts_created=created,
            pick_lines_changed=pick_changed,
            load_lines_changed=load_changed,
            handout_lines_changed=handout_changed,
            parcels_cancelled=cancelled,
            unrouted_point_ids=unrouted,
        )
        if postgres and max(orders if not resplit else 0, result.changed) >= ANALYZE_AFTER_ROWS:
            after_commit(_analyze_soon)
        events.publish(
            fulfillment_events.DaySplit(
                brand_id=brand_id, delivery_date=delivery_date.isoformat(), orders=orders, changed=result.changed
            )
        )
    return result


# A split this big changes the tables more than autovacuum's next look (up to a minute away) assumes: until
# then the planner takes a point's 500 hand-out lines for thousands and reads whole tables for each document
# (a hand-out list: ~90 ms instead of ~15 ms at 100k orders).
ANALYZE_AFTER_ROWS = 5_000
_ANALYZED = (
    "fulfillment_pickline",
    "fulfillment_loadline",
    "fulfillment_handout",
    "fulfillment_handoutline",
    "fulfillment_parcel",
)


def analyze_split_tables() -> None:
    """ANALYZE the tables a split writes (PostgreSQL; ~0.8 s at 100k orders, not inside the split's lock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            for table in _ANALYZED:
                cur.execute(f"ANALYZE {table}")


def _analyze_soon() -> None:
    from . import tasks

    try:
        tasks.analyze_split_tables.delay()
    except Exception:  # autovacuum gets there anyway, a minute later
        logger.warning("could not queue the statistics refresh after a split", exc_info=True)


def _changed(cur, table: str, params: dict) -> int:
    cur.execute(
        f"SELECT count(*) FROM {table} WHERE brand_id = %(b)s AND delivery_date = %(d)s AND changed_at = %(now)s",
        params,
    )
    return cur.fetchone()[0]


def _changed_handout_lines(cur, params: dict) -> int:
    cur.execute(
        "SELECT count(*) FROM fulfillment_handoutline hl JOIN fulfillment_handout h ON h.id = hl.handout_id "
        "WHERE h.brand_id = %(b)s AND h.delivery_date = %(d)s AND hl.changed_at = %(now)s",
        params,
    )
    return cur.fetchone()[0]
