"""Changes to a membership once it exists: leaving (退群), removal (移出群) and the community role (KOC, 团长)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from groupbuy import audit, events
from groupbuy.errors import DomainError

from .. import events as community_events
from ..access import may_manage_community
from ..models import Community, Membership, User


class MembershipChangeRefused(DomainError):
    pass


def membership_leave(*, user: User, community: Community) -> Membership:
    """The member leaves ``community`` (退群). Their referrals keep pointing at them."""
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .filter(user=user, community=community, status=Membership.Status.ACTIVE)
            .first()
        )
        if membership is None:
            raise MembershipChangeRefused(_("You are not a member of this community."), code="not_member")
        membership.status = Membership.Status.LEFT
        membership.save(update_fields=["status"])
        events.publish(
            community_events.MemberLeft(membership_id=membership.pk, user_id=user.pk, community_id=community.pk)
        )
    return membership


def membership_remove(*, membership: Membership, by: User) -> Membership:
    """An operator or a leader of the community removes a member (移出群). Removed members cannot rejoin alone.

    A leader removes members and KOCs, never another leader (团长) or an operator's account: only
    operators remove leaders, so one leader cannot push the others out of the community they share.
    """
    if not may_manage_community(user=by, community=membership.community):
        raise MembershipChangeRefused(_("Only the community's leaders and operators can remove members."))
    if membership.user_id == by.pk:
        raise MembershipChangeRefused(_("You cannot remove yourself; leave the community instead."), code="self")
    with transaction.atomic():
        locked = Membership.objects.select_for_update(of=["self"]).select_related("user").get(pk=membership.pk)
        if locked.status != Membership.Status.ACTIVE:
            raise MembershipChangeRefused(_("This person is not an active member."), code="not_active")
        # Judged under the lock: a member made leader a moment ago is a leader here.
        if not by.is_operator and (locked.role == Membership.Role.LEADER or locked.user.is_operator):
            raise MembershipChangeRefused(_("Only operators can remove a leader."), code="leader")
        locked.status = Membership.Status.REMOVED
        locked.save(update_fields=["status"])
        events.publish(
            community_events.MemberRemoved(
                membership_id=locked.pk,
                user_id=locked.user_id,
                community_id=locked.community_id,
                removed_by_id=by.pk,
            )
        )
    return locked


def membership_role_set(*, by: User, membership: Membership, role: str) -> Membership:
    """An operator makes a member a KOC or a leader (团长), or back to a plain member."""
    if not by.is_operator:
        raise MembershipChangeRefused(_("Only operators can change community roles."), code="forbidden")
    if role not in Membership.Role.values:
        raise MembershipChangeRefused(_("Choose a role."), code="role")
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        if locked.status != Membership.Status.ACTIVE:
            raise MembershipChangeRefused(_("This person is not an active member."), code="not_active")
        before = locked.role
        locked.role = role
        locked.save(update_fields=["role"])
        if before != role:
            audit.record(
                "community.role_changed",
                actor=by,
                target=locked,
                brand_id=locked.community.brand_id,
                before={"role": before},
                after={"role": role},
            )
        events.publish(
            community_events.RoleChanged(membership_id=locked.pk, community_id=locked.community_id, role=role)
        )
    return locked
