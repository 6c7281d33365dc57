"""Pickup points (自提点): operators keep them; each member picks a default one."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from groupbuy.errors import DomainError

from ..inputs import refuse_unstorable
from ..models import Community, Membership, PickupPoint, User
from .membership import MembershipChangeRefused


class PickupPointInvalid(DomainError):
    pass


def pickup_point_save(
    *,
    by: User,
    community: Community,
    name: str,
    address: str,
    opening_hours: str = "",
    capacity: int = 200,
    leader: User | None = None,
    is_active: bool = True,
    point: PickupPoint | None = None,
) -> PickupPoint:
    """Create (``point`` None) or change a pickup point. Operators only; the leader must lead this community."""
    refuse_unstorable(name, address, opening_hours)
    if not by.is_operator:
        raise PickupPointInvalid(_("Only operators can manage pickup points."), code="forbidden")
    name, address, opening_hours = (name or "").strip(), (address or "").strip(), (opening_hours or "").strip()
    if not name or not address:
        raise PickupPointInvalid(_("Enter the pickup point's name and address."), code="missing")
    if capacity is None or capacity < 1:
        raise PickupPointInvalid(_("The daily capacity must be at least 1."), code="capacity")
    if point is not None and point.community_id != community.pk:
        raise PickupPointInvalid(_("This pickup point belongs to another community."), code="community")
    if (
        leader is not None
        and not Membership.objects.filter(
            user=leader, community=community, role=Membership.Role.LEADER, status=Membership.Status.ACTIVE
        ).exists()
    ):
        raise PickupPointInvalid(_("The person in charge must be a leader of this community."), code="leader")
    target = point or PickupPoint(community=community)
    target.name, target.address, target.opening_hours = name[:64], address[:200], opening_hours[:100]
    target.capacity, target.leader, target.is_active = capacity, leader, is_active
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise PickupPointInvalid(
            _("This community already has a pickup point with that name."), code="duplicate"
        ) from None
    return target


def membership_pickup_point_set(*, user: User, community: Community, point: PickupPoint | None) -> Membership:
    """The member's default pickup point in ``community`` (an open point of that community, or none)."""
    membership = Membership.objects.filter(user=user, community=community, status=Membership.Status.ACTIVE).first()
    if membership is None:
        raise MembershipChangeRefused(_("You are not a member of this community."), code="not_member")
    if point is not None and (point.community_id != community.pk or not point.is_active):
        raise PickupPointInvalid(_("Choose one of this community's open pickup points."), code="foreign_point")
    membership.default_pickup_point = point
    membership.save(update_fields=["default_pickup_point"])
    return membership
