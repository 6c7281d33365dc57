"""Small fact tables behind the LTV, pickup-rate, new-customer, on-time-delivery and monthly-active tiles
(PostgreSQL), kept by statement triggers in the same transaction as the domain rows they summarise (orders, their
parcels, refunds in the ledger, watch records): set-based whatever the number of rows a statement changes, and
each customer's facts recomputed under a lock on their user row, taken in user-id order (two transactions
changing one customer's orders recompute one after the other; two bulk changes cannot deadlock on them).

Why not the stream's rollups (:mod:`bi.rollups`): these tiles count the domain's rows — a parcel's state,
refunds by the moment they were paid, a customer's first order — which the stream does not carry.

- ``FactDay`` / ``FactDayAll`` (day × community, and day over every community): **additive deltas**. A trigger
  appends what a change adds (an order's amount, its refunds, its parcel at the point or picked up, a first
  order); a sum over rows is the figure, whatever the number of rows. ``compact`` (the rollup worker) folds the
  rows of a key into one; it never changes a sum. Appending, not updating one row per day, keeps concurrent
  joins and batch moves from queueing on a shared row (or deadlocking over two).
  ``day`` is the local day (``settings.TIME_ZONE``) of the order's join; a refund sits on the later of its
  order's day and the day it was paid, so "refunds paid before midnight D of orders placed before D" is a sum
  over ``day < D``.
- ``Watcher``: the people with a watch record (how many, and the latest ``last_seen_at``), so "the inviter has
  watched a live" is a lookup in a table of viewers, and "watched in the 30 days to the end" reads only the
  viewers whose latest sighting is in those days, plus the records of the few seen after them.
- ``FirstOrder`` / ``FirstOrderAll``: a customer's first order that counts (not cancelled), per community and
  overall — recomputed from the customer's orders when one of them changes, so a late or backdated order, or
  the cancellation of the first one, lands right.
- ``DeliveryDays`` / ``DeliveryDaysAll``: per customer (and community) and block of 1,024 days, a bit per local
  day of an order of theirs whose parcel has arrived / arrived by its noon; "people with a parcel on time over
  a period" is one AND with the period's mask per row. ``DeliveryPending``: the parcels not arrived, due once
  their noon has passed (the clock moves that, not a row).

An order counts while it is not cancelled (``bi.metrics.base.orders``, ``cdp.rfm.counted_orders``); a parcel is
at the point when it is waiting there, picked up or not collected (``bi.metrics.service``).

:func:`recompute` computes every row from the domain tables in independent SQL; the tests prove the triggers'
sums equal it, and ``install`` (the migration) fills the tables from it for rows that predate the triggers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from fulfillment.models import Parcel
from jielong.models import LedgerEntry, Order

NOT_DELIVERED = (Parcel.State.CANCELLED.value, Parcel.State.SHORTAGE.value)
AT_POINT = (Parcel.State.AT_PICKUP.value, Parcel.State.PICKED_UP.value, Parcel.State.UNCOLLECTED.value)
PICKED_UP = Parcel.State.PICKED_UP.value
CANCELLED = Order.Status.CANCELLED.value
REFUND = LedgerEntry.Kind.REFUND.value

SUMS = ("gross_fen", "refund_fen", "customers", "at_point", "picked_up")

_FUNCTIONS = """
-- Orders changed by one statement: ``p_gone`` (as they were) and ``p_come`` (as they are), each a JSON array of
-- (id, user_id, community_id, created_at, status, total_fen). Set-based, whatever the number of rows (a bulk
-- insert of a year of orders, a jielong failing and cancelling all its orders, one member joining).
CREATE OR REPLACE FUNCTION bi_fact_orders_changed(p_gone jsonb, p_come jsonb) RETURNS void AS $$
BEGIN
  -- What the orders that count contribute (amount, parcel at the point / picked up, refunds), taken off as they
  -- were and added as they are: appended to the day facts.
  WITH s AS (
    SELECT g.id, g.community_id, g.created_at, g.total_fen, -1 AS sign
    FROM jsonb_to_recordset(p_gone) AS g (id bigint, community_id bigint, created_at timestamptz, status text,
                                          total_fen bigint)
    WHERE g.status <> '{cancelled}'
    UNION ALL
    SELECT c.id, c.community_id, c.created_at, c.total_fen, 1
    FROM jsonb_to_recordset(p_come) AS c (id bigint, community_id bigint, created_at timestamptz, status text,
                                          total_fen bigint)
    WHERE c.status <> '{cancelled}'),
  parts AS (
    SELECT (s.created_at AT TIME ZONE '{tz}')::date AS day, s.community_id, s.sign * s.total_fen AS gross_fen,
           0 AS refund_fen, s.sign * COALESCE(p.state IN {at_point}, false)::integer AS at_point,
           s.sign * COALESCE(p.state = '{picked}', false)::integer AS picked_up
    FROM s LEFT JOIN fulfillment_parcel p ON p.order_id = s.id
    UNION ALL
    SELECT greatest((s.created_at AT TIME ZONE '{tz}')::date, (l.created_at AT TIME ZONE '{tz}')::date),
           s.community_id, 0, s.sign * l.amount_fen, 0, 0
    FROM s JOIN jielong_ledgerentry l ON l.order_id = s.id AND l.kind = '{refund}'),
  d AS (
    SELECT day, community_id, sum(gross_fen) AS gross_fen, sum(refund_fen) AS refund_fen, sum(at_point) AS at_point,
           sum(picked_up) AS picked_up
    FROM parts GROUP BY day, community_id),
  per_community AS (
    INSERT INTO bi_fact_day (day, community_id, gross_fen, refund_fen, customers, at_point, picked_up)
    SELECT day, community_id, gross_fen, refund_fen, 0, at_point, picked_up FROM d
    WHERE gross_fen <> 0 OR refund_fen <> 0 OR at_point <> 0 OR picked_up <> 0)
  INSERT INTO bi_fact_day_all (day, gross_fen, refund_fen, customers, at_point, picked_up)
  SELECT day, sum(gross_fen), sum(refund_fen), 0, sum(at_point), sum(picked_up) FROM d GROUP BY day
  HAVING sum(gross_fen) <> 0 OR sum(refund_fen) <> 0 OR sum(at_point) <> 0 OR sum(picked_up) <> 0;

  PERFORM bi_fact_refresh(
    (SELECT COALESCE(jsonb_agg(e), '[]') FROM (
       SELECT jsonb_build_array(e -> 'user_id', e -> 'community_id',
                                ((e ->> 'created_at')::timestamptz AT TIME ZONE '{tz}')::date) AS e
       FROM jsonb_array_elements(p_gone || p_come) AS e) AS keys),
    ARRAY(SELECT DISTINCT (e ->> 'id')::bigint FROM jsonb_array_elements(p_gone || p_come) AS e));
