"""Reads for people and communities."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from .models import Community, Membership, User

# Warn the operator when a community is this close to its capacity (WeChat groups stop at 500).
CAPACITY_WARNING_RATIO = 0.9


def community_count() -> int:
    return Community.objects.filter(is_active=True).count()


def active_member_count() -> int:
    """Distinct people with at least one active membership in an active community."""
    return (
        User.objects.filter(
            is_active=True,
            memberships__status=Membership.Status.ACTIVE,
            memberships__community__is_active=True,
        )
        .distinct()
        .count()
    )


def community_list_with_counts() -> list[Community]:
    """Every community with ``member_count`` (active members) and ``is_near_capacity`` set."""
    communities = list(
        Community.objects.select_related("brand")
        .annotate(member_count=Count("memberships", filter=Q(memberships__status=Membership.Status.ACTIVE)))
        .order_by("-is_active", "name")
    )
    for community in communities:
        community.is_near_capacity = community.member_count >= community.capacity * CAPACITY_WARNING_RATIO
        community.places_left = max(community.capacity - community.member_count, 0)
    return communities


def member_memberships(*, user: User) -> QuerySet[Membership]:
    """The user's memberships that are not over (active or waiting for review), newest first."""
    return (
        Membership.objects.filter(user=user, status__in=[Membership.Status.ACTIVE, Membership.Status.PENDING])
        .select_related("community", "default_pickup_point")
        .order_by("-joined_at")
    )


def member_active_community_ids(*, user: User) -> list[int]:
    return list(
        Membership.objects.filter(user=user, status=Membership.Status.ACTIVE, community__is_active=True).values_list(
            "community_id", flat=True
        )
    )
