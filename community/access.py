"""Who may do what in a community: the one place each question is answered (every service and view asks here)."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet

from .models import Brand, Community, Flag, Membership, User

_M = TypeVar("_M", bound=Model)


def may_manage_community(*, user: User, community: Community | int) -> bool:
    """Operators of the community's brand (or installation-wide operators), and the active leaders (团长) of
    ``community``, manage it: members, roster, posts, questionnaire."""
    if not user.is_authenticated or not user.is_active:
        return False
    community_id = community if isinstance(community, int) else community.pk
    if user.is_operator:
        allowed = staff_brand_ids(user)
        if allowed is None:
            return True
        brand_id = (
            community.brand_id
            if not isinstance(community, int)
            else Community.objects.filter(pk=community_id).values_list("brand_id", flat=True).first()
        )
        return brand_id in allowed
    return Membership.objects.filter(
        user=user, community_id=community_id, role=Membership.Role.LEADER, status=Membership.Status.ACTIVE
    ).exists()


def staff_brand_ids(user: User) -> frozenset[int] | None:
    """The brands whose data ``user`` may see in the console and the host panel: ``None`` means every
    brand (staff with no brand: the installation's own); otherwise their one brand — for a superuser with a
    brand too (the brand narrows the console they work in; the admin site stays whole for superusers).
    Every console query and object lookup is narrowed by this one answer (cross-brand isolation)."""
    if getattr(user, "brand_id", None) is None:
        return None
    return frozenset({user.brand_id})


def may_see_brand(*, user: User, brand: Brand | int | None) -> bool:
    """Whether staff ``user`` may see something of ``brand`` (``None``: belongs to no brand, everyone may)."""
    allowed = staff_brand_ids(user)
    if allowed is None or brand is None:
        return True
    return (brand if isinstance(brand, int) else brand.pk) in allowed


def for_staff(queryset: QuerySet[_M], *, user: User, via: str = "brand") -> QuerySet[_M]:
    """``queryset`` narrowed to what staff ``user`` may see (cross-brand isolation, issue 16 item 5).

    ``via`` is the lookup path from the queryset's model to its brand (``"brand"``, ``"community__brand"``,
    ``"supplier__brand"``, ``"series__brand"`` …). Installation-wide staff get the queryset unchanged.
    Views look objects up with ``get_object_or_404(for_staff(qs, user=…), pk=…)``: another brand's
    object answers 404 like one that does not exist, and no POST on it reaches a service."""
    allowed = staff_brand_ids(user)
    if allowed is None:
        return queryset
    return queryset.filter(**{f"{via}__in": sorted(allowed)})


def staff_brands(user: User) -> QuerySet[Brand]:
    """The brands staff ``user`` may see and create things in (a brand picker lists only these)."""
    return for_staff(Brand.objects.order_by("pk"), user=user, via="pk")


def communities_for_staff(user: User) -> QuerySet[Community]:
    """The communities of the brands staff ``user`` may see (every console list and picker of communities)."""
    return for_staff(Community.objects.all(), user=user)


def is_flagged(*, user: User | int, brand: Brand | int) -> bool:
    """Whether ``user`` has an active refund-abuse flag (售后黑名单) in ``brand``: they may look at every
    page but not join a jielong or open an after-sales request. The one answer in Python; the join
    function ``jielong_join`` (jielong/join/jielong_join_v4.sql) asks the same of the same index."""
    user_id = user if isinstance(user, int) else user.pk
    brand_id = brand if isinstance(brand, int) else brand.pk
    if user_id is None or brand_id is None:
        return False
    return Flag.objects.filter(brand_id=brand_id, user_id=user_id, lifted_at__isnull=True).exists()