END $$ LANGUAGE plpgsql;

-- The customers' facts behind changed orders, recomputed from their orders: ``p_keys`` (user, community, local
-- day of the order), ``p_orders``. The customers are locked first, in id order, on their user rows (row locks,
-- not advisory ones: a bulk change of many customers' orders would run out of the shared lock table). Two
-- transactions changing one customer's orders at once then recompute one after the other (each would otherwise
-- see only its own change), and always in the same order, so two bulk changes cannot deadlock each other here.
CREATE OR REPLACE FUNCTION bi_fact_refresh(p_keys jsonb, p_orders bigint[]) RETURNS void AS $$
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS bi_fact_keys (user_id bigint, community_id bigint, day date)
    ON COMMIT DELETE ROWS;
  DELETE FROM bi_fact_keys;
  INSERT INTO bi_fact_keys
  SELECT DISTINCT (e ->> 0)::bigint, (e ->> 1)::bigint, (e ->> 2)::date FROM jsonb_array_elements(p_keys) AS e;
  IF jsonb_array_length(p_keys) > 1000 THEN
    ANALYZE bi_fact_keys;  -- a bulk change: plan its joins for its size
  END IF;
  PERFORM 1 FROM community_user WHERE id IN (SELECT user_id FROM bi_fact_keys) ORDER BY id FOR NO KEY UPDATE;

  -- First orders that count, per community: what changed moves the customers counted on its day.
  WITH pairs AS (SELECT DISTINCT user_id, community_id FROM bi_fact_keys),
  now_first AS (
    SELECT p.user_id, p.community_id, min(o.created_at) AS first_at
    FROM pairs p LEFT JOIN jielong_order o
      ON o.user_id = p.user_id AND o.community_id = p.community_id AND o.status <> '{cancelled}'
    GROUP BY p.user_id, p.community_id),
  diff AS (
    SELECT n.user_id, n.community_id, f.first_at AS was_at, n.first_at AS now_at
    FROM now_first n LEFT JOIN bi_first_order f ON f.user_id = n.user_id AND f.community_id = n.community_id
    WHERE f.first_at IS DISTINCT FROM n.first_at),
  counted AS (
    INSERT INTO bi_fact_day (day, community_id, gross_fen, refund_fen, customers, at_point, picked_up)
    SELECT day, community_id, 0, 0, sum(n), 0, 0 FROM (
      SELECT (was_at AT TIME ZONE '{tz}')::date AS day, community_id, -1 AS n FROM diff WHERE was_at IS NOT NULL
      UNION ALL
      SELECT (now_at AT TIME ZONE '{tz}')::date, community_id, 1 FROM diff WHERE now_at IS NOT NULL) AS m
    GROUP BY day, community_id HAVING sum(n) <> 0),
  gone AS (
    DELETE FROM bi_first_order f USING diff d
    WHERE f.user_id = d.user_id AND f.community_id = d.community_id AND d.now_at IS NULL)
  INSERT INTO bi_first_order (user_id, community_id, first_at)
  SELECT user_id, community_id, now_at FROM diff WHERE now_at IS NOT NULL
  ON CONFLICT (user_id, community_id) DO UPDATE SET first_at = EXCLUDED.first_at;

  -- … and in any community.
  WITH people AS (SELECT DISTINCT user_id FROM bi_fact_keys),
  now_first AS (
    SELECT p.user_id, min(o.created_at) AS first_at
    FROM people p LEFT JOIN jielong_order o ON o.user_id = p.user_id AND o.status <> '{cancelled}'
    GROUP BY p.user_id),
  diff AS (
    SELECT n.user_id, f.first_at AS was_at, n.first_at AS now_at
    FROM now_first n LEFT JOIN bi_first_order_all f ON f.user_id = n.user_id
    WHERE f.first_at IS DISTINCT FROM n.first_at),
  counted AS (
    INSERT INTO bi_fact_day_all (day, gross_fen, refund_fen, customers, at_point, picked_up)
    SELECT day, 0, 0, sum(n), 0, 0 FROM (
      SELECT (was_at AT TIME ZONE '{tz}')::date AS day, -1 AS n FROM diff WHERE was_at IS NOT NULL
      UNION ALL
      SELECT (now_at AT TIME ZONE '{tz}')::date, 1 FROM diff WHERE now_at IS NOT NULL) AS m
    GROUP BY day HAVING sum(n) <> 0),
  gone AS (DELETE FROM bi_first_order_all f USING diff d WHERE f.user_id = d.user_id AND d.now_at IS NULL)
  INSERT INTO bi_first_order_all (user_id, first_at)
  SELECT user_id, now_at FROM diff WHERE now_at IS NOT NULL
  ON CONFLICT (user_id) DO UPDATE SET first_at = EXCLUDED.first_at;

  -- On-time delivery, per customer (in a community, and in any: its own table) and block of 1024 days: bit
  -- (day - 2000-01-01) mod 1024 of ``arrived`` is set while an order of theirs that counts, placed that local day,
  -- has a parcel (not cancelled or out of stock) that has arrived; of ``on_time`` while one arrived by its noon.
  -- The keys' bits are recomputed (``mask``) and the others kept.
  WITH parcels AS (
    SELECT o.user_id, o.community_id, (o.created_at AT TIME ZONE '{tz}')::date AS day,
           COALESCE(p.at_pickup_at, p.picked_up_at) AS arrived,
           (p.delivery_date + time '{on_time_by}') AT TIME ZONE '{tz}' AS deadline
    FROM jielong_order o JOIN fulfillment_parcel p ON p.order_id = o.id
    WHERE o.user_id IN (SELECT user_id FROM bi_fact_keys) AND o.status <> '{cancelled}'
      AND p.state NOT IN {not_delivered}),
  computed AS (
    SELECT k.user_id, k.community_id, (k.day - date '2000-01-01') / 1024 AS block,
           bit_or(B'1'::bit(1024) >> mod(k.day - date '2000-01-01', 1024)) AS mask,
           bit_or(CASE WHEN x.arrived THEN B'1'::bit(1024) >> mod(k.day - date '2000-01-01', 1024)
                       ELSE B'0'::bit(1024) END) AS arrived,
           bit_or(CASE WHEN x.on_time THEN B'1'::bit(1024) >> mod(k.day - date '2000-01-01', 1024)
                       ELSE B'0'::bit(1024) END) AS on_time
    FROM bi_fact_keys k LEFT JOIN (
      SELECT user_id, community_id, day, bool_or(arrived IS NOT NULL) AS arrived,
             COALESCE(bool_or(arrived <= deadline), false) AS on_time
      FROM parcels GROUP BY user_id, community_id, day) AS x
      ON x.user_id = k.user_id AND x.community_id = k.community_id AND x.day = k.day
    GROUP BY 1, 2, 3),
  moved AS (
    UPDATE bi_delivery_days t SET arrived = (t.arrived & ~c.mask) | c.arrived, on_time = (t.on_time & ~c.mask) | c.on_time
    FROM computed c WHERE t.user_id = c.user_id AND t.community_id = c.community_id AND t.block = c.block)
  INSERT INTO bi_delivery_days (user_id, community_id, block, arrived, on_time)
  SELECT c.user_id, c.community_id, c.block, c.arrived, c.on_time FROM computed c
  WHERE NOT EXISTS (SELECT 1 FROM bi_delivery_days t
                    WHERE t.user_id = c.user_id AND t.community_id = c.community_id AND t.block = c.block);

  WITH days AS (SELECT DISTINCT user_id, day FROM bi_fact_keys),
  parcels AS (
    SELECT o.user_id, (o.created_at AT TIME ZONE '{tz}')::date AS day,
           COALESCE(p.at_pickup_at, p.picked_up_at) AS arrived,
           (p.delivery_date + time '{on_time_by}') AT TIME ZONE '{tz}' AS deadline
    FROM jielong_order o JOIN fulfillment_parcel p ON p.order_id = o.id
    WHERE o.user_id IN (SELECT user_id FROM bi_fact_keys) AND o.status <> '{cancelled}'
      AND p.state NOT IN {not_delivered}),
  computed AS (
    SELECT k.user_id, (k.day - date '2000-01-01') / 1024 AS block,
           bit_or(B'1'::bit(1024) >> mod(k.day - date '2000-01-01', 1024)) AS mask,
           bit_or(CASE WHEN x.arrived THEN B'1'::bit(1024) >> mod(k.day - date '2000-01-01', 1024)
                       ELSE B'0'::bit(1024) END) AS arrived,
           bit_or(CASE WHEN x.on_time THEN B'1'::bit(1024) >> mod(k.day - date '2000-01-01', 1024)
                       ELSE B'0'::bit(1024) END) AS on_time
    FROM days k LEFT JOIN (
      SELECT user_id, day, bool_or(arrived IS NOT NULL) AS arrived, COALESCE(bool_or(arrived <= deadline), false) AS on_time
      FROM parcels GROUP BY user_id, day) AS x ON x.user_id = k.user_id AND x.day = k.day
    GROUP BY 1, 2),
  moved AS (
    UPDATE bi_delivery_days_all t
    SET arrived = (t.arrived & ~c.mask) | c.arrived, on_time = (t.on_time & ~c.mask) | c.on_time
    FROM computed c WHERE t.user_id = c.user_id AND t.block = c.block)
  INSERT INTO bi_delivery_days_all (user_id, block, arrived, on_time)
  SELECT c.user_id, c.block, c.arrived, c.on_time FROM computed c
  WHERE NOT EXISTS (SELECT 1 FROM bi_delivery_days_all t WHERE t.user_id = c.user_id AND t.block = c.block);

  -- Parcels not arrived (their due time depends on the clock, not on a change of rows).
  DELETE FROM bi_delivery_pending WHERE order_id = ANY(p_orders);
  INSERT INTO bi_delivery_pending (order_id, user_id, community_id, day, delivery_date)
  SELECT o.id, o.user_id, o.community_id, (o.created_at AT TIME ZONE '{tz}')::date, p.delivery_date
  FROM jielong_order o JOIN fulfillment_parcel p ON p.order_id = o.id
  WHERE o.id = ANY(p_orders) AND o.status <> '{cancelled}' AND p.state NOT IN {not_delivered}
    AND p.at_pickup_at IS NULL AND p.picked_up_at IS NULL;
