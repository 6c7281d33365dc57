"""Confirming a staged import: the importable rows are written in one transaction, once."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from groupbuy import clock, events

from .. import events as community_events
from ..models import Community, Membership, User
from ..services.joining import invitations_personal_ensure
from ..services.locks import lock_community
from .plan import PlannedRow, RosterPlan, roster_plan
from .staging import RosterImportRefused, claim, roster_staged, unclaim


@dataclass(frozen=True)
class RosterImportResult:
    new_members: int
    merged_users: int
    already_members: int
    duplicates: int
    bad_rows: int
    membership_ids: tuple[int, ...] = ()

    @property
    def imported(self) -> int:
        return self.new_members + self.merged_users


def roster_import_confirm(*, by: User, community: Community, token: str) -> RosterImportResult:
    """Import the valid rows of staged import ``token``, once.

    The rows are judged again under the community's row lock (the same lock joins take), so the
    capacity and "already a member" are current; only importable rows are written, all in one
    transaction. A second confirmation of the same token is refused and changes nothing.
    """
    staged = roster_staged(by=by, community=community, token=token)
    claimed = claim(token)
    try:
        with transaction.atomic():
            locked = lock_community(community)
            if not locked.is_active:
                raise RosterImportRefused(_("This community is closed and takes no new members."), code="closed")
            plan = roster_plan(community=locked, rows=staged.rows)
            membership_ids = _apply(plan=plan, community=locked)
            withheld = sum(1 for row in plan.importable if row.is_withheld)
            # Withheld rows were shown as new; they are counted with the skipped rows, no reason given.
            summary = {
                **plan.summary,
                "new_members": plan.summary["new_members"] - withheld,
                "bad_rows": plan.summary["bad_rows"] + withheld,
            }
            events.publish(
                community_events.RosterImported(
                    community_id=locked.pk,
                    imported_by_id=by.pk,
                    filename=staged.filename,
                    **summary,
                )
            )
    except IntegrityError:
        unclaim(token)
        raise RosterImportRefused(
            _("Someone joined or signed up while importing. Nothing was imported; please confirm again."),
            code="conflict",
        ) from None
    except BaseException:
        unclaim(token)
        raise
    with contextlib.suppress(FileNotFoundError):
        claimed.unlink()
    return RosterImportResult(membership_ids=tuple(membership_ids), **summary)


def _apply(*, plan: RosterPlan, community: Community) -> list[int]:
    now = clock.now()
    rows = [row for row in plan.importable if not row.is_withheld]
    new_users = []
    for row in rows:
        if row.user_id is None:
            user = User(phone=row.phone, nickname=row.nickname, role=User.Role.MEMBER)
            user.set_unusable_password()
            new_users.append(user)
    with transaction.atomic():  # a savepoint, so a clash maps to IntegrityError cleanly
        User.objects.bulk_create(new_users)
    user_by_phone = {user.phone: user.pk for user in new_users}
    existing = User.objects.in_bulk([row.user_id for row in rows if row.user_id is not None])
    for row in rows:
        if row.user_id is not None:
            user_by_phone[row.phone] = row.user_id
            user = existing[row.user_id]
            if not user.nickname and row.nickname:
                user.nickname = row.nickname
                user.save(update_fields=["nickname"])

    def inviter_id(row: PlannedRow) -> int | None:
        if row.inviter_key is None:
            return None
        kind, value = row.inviter_key
        return value if kind == "user" else user_by_phone[value]

    formers = Membership.objects.select_for_update().in_bulk(
        [row.former_membership_id for row in rows if row.former_membership_id]
    )
    created = []
    touched: list[Membership] = []
    for row in rows:
        if row.former_membership_id:
            membership = formers[row.former_membership_id]
            membership.status = Membership.Status.ACTIVE
            membership.role = Membership.Role.MEMBER
            membership.joined_at = now
            # First-touch attribution: an earlier introduction stays the one that counts.
            if membership.invited_by_id is None:
                membership.invited_by_id = inviter_id(row)
            if row.pickup_point is not None:
                membership.default_pickup_point = row.pickup_point
            membership.save(update_fields=["status", "role", "joined_at", "invited_by", "default_pickup_point"])
            touched.append(membership)
        else:
            created.append(
                Membership(
                    user_id=user_by_phone[row.phone],
                    community=community,
                    role=Membership.Role.MEMBER,
                    status=Membership.Status.ACTIVE,
                    invited_by_id=inviter_id(row),
                    default_pickup_point=row.pickup_point,
                    joined_at=now,
                )
            )
    with transaction.atomic():
        Membership.objects.bulk_create(created)
    invitations_personal_ensure(community=community, user_ids=[m.user_id for m in [*touched, *created]])
    for membership in [*touched, *created]:
        events.publish(
            community_events.MemberJoined(
                membership_id=membership.pk,
                user_id=membership.user_id,
                community_id=community.pk,
                invited_by_id=membership.invited_by_id,
                source="import",
            )
        )
    return [membership.pk for membership in [*touched, *created]]
