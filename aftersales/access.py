"""Who may do what with after-sales requests: the one place it is decided."""

from __future__ import annotations

from community.access import may_manage_community
from community.models import Membership, User

from .models import Request


def may_handle(*, user: User, request: Request) -> bool:
    """Operators, and the active leaders of the request's community, answer and resolve it."""
    return may_manage_community(user=user, community=request.community_id)


def may_see(*, user: User, request: Request) -> bool:
    return request.user_id == user.pk or may_handle(user=user, request=request)


def led_community_ids(*, user: User) -> list[int]:
    """The communities whose requests appear in this leader's queue."""
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.filter(user=user, role=Membership.Role.LEADER, status=Membership.Status.ACTIVE).values_list(
            "community_id", flat=True
        )
    )
