"""The story's members accepted the current privacy notice when they first signed in (a ConsentRecord each),
so the demo's member pages do not ask them again."""

from __future__ import annotations

from django.conf import settings

from community.models import ConsentRecord, User


def seed_privacy() -> int:
    """Idempotent: only members with a consent time and not the current version get a record."""
    version = settings.PRIVACY_NOTICE_VERSION
    due = User.objects.filter(role=User.Role.MEMBER, privacy_consent_at__isnull=False).exclude(
        privacy_notice_version=version
    )
    rows = list(due.values_list("pk", "privacy_consent_at"))
    ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(user_id=pk, version=version, source=ConsentRecord.Source.SIGNIN, consented_at=at)
            for pk, at in rows
        ],
        batch_size=1000,
    )
    User.objects.filter(pk__in=[pk for pk, _at in rows]).update(privacy_notice_version=version)
    return len(rows)
