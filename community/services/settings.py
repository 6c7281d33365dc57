"""Community settings an operator changes: positioning (定位/价值观), capacity and join gate."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from groupbuy.errors import DomainError

from ..inputs import refuse_unstorable
from ..models import Community, Membership, Questionnaire, User
from .locks import lock_community


class CommunitySettingsInvalid(DomainError):
    pass


def community_settings_update(
    *, by: User, community: Community, positioning: str, capacity: int | None, join_gate: str
) -> Community:
    """An operator changes the positioning statement (定位/价值观), capacity and join gate."""
    if not by.is_operator:
        raise CommunitySettingsInvalid(_("Only operators can change community settings."), code="forbidden")
    refuse_unstorable(positioning, join_gate)
    if join_gate not in Community.JoinGate.values:
        raise CommunitySettingsInvalid(_("Choose a join gate."), code="gate")
    if join_gate == Community.JoinGate.QUESTIONNAIRE and not Questionnaire.objects.filter(community=community).exists():
        raise CommunitySettingsInvalid(
            _("This community has no questionnaire yet. Create one on its questionnaire page first."),
            code="no_questionnaire",
        )
    with transaction.atomic():
        locked = lock_community(community)
        active = Membership.objects.filter(community=locked, status=Membership.Status.ACTIVE).count()
        if capacity is None or capacity < max(active, 1):
            raise CommunitySettingsInvalid(
                _("The capacity cannot be below the current number of members (%(count)s).") % {"count": active},
                code="capacity",
            )
        locked.positioning = (positioning or "").strip()
        locked.capacity = capacity
        locked.join_gate = join_gate
        locked.save(update_fields=["positioning", "capacity", "join_gate"])
    return locked
