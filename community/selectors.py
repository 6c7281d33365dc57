"""Reads for people and communities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery

from groupbuy import clock

from .access import for_staff, may_manage_community
from .inputs import unstorable
from .models import (
    Application,
    Community,
    Invitation,
    Membership,
    PhoneCode,
    PickupPoint,
    Question,
    Questionnaire,
    User,
)

# Warn the operator when a community is this close to its capacity (WeChat groups stop at 500).
CAPACITY_WARNING_RATIO = 0.9


def phone_code_resend_wait(*, phone: str) -> int:
    """Whole seconds until the per-minute limit lets ``phone`` (E.164) have another code (at least 1)."""
    from . import throttle

    minute = throttle.send_limits_per_phone()[0]
    newest = PhoneCode.objects.filter(phone=phone).order_by("-created_at").values_list("created_at", flat=True).first()
    if newest is None:
        return minute.seconds
    left = minute.seconds - (clock.now() - newest).total_seconds()
    return max(1, min(minute.seconds, int(left + 0.999)))


def community_count(*, viewer: User | None = None) -> int:
    """Active communities (of the brands staff ``viewer`` may see, when given)."""
    qs = Community.objects.filter(is_active=True)
    return (for_staff(qs, user=viewer) if viewer is not None else qs).count()


def active_member_count(*, viewer: User | None = None) -> int:
    """Distinct people with at least one active membership in an active community (of ``viewer``'s brands)."""
    qs = User.objects.filter(
        is_active=True,
        memberships__status=Membership.Status.ACTIVE,
        memberships__community__is_active=True,
    )
    if viewer is not None:
        qs = for_staff(qs, user=viewer, via="memberships__community__brand")
    return qs.distinct().count()


def community_list_with_counts(*, viewer: User | None = None) -> list[Community]:
    """Every community (of the brands staff ``viewer`` may see) with ``member_count`` (active members) and
    ``is_near_capacity`` set."""
    base = Community.objects.all() if viewer is None else for_staff(Community.objects.all(), user=viewer)
    communities = list(
        base.select_related("brand")
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


@dataclass(frozen=True)
class ReferralNode:
    """One member in a referral subtree: who they are, how far down, and who brought them."""

    membership: Membership
    depth: int
    inviter_id: int


def referral_subtree(*, user: User, community: Community, max_depth: int = 5, limit: int = 2000) -> list[ReferralNode]:
    """Everyone ``user`` brought into ``community``, directly or down the chain, breadth first.

    One query per level (at most ``max_depth``), so a deep or wide tree costs a bounded number of
    queries; ``limit`` caps the rows for a page. A cycle (possible after a rejoin) is cut by ``seen``.
    """
    nodes: list[ReferralNode] = []
    seen = {user.pk}
    frontier = [user.pk]
    for depth in range(1, max_depth + 1):
        if not frontier or len(nodes) >= limit:
            break
        level = list(
            Membership.objects.filter(community=community, invited_by_id__in=frontier)
            .exclude(user_id__in=seen)
            .select_related("user")
            .order_by("joined_at", "pk")[: limit - len(nodes)]
        )
        frontier = []
        for membership in level:
            seen.add(membership.user_id)
            frontier.append(membership.user_id)
            nodes.append(ReferralNode(membership=membership, depth=depth, inviter_id=membership.invited_by_id))
    return nodes


def referral_counts(*, community: Community) -> dict[int, int]:
    """Direct referrals per inviter (user pk → members they brought in) in ``community``."""
    rows = (
        Membership.objects.filter(community=community, invited_by__isnull=False)
        .values("invited_by_id")
        .annotate(n=Count("pk"))
    )
    return {row["invited_by_id"]: row["n"] for row in rows}


def community_for_join(*, slug: str) -> Community | None:
    return Community.objects.filter(slug=slug).select_related("brand").first()


def questionnaire_with_questions(*, community: Community) -> Questionnaire | None:
    return (
        Questionnaire.objects.filter(community=community)
        .prefetch_related(Prefetch("questions", queryset=Question.objects.prefetch_related("choices")))
        .first()
    )


def latest_application(*, user: User, community: Community) -> Application | None:
    return Application.objects.filter(user=user, community=community).order_by("-created_at", "-pk").first()


def invitation_by_code(*, code: str) -> Invitation | None:
    code = (code or "").strip().upper()
    if not code or unstorable(code):  # a NUL names no invitation (and PostgreSQL refuses to compare it)
        return None
    return Invitation.objects.filter(code=code).select_related("inviter", "community").first()


def pending_applications(*, reviewer: User, community: Community) -> QuerySet[Application]:
    """Applications waiting in ``community``, for an operator or one of its leaders; nothing for others."""
    if not may_manage_community(user=reviewer, community=community):
        return Application.objects.none()
    return (
        Application.objects.filter(community=community, status=Application.Status.PENDING)
        .select_related("user", "invited_by")
        .order_by("created_at", "pk")
    )


def community_member_count(*, community: Community) -> int:
    return Membership.objects.filter(community=community, status=Membership.Status.ACTIVE).count()


MEMBER_PAGE_SIZE = 50


@dataclass(frozen=True)
class MemberFilters:
    q: str = ""
    role: str = ""
    status: str = Membership.Status.ACTIVE
    joined_from: date | None = None
    joined_to: date | None = None
    inactive_days: int | None = None  # not seen for at least this many days


def community_members(
    *, community: Community, filters: MemberFilters, sees_full_phones: bool = False
) -> QuerySet[Membership]:
    """Members of ``community`` for the management list, newest first, with their direct referral count.

    ``q`` matches the nickname, or the phone: for a viewer who sees phones masked (a leader sees
    ``138****8192``) only the exact last four digits, which the mask shows anyway. Any longer suffix
    would be an oracle: "08192" found or not tells the digit before them, and eight searches unmask
    the number. Operators (``sees_full_phones``, who see whole numbers on the member page) match any
    suffix of four digits or more.
    """
    members = Membership.objects.filter(community=community).select_related("user", "invited_by")
    if filters.status:
        members = members.filter(status=filters.status)
    if filters.role:
        members = members.filter(role=filters.role)
    q = filters.q.strip()
    if q:
        digits = "".join(ch for ch in q if ch in "0123456789")
        match = Q(user__nickname__icontains=q)
        if len(digits) == 4 or (sees_full_phones and len(digits) > 4):
            match |= Q(user__phone__endswith=digits)
        members = members.filter(match)
    if filters.joined_from:
        members = members.filter(joined_at__date__gte=filters.joined_from)
    if filters.joined_to:
        members = members.filter(joined_at__date__lte=filters.joined_to)
    if filters.inactive_days:
        cutoff = clock.now() - timedelta(days=filters.inactive_days)
        members = members.filter(Q(last_active_at__lt=cutoff) | Q(last_active_at__isnull=True))
    referred = Membership.objects.filter(
        community=community, invited_by=OuterRef("user_id"), status=Membership.Status.ACTIVE
    )
    return members.annotate(
        referrals=Subquery(referred.values("invited_by").annotate(n=Count("pk")).values("n")[:1])
    ).order_by("-joined_at", "-pk")


def community_overview(*, community: Community) -> dict:
    """Counts for the community page: active members, places left, whether to warn, pending applications."""
    active = community_member_count(community=community)
    return {
        "member_count": active,
        "places_left": max(community.capacity - active, 0),
        "is_near_capacity": active >= community.capacity * CAPACITY_WARNING_RATIO,
        "pending_applications": Application.objects.filter(
            community=community, status=Application.Status.PENDING
        ).count(),
        "leaders": list(
            User.objects.filter(
                memberships__community=community,
                memberships__role=Membership.Role.LEADER,
                memberships__status=Membership.Status.ACTIVE,
            )
        ),
    }


def pickup_points(*, community: Community, open_only: bool = False) -> list[PickupPoint]:
    points = PickupPoint.objects.filter(community=community).select_related("leader").order_by("-is_active", "name")
    if open_only:
        points = points.filter(is_active=True)
    return list(points)


def community_leaders(*, community: Community) -> list[User]:
    return list(
        User.objects.filter(
            memberships__community=community,
            memberships__role=Membership.Role.LEADER,
            memberships__status=Membership.Status.ACTIVE,
        ).order_by("nickname", "pk")
    )
