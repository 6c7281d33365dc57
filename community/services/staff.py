"""The brand's team (团队): operators add hosts, assistants and other operators, change their role, switch
them off, and hand each a one-time link to set their own password — without the admin site.

- **Who.** An operator manages the staff of the brands they may see (``community.access``): another brand's
  staff answer as not found. Nobody changes their own role or switches themselves off.
- **No password passes through the operator.** A new account has no usable password; the operator sends the
  person a set-password link (Django's password-reset token: it ends once used, once the person signs in, and
  after ``PASSWORD_RESET_TIMEOUT``).
- **Switched off** means signed out on every device at once (the session epoch, and the open live rooms and
  panels close through ``SignedOutEverywhere``), and the sign-in refuses them.
- Every change is in the audit log, and one made in the admin site does the same (``staff_changed``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from groupbuy import audit, events
from groupbuy.errors import DomainError

from .. import events as community_events
from ..access import for_staff, staff_brands
from ..models import Brand, User

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$")


class StaffRefused(DomainError):
    pass


@dataclass(frozen=True)
class StaffInput:
    nickname: str
    username: str
    role: str
    brand: Brand


def team_for_staff(user: User) -> QuerySet[User]:
    """The staff ``user`` manages: the brands they may see (installation-wide staff: every staff account)."""
    return for_staff(User.objects.filter(role__in=User.STAFF_ROLES), user=user).order_by(
        "-is_active", "role", "nickname", "username"
    )


def _check_brand(by: User, brand: Brand) -> None:
    if not staff_brands(by).filter(pk=brand.pk).exists():
        raise StaffRefused(_("You cannot add staff to this brand."), code="brand")


def _check_role(role: str) -> None:
    if role not in User.STAFF_ROLES:
        raise StaffRefused(_("Choose operator, host or assistant."), code="role")


def staff_create(*, by: User, data: StaffInput) -> User:
    """A new staff account with no usable password (see ``password_link``)."""
    nickname, username = data.nickname.strip(), data.username.strip()
    if not nickname:
        raise StaffRefused(_("Enter the name the team knows them by."), code="nickname")
    if not USERNAME.match(username):
        raise StaffRefused(
            _("A username is 3–32 letters, digits, dots, dashes or underscores, starting with a letter or digit."),
            code="username",
        )
    _check_role(data.role)
    _check_brand(by, data.brand)
    if User.objects.filter(username__iexact=username).exists():
        raise StaffRefused(_("This username is taken; choose another."), code="username_taken")
    try:
        with transaction.atomic():
            user = User(username=username, nickname=nickname, role=data.role, brand=data.brand, is_staff=False)
            user.set_unusable_password()
            user.save()
            audit.record(
                "community.staff_added",
                actor=by,
                target=user,
                brand_id=data.brand.pk,
                after={"role": data.role, "username": username, "nickname": nickname},
            )
    except IntegrityError:  # the same username added at the same moment
        raise StaffRefused(_("This username is taken; choose another."), code="username_taken") from None
    return user


def staff_update(*, by: User, user_id: int, role: str, is_active: bool) -> User:
    """Change a team member's role or switch them off / on (switching off signs them out everywhere)."""
    _check_role(role)
    with transaction.atomic():
        user = team_for_staff(by).select_for_update().filter(pk=user_id).first()
        if user is None:
            raise StaffRefused(_("No such team member."), code="not_found")
        if user.pk == by.pk and (role != user.role or not is_active):
            raise StaffRefused(_("You cannot change your own role or switch yourself off."), code="self")
        before = {"role": user.role, "is_active": user.is_active}
        after = {"role": role, "is_active": is_active}
        if before != after:
            User.objects.filter(pk=user.pk).update(**after)
            staff_changed(by=by, user=user, before=before, after=after)
    user.refresh_from_db()
    return user


def staff_changed(*, by: User, user: User, before: dict, after: dict) -> None:
    """What a change of someone's role or sign-in does wherever it is made (the team page, the admin site),
    in the caller's transaction once the change is written: switched off, they are signed out everywhere and
    their open panels close; with a new role, their open panels reload under it; either way it is audited."""
    if before == after:
        return
    switched_off = before["is_active"] and not after["is_active"]
    if switched_off:
        User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    audit.record("community.staff_changed", actor=by, target=user, brand_id=user.brand_id, before=before, after=after)
    if switched_off:
        events.publish(community_events.SignedOutEverywhere(user_id=user.pk))
    elif after["role"] != before["role"]:
        events.publish(community_events.StaffRoleChanged(user_id=user.pk, role=after["role"]))


def password_link(*, by: User, user_id: int) -> str:
    """The path of a one-time link for the team member to set their password (send it to them privately)."""
    user = team_for_staff(by).filter(pk=user_id, is_active=True).first()
    if user is None:
        raise StaffRefused(_("No such team member, or they are switched off."), code="not_found")
    audit.record("community.staff_link_made", actor=by, target=user, brand_id=user.brand_id)
    return reverse(
        "web:staff-set-password",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