END $$ LANGUAGE plpgsql;

-- Statement triggers (``old_rows`` / ``new_rows``: the statement's transition tables). An update of orders that
-- changes none of the columns the facts read (payment, notes, updated_at…) is left out.
CREATE OR REPLACE FUNCTION bi_fact_on_orders() RETURNS trigger AS $$
DECLARE
  gone jsonb := '[]';
  come jsonb := '[]';
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT COALESCE(jsonb_agg(to_jsonb(y)), '[]') INTO come FROM new_rows y;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT COALESCE(jsonb_agg(to_jsonb(x)), '[]') INTO gone FROM old_rows x;
  ELSE
    SELECT COALESCE(jsonb_agg(to_jsonb(x)), '[]'), COALESCE(jsonb_agg(to_jsonb(y)), '[]') INTO gone, come
    FROM old_rows x JOIN new_rows y ON y.id = x.id WHERE {order_changed};
  END IF;
  IF gone <> '[]' OR come <> '[]' THEN
    PERFORM bi_fact_orders_changed(gone, come);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

-- Parcels (batch moves change a route's or a point's parcels in one statement): their pickup counts move by the
-- difference; the customers' delivery facts are recomputed. Rows whose state, date and arrival did not change
-- are left out.
CREATE OR REPLACE FUNCTION bi_fact_on_parcels() RETURNS trigger AS $$
DECLARE
  changed jsonb;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT jsonb_agg(jsonb_build_array(order_id, 1, state)) INTO changed FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT jsonb_agg(jsonb_build_array(order_id, -1, state)) INTO changed FROM old_rows;
  ELSE
    SELECT jsonb_agg(c) INTO changed FROM (
      SELECT jsonb_build_array(x.order_id, -1, x.state) AS c
      FROM old_rows x JOIN new_rows y ON y.order_id = x.order_id WHERE {parcel_changed}
      UNION ALL
      SELECT jsonb_build_array(y.order_id, 1, y.state)
      FROM old_rows x JOIN new_rows y ON y.order_id = x.order_id WHERE {parcel_changed}) AS rows;
  END IF;
  IF changed IS NULL THEN RETURN NULL; END IF;
  WITH c AS (SELECT (e ->> 0)::bigint AS order_id, (e ->> 1)::integer AS sign, e ->> 2 AS state
             FROM jsonb_array_elements(changed) AS e),
  d AS (SELECT (o.created_at AT TIME ZONE '{tz}')::date AS day, o.community_id,
               sum(c.sign * (c.state IN {at_point})::integer) AS at_point,
               sum(c.sign * (c.state = '{picked}')::integer) AS picked_up
        FROM c JOIN jielong_order o ON o.id = c.order_id WHERE o.status <> '{cancelled}' GROUP BY 1, 2),
  per_community AS (
    INSERT INTO bi_fact_day (day, community_id, gross_fen, refund_fen, customers, at_point, picked_up)
    SELECT day, community_id, 0, 0, 0, at_point, picked_up FROM d WHERE at_point <> 0 OR picked_up <> 0)
  INSERT INTO bi_fact_day_all (day, gross_fen, refund_fen, customers, at_point, picked_up)
  SELECT day, 0, 0, 0, sum(at_point), sum(picked_up) FROM d GROUP BY day
  HAVING sum(at_point) <> 0 OR sum(picked_up) <> 0;
  PERFORM bi_fact_refresh(
    (SELECT COALESCE(jsonb_agg(jsonb_build_array(o.user_id, o.community_id,
                                                 (o.created_at AT TIME ZONE '{tz}')::date)), '[]')
     FROM jielong_order o WHERE o.id IN (SELECT (e ->> 0)::bigint FROM jsonb_array_elements(changed) AS e)),
    ARRAY(SELECT DISTINCT (e ->> 0)::bigint FROM jsonb_array_elements(changed) AS e));
  RETURN NULL;
END $$ LANGUAGE plpgsql;

-- Refunds in the ledger: the refunds of orders that count, on the later of the order's day and the payment's.
CREATE OR REPLACE FUNCTION bi_fact_on_ledger() RETURNS trigger AS $$
DECLARE
  changed jsonb;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT jsonb_agg(jsonb_build_array(order_id, amount_fen, created_at)) INTO changed
    FROM new_rows WHERE kind = '{refund}';
  ELSIF TG_OP = 'DELETE' THEN
    SELECT jsonb_agg(jsonb_build_array(order_id, -amount_fen, created_at)) INTO changed
    FROM old_rows WHERE kind = '{refund}';
  ELSE
    SELECT jsonb_agg(c) INTO changed FROM (
      SELECT jsonb_build_array(order_id, -amount_fen, created_at) AS c FROM old_rows WHERE kind = '{refund}'
      UNION ALL
      SELECT jsonb_build_array(order_id, amount_fen, created_at) FROM new_rows WHERE kind = '{refund}') AS rows;
  END IF;
  IF changed IS NULL THEN RETURN NULL; END IF;
  WITH c AS (SELECT (e ->> 0)::bigint AS order_id, (e ->> 1)::bigint AS fen, (e ->> 2)::timestamptz AS paid_at
             FROM jsonb_array_elements(changed) AS e),
  d AS (SELECT greatest((o.created_at AT TIME ZONE '{tz}')::date, (c.paid_at AT TIME ZONE '{tz}')::date) AS day,
               o.community_id, sum(c.fen) AS refund_fen
        FROM c JOIN jielong_order o ON o.id = c.order_id WHERE o.status <> '{cancelled}' GROUP BY 1, 2),
  per_community AS (
    INSERT INTO bi_fact_day (day, community_id, gross_fen, refund_fen, customers, at_point, picked_up)
    SELECT day, community_id, 0, refund_fen, 0, 0, 0 FROM d WHERE refund_fen <> 0)
  INSERT INTO bi_fact_day_all (day, gross_fen, refund_fen, customers, at_point, picked_up)
  SELECT day, 0, sum(refund_fen), 0, 0, 0 FROM d GROUP BY day HAVING sum(refund_fen) <> 0;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

-- Watch records: how many a viewer has and their latest sighting. A heartbeat only moves last_seen_at forward;
-- anything else (a removal, a sighting moved back, a record moved to someone else) recomputes the viewers.
CREATE OR REPLACE FUNCTION bi_fact_on_watch() RETURNS trigger AS $$
DECLARE
  people bigint[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO bi_watcher (user_id, records, last_seen_at)
    SELECT user_id, count(*), max(last_seen_at) FROM new_rows GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET records = bi_watcher.records + EXCLUDED.records,
                                        last_seen_at = greatest(bi_watcher.last_seen_at, EXCLUDED.last_seen_at);
    RETURN NULL;
  ELSIF TG_OP = 'DELETE' THEN
    people := ARRAY(SELECT DISTINCT user_id FROM old_rows);
  ELSE
    UPDATE bi_watcher w SET last_seen_at = m.last_seen_at
    FROM (SELECT y.user_id, max(y.last_seen_at) AS last_seen_at
          FROM old_rows x JOIN new_rows y ON y.id = x.id
          WHERE x.user_id = y.user_id AND y.last_seen_at > x.last_seen_at GROUP BY y.user_id) AS m
    WHERE w.user_id = m.user_id AND w.last_seen_at < m.last_seen_at;
    people := ARRAY(SELECT x.user_id FROM old_rows x JOIN new_rows y ON y.id = x.id
                    WHERE x.user_id <> y.user_id OR y.last_seen_at < x.last_seen_at
                    UNION SELECT y.user_id FROM old_rows x JOIN new_rows y ON y.id = x.id
                    WHERE x.user_id <> y.user_id);
  END IF;
  IF cardinality(people) > 0 THEN
    PERFORM 1 FROM community_user WHERE id = ANY(people) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM bi_watcher WHERE user_id = ANY(people);
    INSERT INTO bi_watcher (user_id, records, last_seen_at)
    SELECT user_id, count(*), max(last_seen_at) FROM livestream_watchrecord WHERE user_id = ANY(people)
    GROUP BY user_id;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS bi_fact_order_insert ON jielong_order;
CREATE TRIGGER bi_fact_order_insert AFTER INSERT ON jielong_order
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_fact_on_orders();
DROP TRIGGER IF EXISTS bi_fact_order_update ON jielong_order;
CREATE TRIGGER bi_fact_order_update AFTER UPDATE ON jielong_order
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_fact_on_orders();
DROP TRIGGER IF EXISTS bi_fact_order_delete ON jielong_order;
CREATE TRIGGER bi_fact_order_delete AFTER DELETE ON jielong_order
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_fact_on_orders();
DROP TRIGGER IF EXISTS bi_fact_parcel_insert ON fulfillment_parcel;
CREATE TRIGGER bi_fact_parcel_insert AFTER INSERT ON fulfillment_parcel
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_fact_on_parcels();
DROP TRIGGER IF EXISTS bi_fact_parcel_update ON fulfillment_parcel;
CREATE TRIGGER bi_fact_parcel_update AFTER UPDATE ON fulfillment_parcel
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_fact_on_parcels();
DROP TRIGGER IF EXISTS bi_fact_parcel_delete ON fulfillment_parcel;
CREATE TRIGGER bi_fact_parcel_delete AFTER DELETE ON fulfillment_parcel
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_fact_on_parcels();
DROP TRIGGER IF EXISTS bi_fact_ledger_insert ON jielong_ledgerentry;
CREATE TRIGGER bi_fact_ledger_insert AFTER INSERT ON jielong_ledgerentry
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_fact_on_ledger();
DROP TRIGGER IF EXISTS bi_fact_ledger_update ON jielong_ledgerentry;
CREATE TRIGGER bi_fact_ledger_update AFTER UPDATE ON jielong_ledgerentry
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_fact_on_ledger();
DROP TRIGGER IF EXISTS bi_fact_ledger_delete ON jielong_ledgerentry;
CREATE TRIGGER bi_fact_ledger_delete AFTER DELETE ON jielong_ledgerentry
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_fact_on_ledger();
DROP TRIGGER IF EXISTS bi_fact_watch_insert ON livestream_watchrecord;
CREATE TRIGGER bi_fact_watch_insert AFTER INSERT ON livestream_watchrecord
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_fact_on_watch();
DROP TRIGGER IF EXISTS bi_fact_watch_update ON livestream_watchrecord;
CREATE TRIGGER bi_fact_watch_update AFTER UPDATE ON livestream_watchrecord
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_fact_on_watch();
DROP TRIGGER IF EXISTS bi_fact_watch_delete ON livestream_watchrecord;
CREATE TRIGGER bi_fact_watch_delete AFTER DELETE ON livestream_watchrecord
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bi_fact_on_watch();
"""

_TRIGGERS = [
    (table, f"bi_fact_{name}_{event}")
    for table, name in (
        ("jielong_order", "order"),
        ("fulfillment_parcel", "parcel"),
        ("jielong_ledgerentry", "ledger"),
        ("livestream_watchrecord", "watch"),
    )
    for event in ("insert", "update", "delete")
]
DROP_SQL = (
    "\n".join(f"DROP TRIGGER IF EXISTS {trigger} ON {table};" for table, trigger in _TRIGGERS)
    + """
DROP FUNCTION IF EXISTS bi_fact_on_orders(), bi_fact_on_parcels(), bi_fact_on_ledger(), bi_fact_on_watch(),
  bi_fact_orders_changed(jsonb, jsonb), bi_fact_refresh(jsonb, bigint[]);
"""
)

# Every fact from the domain tables, independently of the triggers: (community or NULL for all, day) → sums,
# and the first orders. Also what ``install`` fills the tables with.
RECOMPUTE_DAY_SQL = """
WITH o AS (
  SELECT id, user_id, community_id, total_fen, created_at, (created_at AT TIME ZONE %(tz)s)::date AS day
  FROM jielong_order WHERE status <> %(cancelled)s),
parts AS (
  SELECT o.day, o.community_id, o.total_fen AS gross_fen, 0 AS refund_fen, 0 AS customers,
         (p.state = ANY(%(at_point)s))::int AS at_point, (p.state = %(picked)s)::int AS picked_up
  FROM o LEFT JOIN fulfillment_parcel p ON p.order_id = o.id
  UNION ALL
  SELECT greatest(o.day, (l.created_at AT TIME ZONE %(tz)s)::date), o.community_id, 0, l.amount_fen, 0, 0, 0
  FROM o JOIN jielong_ledgerentry l ON l.order_id = o.id AND l.kind = %(refund)s
  UNION ALL
  SELECT (min(created_at) AT TIME ZONE %(tz)s)::date, community_id, 0, 0, 1, 0, 0 FROM o
  GROUP BY user_id, community_id)
SELECT day, community_id, sum(gross_fen), sum(refund_fen), sum(customers), sum(at_point), sum(picked_up)
FROM parts GROUP BY day, community_id
"""
RECOMPUTE_DAY_ALL_SQL = """
WITH o AS (
  SELECT id, user_id, total_fen, created_at, (created_at AT TIME ZONE %(tz)s)::date AS day
  FROM jielong_order WHERE status <> %(cancelled)s),
parts AS (
  SELECT o.day, o.total_fen AS gross_fen, 0 AS refund_fen, 0 AS customers,
         (p.state = ANY(%(at_point)s))::int AS at_point, (p.state = %(picked)s)::int AS picked_up
  FROM o LEFT JOIN fulfillment_parcel p ON p.order_id = o.id
  UNION ALL
  SELECT greatest(o.day, (l.created_at AT TIME ZONE %(tz)s)::date), 0, l.amount_fen, 0, 0, 0
  FROM o JOIN jielong_ledgerentry l ON l.order_id = o.id AND l.kind = %(refund)s
  UNION ALL
  SELECT (min(created_at) AT TIME ZONE %(tz)s)::date, 0, 0, 1, 0, 0 FROM o GROUP BY user_id)
SELECT day, sum(gross_fen), sum(refund_fen), sum(customers), sum(at_point), sum(picked_up)
FROM parts GROUP BY day
"""
RECOMPUTE_FIRST_SQL = """
SELECT user_id, community_id, min(created_at) FROM jielong_order WHERE status <> %(cancelled)s
GROUP BY user_id, community_id
"""
RECOMPUTE_FIRST_ALL_SQL = """
SELECT user_id, min(created_at) FROM jielong_order WHERE status <> %(cancelled)s GROUP BY user_id
"""
_DELIVERY_SQL = """
WITH parcels AS (
  SELECT o.user_id, o.community_id, (o.created_at AT TIME ZONE %(tz)s)::date - date '2000-01-01' AS n,
         COALESCE(p.at_pickup_at, p.picked_up_at) AS arrived,
         (p.delivery_date + %(on_time_by)s::time) AT TIME ZONE %(tz)s AS deadline
  FROM jielong_order o JOIN fulfillment_parcel p ON p.order_id = o.id
  WHERE o.status <> %(cancelled)s AND p.state <> ALL(%(not_delivered)s)),
keyed AS (SELECT user_id, {community} AS community_id, n, arrived, deadline FROM parcels)
SELECT user_id, {key} n / 1024,
       bit_or(CASE WHEN arrived IS NOT NULL THEN B'1'::bit(1024) >> mod(n, 1024)::integer ELSE B'0'::bit(1024) END),
       bit_or(CASE WHEN arrived <= deadline THEN B'1'::bit(1024) >> mod(n, 1024)::integer ELSE B'0'::bit(1024) END)
FROM keyed GROUP BY user_id, community_id, n / 1024
"""
RECOMPUTE_DELIVERY_SQL = _DELIVERY_SQL.format(community="community_id", key="community_id,")
RECOMPUTE_DELIVERY_ALL_SQL = _DELIVERY_SQL.format(community="0", key="")
RECOMPUTE_PENDING_SQL = """
SELECT o.id, o.user_id, o.community_id, (o.created_at AT TIME ZONE %(tz)s)::date, p.delivery_date
FROM jielong_order o JOIN fulfillment_parcel p ON p.order_id = o.id
WHERE o.status <> %(cancelled)s AND p.state <> ALL(%(not_delivered)s)
  AND p.at_pickup_at IS NULL AND p.picked_up_at IS NULL
"""
RECOMPUTE_WATCHERS_SQL = "SELECT user_id, count(*), max(last_seen_at) FROM livestream_watchrecord GROUP BY user_id"

_SUMS_SQL = ", ".join(SUMS)
_NONZERO = " OR ".join(f"sum({c}) <> 0" for c in SUMS)
COMPACT_SQL = f"""
WITH gone AS (DELETE FROM bi_fact_day RETURNING day, community_id, {_SUMS_SQL})
INSERT INTO bi_fact_day (day, community_id, {_SUMS_SQL})
SELECT day, community_id, {", ".join(f"sum({c})" for c in SUMS)} FROM gone GROUP BY day, community_id
HAVING {_NONZERO};
WITH gone AS (DELETE FROM bi_fact_day_all RETURNING day, {_SUMS_SQL})
INSERT INTO bi_fact_day_all (day, {_SUMS_SQL})
SELECT day, {", ".join(f"sum({c})" for c in SUMS)} FROM gone GROUP BY day HAVING {_NONZERO};
"""


def _params() -> dict:
    from .metrics.base import ON_TIME_BY

    return {
        "tz": settings.TIME_ZONE,
        "on_time_by": ON_TIME_BY,
        "not_delivered": list(NOT_DELIVERED),
        "cancelled": CANCELLED,
        "at_point": list(AT_POINT),
        "picked": PICKED_UP,
        "refund": REFUND,
    }


_ORDER_CHANGED = (
    "(x.status = '{cancelled}') <> (y.status = '{cancelled}') OR x.total_fen <> y.total_fen "
    "OR x.created_at <> y.created_at OR x.community_id <> y.community_id OR x.user_id <> y.user_id"
)
_PARCEL_CHANGED = (
    "x.state IS DISTINCT FROM y.state OR x.delivery_date IS DISTINCT FROM y.delivery_date "
    "OR x.at_pickup_at IS DISTINCT FROM y.at_pickup_at OR x.picked_up_at IS DISTINCT FROM y.picked_up_at"
)


def functions_sql() -> str:
    from .metrics.base import ON_TIME_BY

    return _FUNCTIONS.format(
        order_changed=_ORDER_CHANGED.format(cancelled=CANCELLED),
        parcel_changed=_PARCEL_CHANGED,
        tz=settings.TIME_ZONE,
        on_time_by=ON_TIME_BY.isoformat(),
        not_delivered="(" + ", ".join(f"'{s}'" for s in NOT_DELIVERED) + ")",
        cancelled=CANCELLED,
        refund=REFUND,
        picked=PICKED_UP,
        at_point="(" + ", ".join(f"'{s}'" for s in AT_POINT) + ")",
    )


def install(conn=None) -> None:
    """Create the triggers and fill the tables from the domain rows (PostgreSQL; the migration calls it)."""
    conn = conn or connection
    if conn.vendor != "postgresql":
        return
    with conn.cursor() as cursor:
        cursor.execute(functions_sql())
        cursor.execute(
            "LOCK TABLE jielong_order, fulfillment_parcel, jielong_ledgerentry, livestream_watchrecord IN SHARE MODE"
        )
        cursor.execute(
            "TRUNCATE bi_fact_day, bi_fact_day_all, bi_first_order, bi_first_order_all, bi_watcher, "
            "bi_delivery_days, bi_delivery_days_all, bi_delivery_pending"
        )
        p = _params()
        cursor.execute(
            f"INSERT INTO bi_fact_day (day, community_id, {_SUMS_SQL}) {RECOMPUTE_DAY_SQL}",
            p,
        )
        cursor.execute(f"INSERT INTO bi_fact_day_all (day, {_SUMS_SQL}) {RECOMPUTE_DAY_ALL_SQL}", p)
        cursor.execute(f"INSERT INTO bi_first_order (user_id, community_id, first_at) {RECOMPUTE_FIRST_SQL}", p)
        cursor.execute(f"INSERT INTO bi_first_order_all (user_id, first_at) {RECOMPUTE_FIRST_ALL_SQL}", p)
        cursor.execute(f"INSERT INTO bi_watcher (user_id, records, last_seen_at) {RECOMPUTE_WATCHERS_SQL}")
        cursor.execute(
            f"INSERT INTO bi_delivery_days (user_id, community_id, block, arrived, on_time) {RECOMPUTE_DELIVERY_SQL}", p
        )
        cursor.execute(
            f"INSERT INTO bi_delivery_days_all (user_id, block, arrived, on_time) {RECOMPUTE_DELIVERY_ALL_SQL}", p
        )
        cursor.execute(
            "INSERT INTO bi_delivery_pending (order_id, user_id, community_id, day, delivery_date) "
            f"{RECOMPUTE_PENDING_SQL}",
            p,
        )


def uninstall(conn=None) -> None:
    conn = conn or connection
    if conn.vendor == "postgresql":
        with conn.cursor() as cursor:
            cursor.execute(DROP_SQL)


def compact() -> None:
    """Fold each key's delta rows into one (sums unchanged) and refresh the tables' statistics; the rollup worker
    runs it after each catch-up. Exact at any time: readers sum whatever rows there are."""
    if connection.vendor != "postgresql":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(COMPACT_SQL)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE bi_fact_day, bi_fact_day_all")


def recompute() -> dict[str, set]:
    """Every fact from the domain tables (nonzero day rows, first orders) — what the triggers' tables must hold."""
    p = _params()
    with connection.cursor() as cursor:
        cursor.execute(RECOMPUTE_DAY_SQL, p)
        day = {(r[0], r[1], *r[2:]) for r in cursor.fetchall() if any(r[2:])}
        cursor.execute(RECOMPUTE_DAY_ALL_SQL, p)
        day_all = {tuple(r) for r in cursor.fetchall() if any(r[1:])}
        cursor.execute(RECOMPUTE_FIRST_SQL, p)
        first = set(cursor.fetchall())
        cursor.execute(RECOMPUTE_FIRST_ALL_SQL, p)
        first_all = set(cursor.fetchall())
        cursor.execute(RECOMPUTE_WATCHERS_SQL)
        watchers = set(cursor.fetchall())
        cursor.execute(RECOMPUTE_DELIVERY_SQL, p)
        delivery = {tuple(r) for r in cursor.fetchall() if "1" in r[3] + r[4]}
        cursor.execute(RECOMPUTE_DELIVERY_ALL_SQL, p)
        delivery_all = {tuple(r) for r in cursor.fetchall() if "1" in r[2] + r[3]}
        cursor.execute(RECOMPUTE_PENDING_SQL, p)
        pending = set(cursor.fetchall())
    return {
        "day": day,
        "day_all": day_all,
        "first": first,
        "first_all": first_all,
        "watchers": watchers,
        "delivery": delivery,
        "delivery_all": delivery_all,
        "pending": pending,
    }


def stored() -> dict[str, set]:
    """The tables' contents in the shape of :func:`recompute` (each key's rows summed)."""
    sums = ", ".join(f"sum({c})" for c in SUMS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT day, community_id, {sums} FROM bi_fact_day GROUP BY 1, 2")
        day = {tuple(r) for r in cursor.fetchall() if any(r[2:])}
        cursor.execute(f"SELECT day, {sums} FROM bi_fact_day_all GROUP BY 1")
        day_all = {tuple(r) for r in cursor.fetchall() if any(r[1:])}
        cursor.execute("SELECT user_id, community_id, first_at FROM bi_first_order")
        first = set(cursor.fetchall())
        cursor.execute("SELECT user_id, first_at FROM bi_first_order_all")
        first_all = set(cursor.fetchall())
        cursor.execute("SELECT user_id, records, last_seen_at FROM bi_watcher")
        watchers = set(cursor.fetchall())
        cursor.execute("SELECT user_id, community_id, block, arrived, on_time FROM bi_delivery_days")
        delivery = {tuple(r) for r in cursor.fetchall() if "1" in r[3] + r[4]}
        cursor.execute("SELECT user_id, block, arrived, on_time FROM bi_delivery_days_all")
        delivery_all = {tuple(r) for r in cursor.fetchall() if "1" in r[2] + r[3]}
        cursor.execute("SELECT order_id, user_id, community_id, day, delivery_date FROM bi_delivery_pending")
        pending = set(cursor.fetchall())
    return {
        "day": day,
        "day_all": day_all,
        "first": first,
        "first_all": first_all,
        "watchers": watchers,
        "delivery": delivery,
        "delivery_all": delivery_all,
        "pending": pending,
    }


# --- reading ----------------------------------------------------------------------------------------------

_plain: ContextVar[bool] = ContextVar("bi_facts_plain", default=False)


@contextmanager
def plain_queries() -> Iterator[None]:
    """Inside the block the tiles compute from the domain rows with the ORM, as on SQLite: the check that the
    PostgreSQL path (set-based SQL, these tables) gives the same figures and people."""
    token = _plain.set(True)
    try:
        yield
    finally:
        _plain.reset(token)


def sql() -> bool:
    """Whether the tiles take the PostgreSQL path (set-based SQL, the viewers table)."""
    return connection.vendor == "postgresql" and not _plain.get()


def usable(*moments: datetime) -> bool:
    """Whether the day tables answer for these bounds: the PostgreSQL path, and each bound a local midnight of the
    zone the triggers cut days in (a board's period and month ends are)."""
    if not sql() or timezone.get_current_timezone_name() != settings.TIME_ZONE:
        return False
    return all(timezone.localtime(m).time() == time.min for m in moments)


def _day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def sums(community_ids: tuple[int, ...] | None, *, until: datetime, since: datetime | None = None) -> dict[str, int]:
    """The sums over days in [since, until) (local midnights), over every community or the given ones."""
    where, params = ["day < %s"], [_day(until)]
    if since is not None:
        where.append("day >= %s")
        params.append(_day(since))
    table = "bi_fact_day_all"
    if community_ids is not None:
        table = "bi_fact_day"
        where.append("community_id = ANY(%s)")
        params.append(list(community_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(f'COALESCE(sum({c}), 0)' for c in SUMS)} FROM {table} WHERE {' AND '.join(where)}",
            params,
        )
        return dict(zip(SUMS, (int(v) for v in cursor.fetchone()), strict=True))


def customers(community_ids: tuple[int, ...] | None, *, until: datetime) -> int:
    """People with an order that counts, placed before ``until``, in these communities (all: None)."""
    if community_ids is None or len(community_ids) == 1:
        return sums(community_ids, until=until)["customers"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT user_id) FROM bi_first_order WHERE community_id = ANY(%s) AND first_at < %s",
            [list(community_ids), until],
        )
        return cursor.fetchone()[0]


def new_customers_sql(community_ids: tuple[int, ...] | None, since: datetime, until: datetime) -> tuple[str, list]:
    """SQL for the people whose first order that counts, in these communities, was placed in [since, until)."""
    if community_ids is None:
        return "SELECT user_id FROM bi_first_order_all WHERE first_at >= %s AND first_at < %s", [since, until]
    if len(community_ids) == 1:
        return (
            "SELECT user_id FROM bi_first_order WHERE community_id = %s AND first_at >= %s AND first_at < %s",
            [community_ids[0], since, until],
        )
    return (
        "SELECT user_id FROM bi_first_order WHERE community_id = ANY(%s) GROUP BY user_id "
        "HAVING min(first_at) >= %s AND min(first_at) < %s",
        [list(community_ids), since, until],
    )


DAY_ZERO = date(2000, 1, 1)
BLOCK = 1024  # days per row of ``bi_delivery_days``

_ON_TIME_SQL = """
WITH m (block, mask) AS (VALUES {masks}),
u AS (
  SELECT d.user_id, (d.on_time & m.mask) <> B'0'::bit(1024) AS on_time
  FROM {table} d JOIN m ON m.block = d.block
  WHERE {community} (d.arrived & m.mask) <> B'0'::bit(1024)
  UNION ALL
  SELECT user_id, false FROM bi_delivery_pending
  WHERE {pending_community} day >= %s AND day < %s AND (delivery_date + %s::time) AT TIME ZONE %s <= %s)
SELECT count(*), count(*) FILTER (WHERE on_time) FROM (SELECT user_id, bool_or(on_time) AS on_time FROM u GROUP BY user_id) AS x
"""


# One block of days and one row per person (every community, or one): counted in one pass without grouping. A
# person with a parcel not arrived whose noon has passed is due as well; they have a row (the triggers write one
# for every parcel of an order that counts, whatever its bits).
_ON_TIME_ONE_BLOCK_SQL = """
SELECT count(*) FILTER (WHERE (d.arrived & %(mask)s::bit(1024)) <> B'0'::bit(1024)
                           OR d.user_id IN (SELECT p.user_id FROM bi_delivery_pending p
                                            WHERE {pending_community} p.day >= %(since)s AND p.day < %(until)s
                                              AND (p.delivery_date + %(by)s::time) AT TIME ZONE %(tz)s <= %(now)s)),
       count(*) FILTER (WHERE (d.on_time & %(mask)s::bit(1024)) <> B'0'::bit(1024))
FROM {table} d WHERE d.block = %(block)s {community}
"""


def on_time_counts(community_ids: tuple[int, ...] | None, *, since: datetime, until: datetime, now: datetime):
    """(people with a parcel due, people with one on time) among the orders placed in [since, until) (local
    midnights) in these communities: the set bits of the day masks, and the parcels not arrived whose noon has
    passed."""
    from .metrics.base import ON_TIME_BY

    first, last = (_day(since) - DAY_ZERO).days, (_day(until) - DAY_ZERO).days - 1
    if first // BLOCK == last // BLOCK and (community_ids is None or len(community_ids) == 1):
        block = first // BLOCK
        lo, hi = first - block * BLOCK, last - block * BLOCK
        params = {
            "mask": "0" * lo + "1" * (hi - lo + 1) + "0" * (BLOCK - 1 - hi),
            "block": block,
            "since": _day(since),
            "until": _day(until),
            "by": ON_TIME_BY,
            "tz": settings.TIME_ZONE,
            "now": now,
            "community": community_ids[0] if community_ids else None,
        }
        one = community_ids is not None
        sql = _ON_TIME_ONE_BLOCK_SQL.format(
            table="bi_delivery_days" if one else "bi_delivery_days_all",
            community="AND d.community_id = %(community)s" if one else "",
            pending_community="p.community_id = %(community)s AND" if one else "",
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            due, on_time = cursor.fetchone()
        return due, on_time
    masks, params = [], []
    for block in range(first // BLOCK, last // BLOCK + 1):
        lo, hi = max(first, block * BLOCK) - block * BLOCK, min(last, block * BLOCK + BLOCK - 1) - block * BLOCK
        masks.append("(%s, %s::bit(1024))")
        params += [block, "0" * lo + "1" * (hi - lo + 1) + "0" * (BLOCK - 1 - hi)]
    if community_ids is None:
        table, community, pending_community = "bi_delivery_days_all", "", ""
    else:
        table, community, pending_community = (
            "bi_delivery_days",
            "d.community_id = ANY(%s) AND",
            "community_id = ANY(%s) AND",
        )
        params += [list(community_ids), list(community_ids)]  # one for each branch of the union
    params += [_day(since), _day(until), ON_TIME_BY, settings.TIME_ZONE, now]
    sql = _ON_TIME_SQL.format(
        masks=", ".join(masks), table=table, community=community, pending_community=pending_community
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        due, on_time = cursor.fetchone()
    return due, on_time
