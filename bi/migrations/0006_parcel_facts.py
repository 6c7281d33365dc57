"""Facts for the pickup rate (取货率) from the rollups: each order's parcel as the fulfilment events say (at the point,
picked up), and per day row the parcels that reached the point and were picked up. The rollups written before lack
them, so they are emptied and the worker folds the stream again from its start (as ``manage.py rollups_rebuild``
does)."""

from django.db import migrations, models

REFOLD = """
    DELETE FROM bi_rollup_day; DELETE FROM bi_rollup_day_all; DELETE FROM bi_rollup_order;
    DELETE FROM bi_rollup_campaign; DELETE FROM bi_rollup_customer; DELETE FROM bi_rollup_new_customers_all;
    UPDATE stream_cursor SET position = 0 WHERE name = 'bi.rollups';
"""


class Migration(migrations.Migration):
    dependencies = [
        ("bi", "0005_customer_facts"),
        ("stream", "0001_event_stream"),
    ]

    operations = [
        migrations.AddField(
            model_name="rollupday", name="parcels_at_point", field=models.BigIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="rollupday", name="parcels_picked_up", field=models.BigIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="rollupdayall", name="parcels_at_point", field=models.BigIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="rollupdayall", name="parcels_picked_up", field=models.BigIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="rolluporder",
            name="parcel",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.AddField(
            model_name="rolluporder", name="parcel_event_id", field=models.BigIntegerField(default=0)
        ),
        migrations.RunSQL(REFOLD, migrations.RunSQL.noop),
    ]
