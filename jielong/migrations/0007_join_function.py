from django.db import migrations

# Version 1 of the join function, kept here only: migration 0008 replaces it with version 2
# (jielong/join/jielong_join_v2.sql) and runs this text again when it is reversed.
# ``jielong_sku_label`` defined here is still used by version 2.
SQL = r"""
-- jielong_join(campaign, requests, now): one or more joins of one campaign in a single transaction.
--
-- Every join of a campaign queues on the campaign row (FOR UPDATE), which is what keeps the
-- sequence numbers gapless and the first-N perk exact; SKU rows are then locked in id order, so
-- campaigns that share a SKU (库存同步) cannot deadlock. Running the whole join in the database
-- keeps that lock for microseconds instead of several client round trips, and lets a server
-- process many joins that arrive together under one lock and one commit (group commit).
--
-- p_requests: [{"user": id, "items": [[campaign_item_id, quantity], ...], "pickup": id|null,
--               "note": text, "key": idempotency key}, ...], processed in order.
-- Returns one result per request, in order: {"ok": true, "created": bool, "id", "seq", "status",
-- "payment_status", "is_perk", "total_fen", "community", "campaign_version", "formed", "settle"}
-- or {"ok": false, "code": "...", "params": {...}}. A refused request changes nothing.
-- "上海青 500g": the product name and the SKU's spec values, as SKU.__str__ shows it.
CREATE OR REPLACE FUNCTION jielong_sku_label(p_sku_id bigint) RETURNS text
LANGUAGE sql STABLE
AS $fn$
    SELECT trim(p.name || ' ' || coalesce((SELECT string_agg(v, ' ') FROM jsonb_each_text(s.spec) AS x(k, v)), ''))
    FROM catalogue_sku s JOIN catalogue_product p ON p.id = s.product_id
    WHERE s.id = p_sku_id
$fn$;

CREATE OR REPLACE FUNCTION jielong_join(p_campaign_id bigint, p_requests jsonb, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    c jielong_campaign%ROWTYPE;
    req jsonb;
    results jsonb := '[]'::jsonb;
    err jsonb;
    v_user bigint;
    v_key text;
    v_order record;
    v_member record;
    v_pickup bigint;
    v_line record;
    v_is_perk boolean;
    v_joined_after integer;
    v_total bigint;
    v_lines jsonb;
    v_order_id bigint;
    v_formed boolean;
    v_sku record;
BEGIN
    SELECT * INTO c FROM jielong_campaign WHERE id = p_campaign_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('ok', false, 'code', 'not_found')), '[]'::jsonb)
                FROM jsonb_array_elements(p_requests));
    END IF;

    FOR req IN SELECT value FROM jsonb_array_elements(p_requests) LOOP
        err := NULL;
        v_user := (req->>'user')::bigint;
        v_key := coalesce(req->>'key', '');

        -- A retried request (same idempotency key) gets its first answer back, even after closing.
        IF v_key <> '' THEN
            SELECT * INTO v_order FROM jielong_order WHERE campaign_id = p_campaign_id AND idempotency_key = v_key;
            IF FOUND THEN
                IF v_order.user_id = v_user THEN
                    results := results || jsonb_build_array(jsonb_build_object(
                        'ok', true, 'created', false, 'id', v_order.id, 'seq', v_order.seq,
                        'status', v_order.status, 'payment_status', v_order.payment_status,
                        'is_perk', v_order.is_perk, 'total_fen', v_order.total_fen,
                        'community', v_order.community_id, 'campaign_version', NULL));
                ELSE
                    results := results || jsonb_build_array(jsonb_build_object('ok', false, 'code', 'changed'));
                END IF;
                CONTINUE;
            END IF;
        END IF;

        IF c.status NOT IN ('open', 'formed') OR c.closes_at <= p_now THEN
            err := jsonb_build_object('code', 'closed');
        END IF;

        IF err IS NULL THEN
            -- The member's first active membership among the campaign's communities.
            SELECT m.community_id, m.role, m.default_pickup_point_id INTO v_member
            FROM community_membership m
            JOIN jielong_campaign_communities cc ON cc.community_id = m.community_id AND cc.campaign_id = p_campaign_id
            WHERE m.user_id = v_user AND m.status = 'active'
            ORDER BY m.id LIMIT 1;
            IF NOT FOUND THEN
                err := jsonb_build_object('code', 'not_member');
            ELSIF c.opens_at IS NOT NULL AND p_now < c.opens_at - make_interval(
                    mins => CASE WHEN v_member.role = 'koc' THEN c.koc_early_minutes ELSE 0 END) THEN
                err := jsonb_build_object('code', 'not_open_yet');
            ELSIF jsonb_array_length(coalesce(req->'items', '[]'::jsonb)) = 0 THEN
                err := jsonb_build_object('code', 'empty');
            END IF;
        END IF;

        IF err IS NULL THEN
            FOR v_line IN
                SELECT (e->>0)::bigint AS item_id, (e->>1)::integer AS quantity, ci.id AS found,
                       ci.per_member_limit, ci.sku_id
                FROM jsonb_array_elements(req->'items') WITH ORDINALITY AS t(e, n)
                LEFT JOIN jielong_campaignitem ci ON ci.id = (e->>0)::bigint AND ci.campaign_id = p_campaign_id
                ORDER BY n
            LOOP
                IF v_line.found IS NULL THEN
                    err := jsonb_build_object('code', 'unknown_item');
                ELSIF v_line.quantity < 1 THEN
                    err := jsonb_build_object('code', 'bad_quantity');
                ELSIF v_line.quantity > v_line.per_member_limit THEN
                    err := jsonb_build_object('code', 'over_limit', 'params',
                        jsonb_build_object('limit', v_line.per_member_limit, 'item', jielong_sku_label(v_line.sku_id)));
                END IF;
                EXIT WHEN err IS NOT NULL;
            END LOOP;
        END IF;

        IF err IS NULL THEN
            v_pickup := v_member.default_pickup_point_id;
            IF jsonb_typeof(req->'pickup') = 'number' THEN
                SELECT id INTO v_pickup FROM community_pickuppoint
                WHERE id = (req->>'pickup')::bigint AND community_id = v_member.community_id AND is_active;
                IF NOT FOUND THEN
                    err := jsonb_build_object('code', 'bad_pickup_point');
                END IF;
            END IF;
        END IF;

        IF err IS NULL AND c.max_orders IS NOT NULL AND c.joined_count >= c.max_orders THEN
            err := jsonb_build_object('code', 'full');
        END IF;

        IF err IS NULL AND EXISTS (
            SELECT 1 FROM jielong_order WHERE campaign_id = p_campaign_id AND user_id = v_user AND status <> 'cancelled'
        ) THEN
            err := jsonb_build_object('code', 'already_joined');
        END IF;

        IF err IS NULL THEN
            v_is_perk := c.perk_taken < c.perk_limit;
            v_joined_after := c.joined_count + 1;
            -- Unit price: the community price, lowered by every tier reached and by the first-N price.
            SELECT jsonb_agg(jsonb_build_array(l.item_id, l.quantity, l.unit_price, l.sku_id) ORDER BY l.sku_id),
                   sum(l.quantity * l.unit_price)
            INTO v_lines, v_total
            FROM (
                SELECT (e->>0)::bigint AS item_id, (e->>1)::integer AS quantity, ci.sku_id,
                       LEAST(
                           ci.price_fen,
                           coalesce((SELECT min(pt.price_fen) FROM jielong_pricetier pt
                                     WHERE pt.item_id = ci.id AND pt.min_joins <= v_joined_after), ci.price_fen),
                           CASE WHEN v_is_perk THEN coalesce(ci.perk_price_fen, ci.price_fen) ELSE ci.price_fen END
                       ) AS unit_price
                FROM jsonb_array_elements(req->'items') AS e
                JOIN jielong_campaignitem ci ON ci.id = (e->>0)::bigint
            ) l;
            IF v_total < c.min_spend_fen THEN
                err := jsonb_build_object('code', 'below_min_spend', 'params', jsonb_build_object('amount_fen', c.min_spend_fen));
            END IF;
        END IF;

        IF err IS NULL THEN
            IF jsonb_array_length(v_lines) = 1 THEN
                -- The common case: one guarded decrement.
                UPDATE catalogue_sku SET stock = stock - (v_lines->0->>1)::integer
                WHERE id = (v_lines->0->>3)::bigint AND stock >= (v_lines->0->>1)::integer;
                IF NOT FOUND THEN
                    err := jsonb_build_object('code', 'sold_out', 'params',
                        jsonb_build_object('item', jielong_sku_label((v_lines->0->>3)::bigint)));
                END IF;
            ELSE
                -- Several SKUs: lock them in id order, check them all, then take them all.
                FOR v_sku IN
                    SELECT s.id, s.stock, (l->>1)::integer AS quantity
                    FROM jsonb_array_elements(v_lines) AS l
                    JOIN catalogue_sku s ON s.id = (l->>3)::bigint
                    ORDER BY s.id
                    FOR UPDATE OF s
                LOOP
                    IF v_sku.stock < v_sku.quantity THEN
                        err := jsonb_build_object('code', 'sold_out', 'params', jsonb_build_object('item', jielong_sku_label(v_sku.id)));
                        EXIT;
                    END IF;
                END LOOP;
                IF err IS NULL THEN
                    UPDATE catalogue_sku s SET stock = s.stock - (l->>1)::integer
                    FROM jsonb_array_elements(v_lines) AS l
                    WHERE s.id = (l->>3)::bigint;
                END IF;
            END IF;
        END IF;

        IF err IS NOT NULL THEN
            results := results || jsonb_build_array(err || jsonb_build_object('ok', false));
            CONTINUE;
        END IF;

        INSERT INTO jielong_order (campaign_id, user_id, community_id, pickup_point_id, seq, status, payment_status,
                                   is_perk, total_fen, note, leader_note, refunded_fen, idempotency_key, created_at)
        VALUES (p_campaign_id, v_user, v_member.community_id, v_pickup, c.next_seq, 'joined', 'unpaid',
                v_is_perk, v_total, left(coalesce(req->>'note', ''), 200), '', 0, v_key, p_now)
        RETURNING id INTO v_order_id;
        INSERT INTO jielong_orderline (order_id, item_id, quantity, unit_price_fen)
        SELECT v_order_id, (l->>0)::bigint, (l->>1)::integer, (l->>2)::integer FROM jsonb_array_elements(v_lines) AS l;

        c.next_seq := c.next_seq + 1;
        c.joined_count := c.joined_count + 1;
        c.perk_taken := c.perk_taken + v_is_perk::integer;
        c.version := c.version + 1;
        v_formed := c.status = 'open' AND c.joined_count >= c.group_threshold;
        IF v_formed THEN
            c.status := 'formed';
            c.formed_at := p_now;
        END IF;
        results := results || jsonb_build_array(jsonb_build_object(
            'ok', true, 'created', true, 'id', v_order_id, 'seq', c.next_seq - 1, 'status', 'joined',
            'payment_status', 'unpaid', 'is_perk', v_is_perk, 'total_fen', v_total,
            'community', v_member.community_id, 'campaign_version', c.version, 'formed', v_formed,
            'joined', c.joined_count,
            -- A price tier unlocked by this join: earlier joiners are settled down after commit.
            'settle', EXISTS (SELECT 1 FROM jielong_pricetier pt JOIN jielong_campaignitem ci ON ci.id = pt.item_id
                              WHERE ci.campaign_id = p_campaign_id AND pt.min_joins = v_joined_after)));
    END LOOP;

    UPDATE jielong_campaign
    SET next_seq = c.next_seq, joined_count = c.joined_count, perk_taken = c.perk_taken,
        version = c.version, status = c.status, formed_at = c.formed_at
    WHERE id = p_campaign_id AND version IS DISTINCT FROM c.version;
    RETURN results;
END
$fn$;
"""
DROP = "DROP FUNCTION IF EXISTS jielong_join(bigint, jsonb, timestamptz); DROP FUNCTION IF EXISTS jielong_sku_label(bigint);"


def _run(sql):
    def operation(apps, schema_editor):
        # PostgreSQL only: on the embedded SQLite demo joins use the ORM (jielong/join/orm.py).
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)  # no parameters: the body's "%ROWTYPE" is not a placeholder

    return operation


class Migration(migrations.Migration):
    """The join as one PL/pgSQL function, version 1 (the text above; see services.order_join)."""

    dependencies = [("jielong", "0006_builder_images_changes")]

    operations = [migrations.RunPython(_run(SQL), _run(DROP))]
