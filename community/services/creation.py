"""A new community (社群) made from the console: its name, slug, settings, leaders and first pickup points.

Everything is written in one transaction: a refusal anywhere (a duplicate slug, a bad phone, a pickup
point without an address) leaves no community behind. The settings go through ``community_settings_update``
and the pickup points through ``pickup_point_save``, so the rules are the ones the later pages apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from groupbuy import audit, clock, events
from groupbuy.errors import DomainError

from .. import events as community_events
from ..inputs import refuse_unstorable
from ..models import Brand, Community, Membership, User
from ..phones import mask_phone, normalize_phone
from .joining import invitations_personal_ensure
from .pickup_points import pickup_point_save
from .settings import community_settings_update

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_LEADERS = 20
MAX_PICKUP_POINTS = 10


class CommunityInvalid(DomainError):
    """A refusal naming the form field it is about (``name``, ``slug``, ``capacity``, ``leaders``, ``points``…)."""

    def __init__(self, message: str, *, field: str = "", code: str = "invalid") -> None:
        super().__init__(message, code=code)
        self.field = field


@dataclass(frozen=True)
class PickupPointInput:
    name: str
    address: str
    opening_hours: str = ""
    capacity: int | None = 200
    leader_phone: str = ""  # one of the new community's leaders, or blank


@dataclass(frozen=True)
class CommunityInput:
    name: str
    slug: str = ""  # blank: derived from the name
    positioning: str = ""
    capacity: int | None = 500
    join_gate: str = Community.JoinGate.OPEN
    leader_phones: tuple[str, ...] = ()
    pickup_points: tuple[PickupPointInput, ...] = ()


@dataclass(frozen=True)
class CommunityCreated:
    community: Community
    leaders: list[Membership]
    # The questionnaire gate needs a questionnaire: until one is written the community is invitation-only.
    needs_questionnaire: bool


def _slug(name: str, typed: str) -> str:
    typed = (typed or "").strip().lower()
    if typed:
        if len(typed) > 64 or not SLUG_PATTERN.match(typed):
            raise CommunityInvalid(
                _("The web address may use only lowercase letters, digits and single hyphens (at most 64)."),
                field="slug",
                code="slug",
            )
        if Community.objects.filter(slug=typed).exists():
            raise CommunityInvalid(_("Another community already uses this web address."), field="slug", code="slug")
        return typed
    base = (slugify(name) or "community")[:56].strip("-") or "community"
    candidate, n = base, 1
    while Community.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _leader_users(phones: tuple[str, ...]) -> list[User]:
    """Each phone's account (a new member account for a number nobody has used); staff and disabled are refused."""
    users: list[User] = []
    seen: set[str] = set()
    for raw in phones:
        if not (raw or "").strip():
            continue
        try:
            phone = normalize_phone(raw)
        except ValidationError:
            raise CommunityInvalid(
                _("“%(phone)s” is not a valid mobile phone number.") % {"phone": raw.strip()[:20]},
                field="leaders",
                code="leader_phone",
            ) from None
        if phone in seen:
            continue
        seen.add(phone)
        user = User.objects.filter(phone=phone).first()
        if user is None:
            user = User(phone=phone, role=User.Role.MEMBER)
            user.set_unusable_password()
            user.save()
        elif user.role != User.Role.MEMBER or not user.is_active:
            raise CommunityInvalid(
                _("%(phone)s cannot lead a community: it is a staff or disabled account.")
                % {"phone": mask_phone(phone)},
                field="leaders",
                code="leader_account",
            )
        users.append(user)
    if len(users) > MAX_LEADERS:
        raise CommunityInvalid(
            _("At most %(count)s leaders at creation.") % {"count": MAX_LEADERS}, field="leaders", code="leaders"
        )
    return users


