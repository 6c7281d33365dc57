"""The parcel facts behind 准时送达率 (``bi.models.ParcelDay``, ``bi.models.ParcelDayAll``), kept on PostgreSQL by
statement triggers on ``fulfillment_parcel`` in the transaction that writes the parcels (a split's insert and
upsert, a batch step, 核销 and its undoing, 超时未取, a delete, a truncate) and filled from the rows already there.

A parcel's part is a function of its own row (cancelled or out of stock, delivery day, arrival) and of its order's
local day, community and jielong, which no write changes after the join: an insert adds the parts of the new rows,
a delete takes the old rows' away, an update takes away the old parts and adds the new ones of the rows whose part
can have changed (most steps, pending → shipped → at the warehouse, change none and write nothing). Upserts go in
key order. The local day and the delivery day's noon are in ``bi_parcel_zone()``, the installation's time zone
when the facts were last rebuilt (``manage.py rollups_rebuild`` sets it again and refills them). Other databases
get the tables, empty and unused: the tile reads the parcels there.
"""

from django.conf import settings
from django.db import migrations, models


ZONE = """
CREATE OR REPLACE FUNCTION bi_parcel_zone() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT '{zone}'::text $$;
"""
# Each parcel's part: 1 parcel to be delivered, 1 arrived (at the point's receipt, else at its pickup), 1 on time
# (arrived by 12:00 on its delivery day); times ``sign``.
PARTS = """
    SELECT (o.created_at AT TIME ZONE bi_parcel_zone())::date AS day, o.community_id, o.campaign_id,
           p.delivery_date, {sign} AS parcels,
           {sign} * (coalesce(p.at_pickup_at, p.picked_up_at) IS NOT NULL)::int AS arrived,
           {sign} * coalesce(coalesce(p.at_pickup_at, p.picked_up_at)
                             <= (p.delivery_date + time '12:00') AT TIME ZONE bi_parcel_zone(), FALSE)::int AS on_time
    FROM {rows} AS p JOIN jielong_order AS o ON o.id = p.order_id
    WHERE p.state NOT IN ('cancelled', 'shortage')"""
