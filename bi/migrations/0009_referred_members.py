"""The referral facts behind 裂变新客占比 (``bi.models.ReferredMember``): the members brought in by someone who has
watched a live, kept on PostgreSQL by statement triggers on ``community_membership`` (a membership added, left,
re-activated, its inviter changed or cleared, deleted, truncated) and on ``bi_viewer_sessions`` (an inviter's
first watch record, or their last one gone), and filled from the rows already there.

Each statement names the members it can move — the memberships' own members; the members an inviter brought in,
when the inviter starts or stops having a watch record — and ``bi_referred_refresh`` recomputes exactly those from
the domain rows. An inviter's first watch and an invitee's membership can be written at the same moment by two
transactions that cannot see each other: the viewer side locks the inviter's user row ``FOR UPDATE`` before it
reads the memberships, and the membership side takes ``FOR KEY SHARE`` on it before it reads the viewer facts (the
foreign key's own check comes only at commit: Django's constraints are deferred), so the later of the two waits for
the other and sees its rows. Other
databases get the table, empty and unused: the tile reads the memberships there.
"""

from django.db import migrations, models

ZERO = "repeat('0', 1024)::bit(1024)"
REFRESH = f"""
CREATE OR REPLACE FUNCTION bi_referred_refresh(users bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF users IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM bi_referred_member AS r
    WHERE r.user_id = ANY(users) AND NOT EXISTS (
        SELECT 1 FROM community_membership AS m JOIN bi_viewer_sessions AS v ON v.user_id = m.invited_by_id
        WHERE m.user_id = r.user_id AND m.status = 'active' AND v.sessions <> {ZERO});
    INSERT INTO bi_referred_member (user_id)
    SELECT DISTINCT u FROM unnest(users) AS u
    WHERE EXISTS (
        SELECT 1 FROM community_membership AS m JOIN bi_viewer_sessions AS v ON v.user_id = m.invited_by_id
        WHERE m.user_id = u AND m.status = 'active' AND v.sessions <> {ZERO})
    ORDER BY 1
    ON CONFLICT (user_id) DO NOTHING;
END
$$;"""