def community_create(*, by: User, brand: Brand, data: CommunityInput) -> CommunityCreated:
    """An operator makes a community with its leaders (role leader) and first pickup points, or nothing at all."""
    if not by.is_operator:
        raise CommunityInvalid(_("Only operators can create communities."), code="forbidden")
    points = [p for p in data.pickup_points if (p.name or "").strip() or (p.address or "").strip()]
    refuse_unstorable(
        data.name,
        data.slug,
        data.positioning,
        data.join_gate,
        list(data.leader_phones),
        [[p.name, p.address, p.opening_hours, p.leader_phone] for p in points],
    )
    name = (data.name or "").strip()
    if not name:
        raise CommunityInvalid(_("Enter the community's name."), field="name", code="name")
    if len(name) > 64:
        raise CommunityInvalid(_("The name can have at most 64 characters."), field="name", code="name")
    if data.capacity is None or data.capacity < 1:
        raise CommunityInvalid(_("The capacity must be at least 1."), field="capacity", code="capacity")
    if data.join_gate not in Community.JoinGate.values:
        raise CommunityInvalid(_("Choose a join gate."), field="join_gate", code="gate")
    if len(points) > MAX_PICKUP_POINTS:
        raise CommunityInvalid(
            _("At most %(count)s pickup points at creation.") % {"count": MAX_PICKUP_POINTS},
            field="points",
            code="points",
        )
    if Community.objects.filter(brand=brand, name=name).exists():
        raise CommunityInvalid(_("This brand already has a community with that name."), field="name", code="name")
    needs_questionnaire = data.join_gate == Community.JoinGate.QUESTIONNAIRE
    with transaction.atomic():
        slug = _slug(name, data.slug)
        try:
            with transaction.atomic():
                community = Community.objects.create(
                    brand=brand, name=name, slug=slug, capacity=data.capacity, join_gate=Community.JoinGate.INVITATION
                )
        except IntegrityError:  # a concurrent creation took the slug or the name
            raise CommunityInvalid(
                _("Another community already uses this name or web address."), field="slug", code="duplicate"
            ) from None
        leaders = _leader_users(data.leader_phones)
        if len(leaders) > data.capacity:
            raise CommunityInvalid(
                _("The capacity cannot be below the number of leaders (%(count)s).") % {"count": len(leaders)},
                field="capacity",
                code="capacity",
            )
        now = clock.now()
        memberships = [
            Membership.objects.create(
                user=user,
                community=community,
                role=Membership.Role.LEADER,
                status=Membership.Status.ACTIVE,
                joined_at=now,
            )
            for user in leaders
        ]
        audit.record_all(
            audit.entry("community.role_changed", actor=by, target=m, brand_id=brand.pk, after={"role": m.role})
            for m in memberships
        )
        community = community_settings_update(
            by=by,
            community=community,
            positioning=data.positioning,
            capacity=data.capacity,
            join_gate=Community.JoinGate.INVITATION if needs_questionnaire else data.join_gate,
        )
        leader_by_phone = {user.phone: user for user in leaders}
        for index, point in enumerate(points, start=1):
            leader = None
            if (point.leader_phone or "").strip():
                try:
                    leader = leader_by_phone.get(normalize_phone(point.leader_phone))
                except ValidationError:
                    leader = None
                if leader is None:
                    raise CommunityInvalid(
                        _("Pickup point %(n)s: the person in charge must be one of the leaders above.") % {"n": index},
                        field="points",
                        code="point_leader",
                    )
            try:
                pickup_point_save(
                    by=by,
                    community=community,
                    name=point.name,
                    address=point.address,
                    opening_hours=point.opening_hours,
                    capacity=point.capacity if point.capacity is not None else 0,
                    leader=leader,
                )
            except DomainError as exc:
                raise CommunityInvalid(
                    _("Pickup point %(n)s: %(reason)s") % {"n": index, "reason": exc.message},
                    field="points",
                    code="point",
                ) from None
        invitations_personal_ensure(community=community, user_ids=[m.user_id for m in memberships])
        for membership in memberships:
            events.publish(
                community_events.MemberJoined(
                    membership_id=membership.pk,
                    user_id=membership.user_id,
                    community_id=community.pk,
                    source="creation",
                )
            )
    return CommunityCreated(community=community, leaders=memberships, needs_questionnaire=needs_questionnaire)
