"""Row locks shared by several services."""

from __future__ import annotations

from ..models import Community


def lock_community(community: Community) -> Community:
    """Lock the community row: joins, approvals, imports and capacity changes take it, so capacity holds."""
    return Community.objects.select_for_update().get(pk=community.pk)
