"""The referred new customers per day behind 裂变新客占比 on a board of every community
(``bi.models.ReferredNewCustomersAll``): the customers of ``bi_rollup_customer_all`` (their first day anywhere, the
stream's fold) who are in ``bi_referred_member`` (brought in by a viewer, the referral triggers), counted by that
first day. Statement triggers on both tables append the changes: a customer's first day added, moved or gone while
they are referred; a member becoming or ceasing to be referred while they are a customer. ``bi_referred_new_compact``
sums each day's rows into one (the fold calls it).

The two writers are different transactions: the fold can move a customer's first day while a membership makes them
referred. Each trigger takes a transaction-scoped advisory lock per customer (key ``(1410, user id)``, the two-key
space, apart from the fulfilment day locks) before it reads the other table, so the later of the two waits for the
earlier's commit and sees its row. Other databases get the table, empty and unused.
"""

from django.db import migrations, models

LOCK = "PERFORM pg_advisory_xact_lock(1410, (u & 2147483647)::int) FROM (SELECT DISTINCT user_id AS u FROM ({users}) AS s ORDER BY 1) AS l;\n"


def _function(name: str, users: str, changes: str) -> str:
    """A statement trigger that locks the customers ``users`` names, then appends ``changes`` (day, ±1 rows)."""
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {LOCK.format(users=users)}
    INSERT INTO bi_referred_new_customers_all (day, customers)
    SELECT day, sum(step) FROM ({changes}) AS c(day, step) GROUP BY day HAVING sum(step) <> 0;
    RETURN NULL;
END
$$;"""


def _customers(side: str, step: int) -> str:
    """The transition table ``side`` of the customers' first days: its referred customers' days, ``step`` each."""
    return (
        f"SELECT {side}.first_day, {step} FROM {side} "
        f"WHERE EXISTS (SELECT 1 FROM bi_referred_member AS r WHERE r.user_id = {side}.user_id)"
    )


def _referred(side: str, step: int) -> str:
    """The transition table ``side`` of the referred members: the first days of those who are customers."""
    return f"SELECT c.first_day, {step} FROM {side} JOIN bi_rollup_customer_all AS c ON c.user_id = {side}.user_id"


FUNCTIONS = {
    "bi_referred_new_customer_insert": ("SELECT user_id FROM added", _customers("added", 1)),
    "bi_referred_new_customer_update": (
        "SELECT user_id FROM removed UNION ALL SELECT user_id FROM added",
        _customers("removed", -1) + " UNION ALL " + _customers("added", 1),
    ),
    "bi_referred_new_customer_delete": ("SELECT user_id FROM removed", _customers("removed", -1)),
    "bi_referred_new_referred_insert": ("SELECT user_id FROM added", _referred("added", 1)),
    "bi_referred_new_referred_update": (
        "SELECT user_id FROM removed UNION ALL SELECT user_id FROM added",
        _referred("removed", -1) + " UNION ALL " + _referred("added", 1),
    ),
    "bi_referred_new_referred_delete": ("SELECT user_id FROM removed", _referred("removed", -1)),
}
TRIGGERS = {  # name: (table, event, transition tables, function)
    "bi_referred_new_customer_insert": ("bi_rollup_customer_all", "INSERT", "NEW TABLE AS added"),
    "bi_referred_new_customer_update": ("bi_rollup_customer_all", "UPDATE", "OLD TABLE AS removed NEW TABLE AS added"),
    "bi_referred_new_customer_delete": ("bi_rollup_customer_all", "DELETE", "OLD TABLE AS removed"),
    "bi_referred_new_referred_insert": ("bi_referred_member", "INSERT", "NEW TABLE AS added"),
    "bi_referred_new_referred_update": ("bi_referred_member", "UPDATE", "OLD TABLE AS removed NEW TABLE AS added"),
    "bi_referred_new_referred_delete": ("bi_referred_member", "DELETE", "OLD TABLE AS removed"),
}
TRUNCATED = {
    "bi_referred_new_customer_truncate": "bi_rollup_customer_all",
    "bi_referred_new_referred_truncate": "bi_referred_member",
}
COMPACT = """
CREATE OR REPLACE FUNCTION bi_referred_new_compact() RETURNS void LANGUAGE sql AS $$
    -- the rows this statement sees, one per day; rows appended meanwhile stay as they are
    WITH gone AS (DELETE FROM bi_referred_new_customers_all
                  WHERE day IN (SELECT day FROM bi_referred_new_customers_all GROUP BY day HAVING count(*) > 1)
                  RETURNING day, customers)
    INSERT INTO bi_referred_new_customers_all (day, customers)
    SELECT day, sum(customers) FROM gone GROUP BY day HAVING sum(customers) <> 0 ORDER BY day;
$$;"""
FILL = """
INSERT INTO bi_referred_new_customers_all (day, customers)
SELECT c.first_day, count(*) FROM bi_rollup_customer_all AS c JOIN bi_referred_member AS r ON r.user_id = c.user_id
GROUP BY 1 ORDER BY 1;
"""

PG_UP = (
    "".join(_function(name, users, changes) for name, (users, changes) in FUNCTIONS.items())
    + """
CREATE OR REPLACE FUNCTION bi_referred_new_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bi_referred_new_customers_all;
    RETURN NULL;
END
$$;"""
    + COMPACT
    + "".join(
        f"\nCREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}();"
        for name, (table, event, tables) in TRIGGERS.items()
    )
    + "".join(
        f"\nCREATE TRIGGER {name} AFTER TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bi_referred_new_truncate();"
        for name, table in TRUNCATED.items()
    )
    + FILL
)
PG_DOWN = (
    "".join(f"DROP TRIGGER IF EXISTS {name} ON {table};\n" for name, (table, *_rest) in TRIGGERS.items())
    + "".join(f"DROP TRIGGER IF EXISTS {name} ON {table};\n" for name, table in TRUNCATED.items())
    + "".join(f"DROP FUNCTION IF EXISTS {name}();\n" for name in FUNCTIONS)
    + "DROP FUNCTION IF EXISTS bi_referred_new_truncate();\n"
    + "DROP FUNCTION IF EXISTS bi_referred_new_compact();\n"
)


def _run(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("bi", "0009_referred_members"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReferredNewCustomersAll",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("customers", models.BigIntegerField()),
            ],
            options={
                "db_table": "bi_referred_new_customers_all",
                "indexes": [models.Index(fields=["day"], name="bi_referred_new_day")],
            },
        ),
        migrations.RunPython(_run(PG_UP), _run(PG_DOWN)),
    ]
