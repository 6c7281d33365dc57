"""Who may do what in a community: the one place each question is answered (every service and view asks here)."""

from __future__ import annotations

from .models import Community, Membership, User


def may_manage_community(*, user: User, community: Community | int) -> bool:
    """Operators, and the active leaders (团长) of ``community``, manage it: members, roster, posts, questionnaire."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_operator:
        return True
    community_id = community if isinstance(community, int) else community.pk
    return Membership.objects.filter(
        user=user, community_id=community_id, role=Membership.Role.LEADER, status=Membership.Status.ACTIVE
    ).exists()
