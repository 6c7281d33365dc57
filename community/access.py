"""Who may do what in a community: the one place each question is answered (every service and view asks here)."""

from __future__ import annotations

from .models import Brand, Community, Flag, Membership, User


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


def staff_brand_ids(user: User) -> frozenset[int] | None:
    """The brands whose data ``user`` may see in the console and the host panel: ``None`` means every
    brand (a superuser, or staff with no brand: the installation's own); otherwise their one brand.
    Every console query and object lookup is narrowed by this one answer (cross-brand isolation)."""
    if user.is_superuser or user.brand_id is None:
        return None
    return frozenset({user.brand_id})


def may_see_brand(*, user: User, brand: Brand | int | None) -> bool:
    """Whether staff ``user`` may see something of ``brand`` (``None``: belongs to no brand, everyone may)."""
    allowed = staff_brand_ids(user)
    if allowed is None or brand is None:
        return True
    return (brand if isinstance(brand, int) else brand.pk) in allowed


def is_flagged(*, user: User | int, brand: Brand | int) -> bool:
    """Whether ``user`` has an active refund-abuse flag (售后黑名单) in ``brand``: they may look at every
    page but not join a jielong or open an after-sales request. The one answer in Python; the join
    function ``jielong_join`` (jielong/join/jielong_join_v3.sql) asks the same of the same index."""
    user_id = user if isinstance(user, int) else user.pk
    brand_id = brand if isinstance(brand, int) else brand.pk
    if user_id is None or brand_id is None:
        return False
    return Flag.objects.filter(brand_id=brand_id, user_id=user_id, lifted_at__isnull=True).exists()
