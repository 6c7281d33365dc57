"""The refund-abuse blacklist (售后黑名单): an operator flags a person across all of a brand's
communities, and lifts the flag again. Every flag and unflag is logged (``FlagLogEntry``) and
published (``community.person_flagged`` / ``community.person_unflagged``).

What a flag does is asked elsewhere of ``community.access.is_flagged`` (and, inside the join function,
of the same index): the person still sees every page but cannot join a jielong or open an
after-sales request. Their existing orders and requests are not touched.

The evidence is whatever the operator saw (the after-sales app's figures for the person); it is
stored as given, so the flag keeps the record as it was when it was decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from groupbuy import audit, clock, events
from groupbuy.errors import DomainError

from .. import events as community_events
from ..models import Brand, Flag, FlagLogEntry, User

MAX_REASON_LENGTH = 500


class FlagRefused(DomainError):
    pass


def _check(*, by: User, reason: str) -> str:
    if not by.is_operator:
        raise FlagRefused(_("Only operators can flag or unflag a person."), code="not_operator")
    reason = (reason or "").strip()
    if not reason:
        raise FlagRefused(_("Give a reason."), code="no_reason")
    if len(reason) > MAX_REASON_LENGTH or "\x00" in reason:
        raise FlagRefused(
            _("The reason can have at most %(limit)s characters.") % {"limit": MAX_REASON_LENGTH}, code="bad_reason"
        )
    return reason


def person_flag(
    *,
    by: User,
    brand: Brand,
    user: User,
    reason: str,
    evidence: Mapping | None = None,
    now: datetime | None = None,
) -> Flag:
    """Flag ``user`` for refund abuse in all of ``brand``'s communities. Operators only; a reason is
    required; a person already flagged in the brand is refused (one active flag, a constraint)."""
    reason = _check(by=by, reason=reason)
    if user.pk == by.pk or user.is_operator:
        raise FlagRefused(_("Staff accounts cannot be flagged."), code="staff")
    now = now or clock.now()
    try:
        with transaction.atomic():
            flag = Flag.objects.create(
                brand=brand,
                user=user,
                reason=reason,
                evidence=dict(evidence or {}),
                flagged_by=by,
                flagged_at=now,
            )
            FlagLogEntry.objects.create(
                flag=flag, brand=brand, user=user, action=FlagLogEntry.Action.FLAGGED, actor=by, reason=reason, at=now
            )
            events.publish(
                community_events.PersonFlagged(flag_id=flag.pk, brand_id=brand.pk, user_id=user.pk, flagged_by_id=by.pk)
            )
            audit.record(
                "community.person_flagged",
                actor=by,
                target=user,
                brand_id=brand.pk,
                before={"flagged": False},
                after={"flagged": True},
                note=reason,
            )
    except IntegrityError:
        raise FlagRefused(_("This person is already flagged."), code="already_flagged") from None
    return flag


def person_unflag(*, by: User, flag: Flag, reason: str, now: datetime | None = None) -> Flag:
    """Lift an active flag, with a reason. Operators only; lifting a lifted flag is refused."""
    reason = _check(by=by, reason=reason)
    now = now or clock.now()
    with transaction.atomic():
        locked = Flag.objects.select_for_update().get(pk=flag.pk)
        if locked.lifted_at is not None:
            raise FlagRefused(_("This flag has already been lifted."), code="already_lifted")
        locked.lifted_by = by
        locked.lifted_at = now
        locked.lift_reason = reason
        locked.save(update_fields=["lifted_by", "lifted_at", "lift_reason"])
        FlagLogEntry.objects.create(
            flag=locked,
            brand_id=locked.brand_id,
            user_id=locked.user_id,
            action=FlagLogEntry.Action.UNFLAGGED,
            actor=by,
            reason=reason,
            at=now,
        )
        events.publish(
            community_events.PersonUnflagged(
                flag_id=locked.pk, brand_id=locked.brand_id, user_id=locked.user_id, unflagged_by_id=by.pk
            )
        )
        audit.record(
            "community.person_unflagged",
            actor=by,
            target=flag.user,
            brand_id=locked.brand_id,
            before={"flagged": True},
            after={"flagged": False},
            note=reason,
        )
    return locked
