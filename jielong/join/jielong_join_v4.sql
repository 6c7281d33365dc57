-- jielong_join(campaign, requests, now), version 4: version 3 (jielong_join_v3.sql, kept for
-- history and for migrating back) with the lookup of a request's earlier order split in two probes:
-- the retried request's order by its idempotency key, then the member's live order. Version 3 asked
-- for either in one OR. A cached generic plan cannot serve that OR from the two partial unique
-- indexes (whether the key is empty is a parameter there), so it read the campaign's orders on every
-- join. Each probe now repeats its index's predicate (idempotency_key <> '', status <> 'cancelled'),
-- so a plan of either kind can be one unique-index lookup (tests/jielong/join/test_join_plan.py).
--
-- Version 3 added the refund-abuse blacklist: a person with an active flag in the campaign's brand
-- (community_flag, lifted_at IS NULL) is refused with the neutral code 'not_available' and nothing
-- changes. The EXISTS reads the partial unique index of active flags (flag_one_active_per_person on
-- brand, user). The ORM twin asks community.access.is_flagged.
--
-- Every join of a campaign queues on the campaign row (FOR UPDATE), which is what keeps the
-- sequence numbers gapless and the first-N perk exact; SKU rows are then locked in id order, so
-- campaigns that share a SKU (库存同步) cannot deadlock. Outside this function stock moves only
-- through catalogue.stock (catalogue/stock.py: stock_take / stock_give_back), whose rules this
-- function repeats inside the database (SKU rows in id order, guarded UPDATE ... WHERE stock >= qty):
-- it is the documented twin, so change both together. The ORM twin of the whole join is
-- jielong/join/orm.py. Running the whole join in the database
-- keeps that lock for microseconds instead of several client round trips, and lets a server
-- process many joins that arrive together under one lock and one commit (group commit).
--
-- p_requests: [{"user": id, "items": [[campaign_item_id, quantity], ...], "pickup": id|null,
--               "note": text, "key": idempotency key}, ...], processed in order.
-- Returns one result per request, in order: {"ok": true, "created": bool, "id", "seq", "status",
-- "payment_status", "is_perk", "total_fen", "community", "campaign_version", "formed", "joined",
-- "settle"} or {"ok": false, "code": "...", "params": {...}}. A refused request changes nothing.
-- Codes: closed, not_member, not_available (flagged in the brand), not_open_yet, empty, unknown_item,
-- bad_quantity, over_limit, bad_pickup_point, full, already_joined, below_min_spend, sold_out, changed.
CREATE OR REPLACE FUNCTION jielong_join(p_campaign_id bigint, p_requests jsonb, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql
AS $fn$
DECLARE
    c jielong_campaign%ROWTYPE;
    v_items jsonb;          -- {"<item id>": {"limit", "sku", "price", "perk", "tiers": [[min_joins, price], ...]}}
    v_tier_joins integer[]; -- join counts at which some price tier starts
    req jsonb;
    results jsonb[] := '{}';
    err jsonb;
    v_user bigint;
    v_key text;
    v_order record;
    v_member record;
    v_pickup bigint;
    v_line jsonb;
    v_item jsonb;
    v_tier jsonb;
    v_qty integer;
    v_price integer;
    v_is_perk boolean;
    v_joined_after integer;
    v_total bigint;
    v_lines jsonb;          -- [[item id, quantity, unit price, sku id], ...] in SKU order
    v_order_id bigint;
    v_formed boolean;
    v_sku record;
BEGIN
    SELECT * INTO c FROM jielong_campaign WHERE id = p_campaign_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('ok', false, 'code', 'not_found')), '[]'::jsonb)
                FROM jsonb_array_elements(p_requests));
    END IF;
    SELECT coalesce(jsonb_object_agg(ci.id::text, jsonb_build_object(
               'limit', ci.per_member_limit, 'sku', ci.sku_id, 'price', ci.price_fen, 'perk', ci.perk_price_fen,
               'tiers', coalesce((SELECT jsonb_agg(jsonb_build_array(pt.min_joins, pt.price_fen))
                                  FROM jielong_pricetier pt WHERE pt.item_id = ci.id), '[]'::jsonb))), '{}'::jsonb)
    INTO v_items
    FROM jielong_campaignitem ci WHERE ci.campaign_id = p_campaign_id;
    SELECT coalesce(array_agg(DISTINCT pt.min_joins), '{}') INTO v_tier_joins
    FROM jielong_pricetier pt JOIN jielong_campaignitem ci ON ci.id = pt.item_id
    WHERE ci.campaign_id = p_campaign_id;

    FOR req IN SELECT value FROM jsonb_array_elements(p_requests) LOOP
        err := NULL;
        v_user := (req->>'user')::bigint;
        v_key := coalesce(req->>'key', '');

        -- A retried request (same idempotency key) gets its first answer back, even after closing;
        -- a member's live order means a second one is refused. Two probes of the two partial unique
        -- indexes (order_unique_idempotency_key, order_one_active_per_member), the key's first.
        SELECT * INTO v_order FROM jielong_order
        WHERE campaign_id = p_campaign_id AND idempotency_key = v_key AND idempotency_key <> '';
        IF NOT FOUND THEN
            SELECT * INTO v_order FROM jielong_order
            WHERE campaign_id = p_campaign_id AND user_id = v_user AND status <> 'cancelled';
        END IF;
        IF v_order.id IS NOT NULL AND v_key <> '' AND v_order.idempotency_key = v_key THEN
            IF v_order.user_id = v_user THEN
                results := results || jsonb_build_object(
                    'ok', true, 'created', false, 'id', v_order.id, 'seq', v_order.seq,
                    'status', v_order.status, 'payment_status', v_order.payment_status,
                    'is_perk', v_order.is_perk, 'total_fen', v_order.total_fen,
                    'community', v_order.community_id, 'campaign_version', NULL);
            ELSE
                results := results || jsonb_build_object('ok', false, 'code', 'changed');
            END IF;
            CONTINUE;
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
            ELSIF EXISTS (SELECT 1 FROM community_flag f
                          WHERE f.brand_id = c.brand_id AND f.user_id = v_user AND f.lifted_at IS NULL) THEN
                err := jsonb_build_object('code', 'not_available');
            ELSIF c.opens_at IS NOT NULL AND p_now < c.opens_at - make_interval(
                    mins => CASE WHEN v_member.role = 'koc' THEN c.koc_early_minutes ELSE 0 END) THEN
                err := jsonb_build_object('code', 'not_open_yet');
            ELSIF jsonb_array_length(coalesce(req->'items', '[]'::jsonb)) = 0 THEN
                err := jsonb_build_object('code', 'empty');
            END IF;
        END IF;

        IF err IS NULL THEN
            FOR v_line IN SELECT value FROM jsonb_array_elements(req->'items') LOOP
                v_item := v_items->(v_line->>0);
                v_qty := (v_line->>1)::integer;
                IF v_item IS NULL THEN
                    err := jsonb_build_object('code', 'unknown_item');
                ELSIF v_qty < 1 THEN
                    err := jsonb_build_object('code', 'bad_quantity');
                ELSIF v_qty > (v_item->>'limit')::integer THEN
                    err := jsonb_build_object('code', 'over_limit', 'params', jsonb_build_object(
                        'limit', (v_item->>'limit')::integer, 'item', jielong_sku_label((v_item->>'sku')::bigint)));
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

        IF err IS NULL AND v_order.id IS NOT NULL AND v_order.user_id = v_user AND v_order.status <> 'cancelled' THEN
            err := jsonb_build_object('code', 'already_joined');
        END IF;

        IF err IS NULL THEN
            v_is_perk := c.perk_taken < c.perk_limit;
            v_joined_after := c.joined_count + 1;
            -- Unit price: the community price, lowered by every tier reached and by the first-N price.
            v_lines := '[]'::jsonb;
            v_total := 0;
            FOR v_line IN SELECT value FROM jsonb_array_elements(req->'items') LOOP
                v_item := v_items->(v_line->>0);
                v_qty := (v_line->>1)::integer;
                v_price := (v_item->>'price')::integer;
                FOR v_tier IN SELECT value FROM jsonb_array_elements(v_item->'tiers') LOOP
                    IF (v_tier->>0)::integer <= v_joined_after THEN
                        v_price := LEAST(v_price, (v_tier->>1)::integer);
                    END IF;
                END LOOP;
                IF v_is_perk AND v_item->'perk' <> 'null'::jsonb THEN
                    v_price := LEAST(v_price, (v_item->>'perk')::integer);
                END IF;
                v_lines := v_lines || jsonb_build_array(jsonb_build_array(
                    (v_line->>0)::bigint, v_qty, v_price, (v_item->>'sku')::bigint));
                v_total := v_total + v_qty * v_price;
            END LOOP;
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
            results := results || (err || jsonb_build_object('ok', false));
            CONTINUE;
        END IF;

        INSERT INTO jielong_order (campaign_id, user_id, community_id, pickup_point_id, seq, status, payment_status,
                                   is_perk, total_fen, note, leader_note, refunded_fen, idempotency_key, created_at)
        VALUES (p_campaign_id, v_user, v_member.community_id, v_pickup, c.next_seq, 'joined', 'unpaid',
                v_is_perk, v_total, left(coalesce(req->>'note', ''), 200), '', 0, v_key, p_now)
        RETURNING id INTO v_order_id;
        IF jsonb_array_length(v_lines) = 1 THEN
            INSERT INTO jielong_orderline (order_id, item_id, quantity, unit_price_fen)
            VALUES (v_order_id, (v_lines->0->>0)::bigint, (v_lines->0->>1)::integer, (v_lines->0->>2)::integer);
        ELSE
            INSERT INTO jielong_orderline (order_id, item_id, quantity, unit_price_fen)
            SELECT v_order_id, (l->>0)::bigint, (l->>1)::integer, (l->>2)::integer FROM jsonb_array_elements(v_lines) AS l;
        END IF;

        c.next_seq := c.next_seq + 1;
        c.joined_count := c.joined_count + 1;
        c.perk_taken := c.perk_taken + v_is_perk::integer;
        c.version := c.version + 1;
        v_formed := c.status = 'open' AND c.joined_count >= c.group_threshold;
        IF v_formed THEN
            c.status := 'formed';
            c.formed_at := p_now;
        END IF;
        results := results || jsonb_build_object(
            'ok', true, 'created', true, 'id', v_order_id, 'seq', c.next_seq - 1, 'status', 'joined',
            'payment_status', 'unpaid', 'is_perk', v_is_perk, 'total_fen', v_total,
            'community', v_member.community_id, 'campaign_version', c.version, 'formed', v_formed,
            'joined', c.joined_count,
            -- A price tier unlocked by this join: earlier joiners are settled down after commit.
            'settle', v_joined_after = ANY(v_tier_joins));
    END LOOP;

    UPDATE jielong_campaign
    SET next_seq = c.next_seq, joined_count = c.joined_count, perk_taken = c.perk_taken,
        version = c.version, status = c.status, formed_at = c.formed_at
    WHERE id = p_campaign_id AND version IS DISTINCT FROM c.version;
    RETURN to_jsonb(results);
END
$fn$;
