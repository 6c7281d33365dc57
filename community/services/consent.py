"""The privacy notice's acceptances (隐私政策同意): one ``ConsentRecord`` per acceptance of a version."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction

from groupbuy import clock

from ..models import ConsentRecord, User


def current_notice_version() -> str:
    return settings.PRIVACY_NOTICE_VERSION


def privacy_consent_record(
    *, user: User, source: str, version: str | None = None, now: datetime | None = None
) -> ConsentRecord | None:
    """``user`` accepted the privacy notice ``version`` (default: the current one). Records it and makes it the
    user's accepted version; an acceptance of the version they already accepted records nothing (``None``)."""
    version = version or current_notice_version()
    now = now or clock.now()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.privacy_notice_version == version:
            return None
        record = ConsentRecord.objects.create(user=locked, version=version, source=source, consented_at=now)
        User.objects.filter(pk=user.pk).update(privacy_notice_version=version, privacy_consent_at=now)
    user.privacy_notice_version = version
    user.privacy_consent_at = now
    return record