# The parts summed per key once, then both tables written from those sums, each in key order.
ADD = """
    PERFORM bi_parcel_days_add(array_agg(day), array_agg(community_id), array_agg(campaign_id),
                               array_agg(delivery_date), array_agg(parcels), array_agg(arrived), array_agg(on_time))
    FROM (SELECT day, community_id, campaign_id, delivery_date,
                 sum(parcels) AS parcels, sum(arrived) AS arrived, sum(on_time) AS on_time
          FROM ({parts}) AS d
          GROUP BY 1, 2, 3, 4 HAVING (sum(parcels), sum(arrived), sum(on_time)) <> (0, 0, 0)) AS g;
"""
SUMS = "parcels = t.parcels + EXCLUDED.parcels, arrived = t.arrived + EXCLUDED.arrived, on_time = t.on_time + EXCLUDED.on_time"
ADD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION bi_parcel_days_add(
    days date[], communities bigint[], campaigns bigint[], deliveries date[], n bigint[], a bigint[], o bigint[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF days IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO bi_parcel_day AS t (day, community_id, campaign_id, delivery_date, parcels, arrived, on_time)
    SELECT * FROM unnest(days, communities, campaigns, deliveries, n, a, o) ORDER BY 1, 2, 3, 4
    ON CONFLICT (day, community_id, campaign_id, delivery_date) DO UPDATE SET {SUMS};
    INSERT INTO bi_parcel_day_all AS t (day, campaign_id, delivery_date, parcels, arrived, on_time)
    SELECT g.day, g.campaign_id, g.delivery_date, sum(g.n), sum(g.a), sum(g.o)
    FROM unnest(days, campaigns, deliveries, n, a, o) AS g(day, campaign_id, delivery_date, n, a, o)
    GROUP BY 1, 2, 3 HAVING (sum(g.n), sum(g.a), sum(g.o)) <> (0, 0, 0) ORDER BY 1, 2, 3
    ON CONFLICT (day, campaign_id, delivery_date) DO UPDATE SET {SUMS};
END
$$;"""


def _add(parts: str) -> str:
    return ADD.format(parts=parts)


# An update: the rows whose part can have changed, before and after.
PART_OF = "(p.state IN ('cancelled', 'shortage'), p.delivery_date, coalesce(p.at_pickup_at, p.picked_up_at))"
MOVED = (
    "(SELECT {side}.* FROM removed AS o JOIN added AS n ON n.order_id = o.order_id "
    f"WHERE {PART_OF.replace('p.', 'o.')} IS DISTINCT FROM {PART_OF.replace('p.', 'n.')})"
)


def _function(name: str, body: str) -> str:
    # A split's 100,000 parcels group into a few thousand keys: hashed in memory (32 MB, for the trigger only)
    # rather than sorted on disk under the default 4 MB, a third of the trigger's time.
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql SET work_mem = '32MB' AS $$
BEGIN
{body}
    RETURN NULL;
END
$$;"""


PG_UP = (
    ADD_FUNCTION
    + _function("bi_parcel_days_insert", _add(PARTS.format(sign=1, rows="added")))
    + _function("bi_parcel_days_delete", _add(PARTS.format(sign=-1, rows="removed")))
    + _function(
        "bi_parcel_days_update",
        _add(
            PARTS.format(sign=1, rows=MOVED.format(side="n"))
            + "\n    UNION ALL"
            + PARTS.format(sign=-1, rows=MOVED.format(side="o"))
        ),
    )
    + _function("bi_parcel_days_truncate", "    DELETE FROM bi_parcel_day;\n    DELETE FROM bi_parcel_day_all;")
    + f"""
CREATE OR REPLACE FUNCTION bi_parcel_days_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bi_parcel_day;
    DELETE FROM bi_parcel_day_all;
    -- Set-based (a million parcels are not passed as arrays): the rows per key, then their sums over communities.
    INSERT INTO bi_parcel_day (day, community_id, campaign_id, delivery_date, parcels, arrived, on_time)
    SELECT day, community_id, campaign_id, delivery_date, sum(parcels), sum(arrived), sum(on_time)
    FROM ({PARTS.format(sign=1, rows="fulfillment_parcel")}) AS d
    GROUP BY 1, 2, 3, 4;
    INSERT INTO bi_parcel_day_all (day, campaign_id, delivery_date, parcels, arrived, on_time)
    SELECT day, campaign_id, delivery_date, sum(parcels), sum(arrived), sum(on_time) FROM bi_parcel_day
    GROUP BY 1, 2, 3;
END
$$;
CREATE TRIGGER bi_parcel_days_insert AFTER INSERT ON fulfillment_parcel
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bi_parcel_days_insert();
CREATE TRIGGER bi_parcel_days_update AFTER UPDATE ON fulfillment_parcel
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bi_parcel_days_update();
CREATE TRIGGER bi_parcel_days_delete AFTER DELETE ON fulfillment_parcel
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION bi_parcel_days_delete();
CREATE TRIGGER bi_parcel_days_truncate AFTER TRUNCATE ON fulfillment_parcel
    FOR EACH STATEMENT EXECUTE FUNCTION bi_parcel_days_truncate();
SELECT bi_parcel_days_rebuild();
"""
)
PG_DOWN = "".join(
    f"DROP TRIGGER IF EXISTS bi_parcel_days_{op} ON fulfillment_parcel;\nDROP FUNCTION IF EXISTS bi_parcel_days_{op}();\n"
    for op in ("insert", "update", "delete", "truncate")
) + (
    "DROP FUNCTION IF EXISTS bi_parcel_days_rebuild();\nDROP FUNCTION IF EXISTS bi_parcel_zone();\n"
    "DROP FUNCTION IF EXISTS bi_parcel_days_add(date[], bigint[], bigint[], date[], bigint[], bigint[], bigint[]);\n"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        zone = ZONE.format(zone=settings.TIME_ZONE.replace("'", "''"))
        schema_editor.execute(zone + PG_UP, params=None)  # no placeholders


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DOWN, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("bi", "0007_customers_over_communities"),
        ("fulfillment", "0006_parcel_sweep_indexes"),
        ("jielong", "0017_join_function_v4"),
    ]

    operations = [
        migrations.CreateModel(
            name="ParcelDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("community_id", models.BigIntegerField()),
                ("campaign_id", models.BigIntegerField()),
                ("delivery_date", models.DateField()),
                ("parcels", models.BigIntegerField(default=0)),
                ("arrived", models.BigIntegerField(default=0)),
                ("on_time", models.BigIntegerField(default=0)),
            ],
            options={
                "db_table": "bi_parcel_day",
                "indexes": [
                    models.Index(fields=["campaign_id"], name="bi_parcel_day_campaign"),
                    models.Index(fields=["community_id", "day"], name="bi_parcel_day_community"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "community_id", "campaign_id", "delivery_date"), name="bi_parcel_day_key"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ParcelDayAll",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("campaign_id", models.BigIntegerField()),
                ("delivery_date", models.DateField()),
                ("parcels", models.BigIntegerField(default=0)),
                ("arrived", models.BigIntegerField(default=0)),
                ("on_time", models.BigIntegerField(default=0)),
            ],
            options={
                "db_table": "bi_parcel_day_all",
                "indexes": [models.Index(fields=["campaign_id"], name="bi_parcel_day_all_campaign")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "campaign_id", "delivery_date"), name="bi_parcel_day_all_key"
                    )
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
