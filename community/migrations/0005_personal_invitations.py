"""Every active member gets their personal invitation code now, so the pages that show it only read it.

From here on the code is made where the membership becomes active (a join, an approval, a roster
import: ``community.services.invitations_personal_ensure``); before, the first page view made it.
"""

import secrets

from django.db import migrations

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # as community.services.joining.INVITATION_ALPHABET
LENGTH = 8
BATCH = 1000


def backfill(apps, schema_editor):
    Invitation = apps.get_model("community", "Invitation")
    Membership = apps.get_model("community", "Membership")
    have = set(Invitation.objects.filter(is_personal=True).values_list("community_id", "inviter_id"))
    taken = set(Invitation.objects.values_list("code", flat=True))
    missing = [
        pair
        for pair in Membership.objects.filter(status="active")
        .order_by("pk")
        .values_list("community_id", "user_id")
        .iterator()
        if pair not in have
    ]
    rows = []
    for community_id, user_id in missing:
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        while code in taken:
            code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        taken.add(code)
        rows.append(Invitation(code=code, community_id=community_id, inviter_id=user_id, is_personal=True))
    Invitation.objects.bulk_create(rows, batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [("community", "0004_daily_rhythm")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
