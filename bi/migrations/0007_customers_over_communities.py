"""Each customer's first day over every community (``RollupCustomerAll``), for the new customers of a board of every
community. Filled from the per-community first days already folded (the earliest of each customer's), so nothing is
folded again; the worker keeps it from here on."""

from django.db import migrations, models

BACKFILL = """
    INSERT INTO bi_rollup_customer_all (user_id, first_day)
    SELECT user_id, min(first_day) FROM bi_rollup_customer GROUP BY user_id;
"""


class Migration(migrations.Migration):
    dependencies = [("bi", "0006_parcel_facts")]

    operations = [
        migrations.CreateModel(
            name="RollupCustomerAll",
            fields=[
                ("user_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("first_day", models.DateField()),
            ],
            options={
                "db_table": "bi_rollup_customer_all",
                "indexes": [models.Index(fields=["first_day"], name="bi_rollup_customer_all_day")],
            },
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
