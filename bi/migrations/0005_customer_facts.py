"""Facts for LTV from the rollups: each order's customer and refunds by the day they were paid, the first day of each
customer in each community, new customers per day. The rollups written before lack them, so they are emptied and
the worker folds the stream again from its start (as ``manage.py rollups_rebuild`` does)."""

from django.db import migrations, models

REFOLD = """
    DELETE FROM bi_rollup_day; DELETE FROM bi_rollup_day_all; DELETE FROM bi_rollup_order;
    DELETE FROM bi_rollup_campaign;
    UPDATE stream_cursor SET position = 0 WHERE name = 'bi.rollups';
"""


class Migration(migrations.Migration):
    dependencies = [
        ("bi", "0004_watch_facts"),
        ("stream", "0001_event_stream"),
    ]

    operations = [
        migrations.CreateModel(
            name="RollupCustomer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_id", models.BigIntegerField()),
                ("community_id", models.BigIntegerField()),
                ("first_day", models.DateField()),
            ],
            options={
                "db_table": "bi_rollup_customer",
            },
        ),
        migrations.CreateModel(
            name="RollupNewCustomersAll",
            fields=[
                ("day", models.DateField(primary_key=True, serialize=False)),
                ("customers", models.BigIntegerField(default=0)),
            ],
            options={
                "db_table": "bi_rollup_new_customers_all",
            },
        ),
        migrations.AddField(
            model_name="rollupday",
            name="refund_paid_fen",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="rollupdayall",
            name="refund_paid_fen",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="rolluporder",
            name="refunds",
            field=models.JSONField(default=dict),
        ),
        migrations.AddField(
            model_name="rolluporder",
            name="user_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddIndex(
            model_name="rolluporder",
            index=models.Index(fields=["user_id", "community_id"], name="bi_rollup_order_customer"),
        ),
        migrations.AddIndex(
            model_name="rollupcustomer",
            index=models.Index(fields=["community_id", "first_day"], name="bi_rollup_customer_community"),
        ),
        migrations.AddConstraint(
            model_name="rollupcustomer",
            constraint=models.UniqueConstraint(fields=("user_id", "community_id"), name="bi_rollup_customer_key"),
        ),
        migrations.RunSQL(REFOLD, migrations.RunSQL.noop),
    ]