def _function(name: str, body: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{body}
    RETURN NULL;
END
$$;"""


def _refresh(users: str) -> str:
    return f"    PERFORM bi_referred_refresh(array_agg(DISTINCT user_id)) FROM ({users}) AS changed;\n"


# Memberships: those with an inviter (an insert or a delete of one without cannot move anyone); for an update, the
# rows whose member, status or inviter changed, before and after.
MEMBERSHIP_CHANGED = (
    "SELECT {side}.user_id, {side}.invited_by_id FROM removed AS o JOIN added AS n ON n.id = o.id "
    "WHERE (o.user_id, o.status, o.invited_by_id) IS DISTINCT FROM (n.user_id, n.status, n.invited_by_id)"
)
KEY_SHARE = (
    "    PERFORM 1 FROM community_user WHERE id IN (SELECT invited_by_id FROM ({rows}) AS r) ORDER BY id FOR KEY SHARE;\n"
)
# Viewer facts: the members whose "has a watch record" may have flipped (a row with bits set added or removed, or
# an update between none and some); the members they invited are refreshed, after their user rows are locked.
HAS_BITS = f"sessions <> {ZERO}"
VIEWERS_FLIPPED = {
    "insert": f"SELECT user_id FROM added WHERE {HAS_BITS}",
    "delete": f"SELECT user_id FROM removed WHERE {HAS_BITS}",
    "update": (
        "SELECT n.user_id FROM removed AS o JOIN added AS n ON n.id = o.id "
        f"WHERE (o.{HAS_BITS}) IS DISTINCT FROM (n.{HAS_BITS}) "
        "UNION SELECT o.user_id FROM removed AS o JOIN added AS n ON n.id = o.id WHERE o.user_id <> n.user_id"
    ),
}


def _viewers(flipped: str) -> str:
    return (
        "    PERFORM 1 FROM community_user WHERE id IN ("
        + flipped
        + ") ORDER BY id FOR UPDATE;\n"
        + _refresh(f"SELECT m.user_id FROM community_membership AS m WHERE m.invited_by_id IN ({flipped})")
    )


PG_UP = (
    REFRESH
    + _function(
        "bi_referred_membership_insert",
        KEY_SHARE.format(rows="SELECT invited_by_id FROM added")
        + _refresh("SELECT user_id FROM added WHERE invited_by_id IS NOT NULL"),
    )
    + _function("bi_referred_membership_delete", _refresh("SELECT user_id FROM removed WHERE invited_by_id IS NOT NULL"))
    + _function(
        "bi_referred_membership_update",
        KEY_SHARE.format(rows=MEMBERSHIP_CHANGED.format(side="n"))
        + _refresh(MEMBERSHIP_CHANGED.format(side="o") + " UNION ALL " + MEMBERSHIP_CHANGED.format(side="n")),
    )
    + _function("bi_referred_truncate", "    DELETE FROM bi_referred_member;")
    + "".join(_function(f"bi_referred_viewers_{op}", _viewers(flipped)) for op, flipped in VIEWERS_FLIPPED.items())
    + """
CREATE TRIGGER bi_referred_membership_insert AFTER INSERT ON community_membership
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bi_referred_membership_insert();
CREATE TRIGGER bi_referred_membership_update AFTER UPDATE ON community_membership
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bi_referred_membership_update();
CREATE TRIGGER bi_referred_membership_delete AFTER DELETE ON community_membership
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION bi_referred_membership_delete();
CREATE TRIGGER bi_referred_membership_truncate AFTER TRUNCATE ON community_membership
    FOR EACH STATEMENT EXECUTE FUNCTION bi_referred_truncate();
CREATE TRIGGER bi_referred_viewers_insert AFTER INSERT ON bi_viewer_sessions
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bi_referred_viewers_insert();
CREATE TRIGGER bi_referred_viewers_update AFTER UPDATE ON bi_viewer_sessions
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bi_referred_viewers_update();
CREATE TRIGGER bi_referred_viewers_delete AFTER DELETE ON bi_viewer_sessions
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION bi_referred_viewers_delete();
CREATE TRIGGER bi_referred_viewers_truncate AFTER TRUNCATE ON bi_viewer_sessions
    FOR EACH STATEMENT EXECUTE FUNCTION bi_referred_truncate();
"""
    + f"""
INSERT INTO bi_referred_member (user_id)
SELECT DISTINCT m.user_id FROM community_membership AS m JOIN bi_viewer_sessions AS v ON v.user_id = m.invited_by_id
WHERE m.status = 'active' AND v.{HAS_BITS}
ORDER BY 1;
"""
)
TRIGGERS = (
    ("membership_insert", "community_membership"),
    ("membership_update", "community_membership"),
    ("membership_delete", "community_membership"),
    ("membership_truncate", "community_membership"),
    ("viewers_insert", "bi_viewer_sessions"),
    ("viewers_update", "bi_viewer_sessions"),
    ("viewers_delete", "bi_viewer_sessions"),
    ("viewers_truncate", "bi_viewer_sessions"),
)
FUNCTIONS = ("membership_insert", "membership_update", "membership_delete", "truncate") + tuple(
    f"viewers_{op}" for op in VIEWERS_FLIPPED
)
PG_DOWN = (
    "".join(f"DROP TRIGGER IF EXISTS bi_referred_{name} ON {table};\n" for name, table in TRIGGERS)
    + "".join(f"DROP FUNCTION IF EXISTS bi_referred_{name}();\n" for name in FUNCTIONS)
    + "DROP FUNCTION IF EXISTS bi_referred_refresh(bigint[]);\n"
)


def _run(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("bi", "0008_parcel_days"),
        ("community", "0009_privacy_consent"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReferredMember",
            fields=[
                ("user_id", models.BigIntegerField(primary_key=True, serialize=False)),
            ],
            options={
                "db_table": "bi_referred_member",
            },
        ),
        migrations.RunPython(_run(PG_UP), _run(PG_DOWN)),
    ]
