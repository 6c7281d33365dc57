"""The dry run (试导入): what importing the rows would do, row by row, judged against the database. Writes nothing.

The report shows the uploader only what they may already see (issue 10 item 7: uploading another
community's phone numbers showed those people's nicknames, and which numbers were staff or disabled):

* people with a membership of *this* community (active, left, removed) are judged as before: the
  uploader sees them in the member list anyway;
* anyone else is a "new member" shown with the nickname from the file and the masked phone, whether
  or not the number has an account elsewhere. Confirming attaches the row to that account (never a
  second account for one phone), and fills in its nickname only when it has none;
* a staff or disabled account that is not in this community also looks like a new member in the dry
  run (``is_withheld``), and confirming skips it, counted with the skipped rows and no reason of its
  own. It can join by invitation link like anyone (and a staff account signs in elsewhere).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import Community, Membership, PickupPoint, User
from ..phones import mask_phone, normalize_phone
from .parse import RosterRow

NICKNAME_MAX_LENGTH = User._meta.get_field("nickname").max_length


class Outcome(models.TextChoices):
    NEW = "new", gettext_lazy("New member")
    MERGED = "merged", gettext_lazy("Former member, re-activated")
    ALREADY = "already", gettext_lazy("Already a member")
    DUPLICATE = "duplicate", gettext_lazy("Duplicate")
    INVALID = "invalid", gettext_lazy("Bad row")


IMPORTABLE = (Outcome.NEW, Outcome.MERGED)


@dataclass(frozen=True)
class PlannedRow:
    """What confirming will do with one row, and why not when it will not."""

    number: int
    nickname: str
    phone: str  # E.164 when valid, else as typed
    outcome: str
    reasons: tuple[str, ...] = ()
    note: str = ""
    user_id: int | None = None
    former_membership_id: int | None = None
    pickup_point: PickupPoint | None = None
    # ("user", pk) for an existing member, ("phone", e164) for a row imported above.
    inviter_key: tuple[str, object] | None = None
    inviter_label: str = ""
    # A staff or disabled account outside this community: shown as new, skipped at confirm (module docstring).
    is_withheld: bool = False

    @property
    def is_importable(self) -> bool:
        return self.outcome in IMPORTABLE

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone) if self.phone.startswith("+") else _mask_raw(self.phone)

    @property
    def outcome_label(self) -> str:
        return Outcome(self.outcome).label

    @property
    def reason(self) -> str:
        return "；".join(self.reasons)


@dataclass
class RosterPlan:
    community: Community
    rows: list[PlannedRow]
    active_before: int
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.counts = {outcome.value: 0 for outcome in Outcome}
        for row in self.rows:
            self.counts[row.outcome] += 1

    @property
    def importable(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.is_importable]

    @property
    def problems(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.outcome in (Outcome.INVALID, Outcome.DUPLICATE)]

    @property
    def unchanged(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.outcome == Outcome.ALREADY]

    @property
    def summary(self) -> dict[str, int]:
        return {
            "new_members": self.counts[Outcome.NEW],
            "merged_users": self.counts[Outcome.MERGED],
            "already_members": self.counts[Outcome.ALREADY],
            "duplicates": self.counts[Outcome.DUPLICATE],
            "bad_rows": self.counts[Outcome.INVALID],
        }


def _mask_raw(text: str) -> str:
    """Mask what was typed in the phone column even when it is not a valid number (it may be a typo of one)."""
    if len(text) >= 8:
        return f"{text[:3]}****{text[-4:]}"
    return text


def _normalized(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except ValidationError:
        return ""


class _InviterIndex:
    """Who a row may name as inviter: active members of the community and the importable rows above it."""

    def __init__(self, *, community: Community, rows: list[RosterRow]) -> None:
        texts = {row.inviter for row in rows if row.inviter}
        phones = {p for p in (_normalized(t) for t in texts) if p}
        active = Membership.objects.filter(community=community, status=Membership.Status.ACTIVE)
        self.member_by_phone = dict(active.filter(user__phone__in=phones).values_list("user__phone", "user_id"))
        self.members_by_nickname: dict[str, set] = defaultdict(set)
        for nickname, user_id in active.filter(user__nickname__in=texts).values_list("user__nickname", "user_id"):
            self.members_by_nickname[nickname].add(("user", user_id))
        self.row_by_phone: dict[str, tuple] = {}
        self.rows_by_nickname: dict[str, set] = defaultdict(set)

    def add_row(self, *, phone: str, nickname: str, key: tuple) -> None:
        self.row_by_phone[phone] = key
        if nickname:
            self.rows_by_nickname[nickname].add(key)

    def find(self, text: str) -> tuple[tuple | None, str]:
        """The inviter's key, or None and the reason it was not found."""
        phone = _normalized(text)
        if phone:
            if phone in self.member_by_phone:
                return ("user", self.member_by_phone[phone]), ""
            if phone in self.row_by_phone:
                return self.row_by_phone[phone], ""
            return None, _("Inviter %(inviter)s is not a member of this community or a row above.") % {
                "inviter": mask_phone(phone)
            }
        matches = self.members_by_nickname.get(text, set()) | self.rows_by_nickname.get(text, set())
        if len(matches) == 1:
            return next(iter(matches)), ""
        if matches:
            return None, _("Several members are called “%(inviter)s”; give the inviter's phone number instead.") % {
                "inviter": text
            }
        return None, _("Inviter “%(inviter)s” is not a member of this community or a row above.") % {"inviter": text}


def roster_plan(*, community: Community, rows: list[RosterRow]) -> RosterPlan:
    """The dry run: what importing ``rows`` into ``community`` would do, row by row. Writes nothing.

    Rows are judged in file order, so the capacity runs out at a definite row and an inviter may be a
    row further up.
    """
    phones = {p for p in (_normalized(row.phone) for row in rows) if p}
    users = {user.phone: user for user in User.objects.filter(phone__in=phones)}
    memberships = {
        m.user_id: m for m in Membership.objects.filter(community=community, user_id__in=[u.pk for u in users.values()])
    }
    points = {point.name: point for point in PickupPoint.objects.filter(community=community)}
    active_before = Membership.objects.filter(community=community, status=Membership.Status.ACTIVE).count()
    inviters = _InviterIndex(community=community, rows=rows)
    first_row_for_phone: dict[str, int] = {}
    planned: list[PlannedRow] = []
    places_taken = 0
    for row in rows:
        phone = _normalized(row.phone)
        if phone and phone in first_row_for_phone:
            first = first_row_for_phone[phone]
            planned.append(
                PlannedRow(
                    number=row.number,
                    nickname=row.nickname,
                    phone=phone,
                    outcome=Outcome.DUPLICATE,
                    reasons=(
                        _("Same phone as row %(row)s; merged into that row, only row %(row)s is imported.")
                        % {"row": first},
                    ),
                )
            )
            continue
        if phone:
            first_row_for_phone[phone] = row.number
        reasons: list[str] = []
        user = users.get(phone) if phone else None
        former = memberships.get(user.pk) if user else None
        # Nothing about an account outside this community reaches the report (module docstring).
        is_known = former is not None
        is_withheld = user is not None and (user.role != User.Role.MEMBER or not user.is_active)
        note = ""
        if not row.phone:
            reasons.append(_("The phone number is missing."))
        elif not phone:
            reasons.append(_("“%(phone)s” is not a valid mobile phone number.") % {"phone": _mask_raw(row.phone)})
        if len(row.nickname) > NICKNAME_MAX_LENGTH:
            reasons.append(_("The nickname is longer than %(max)s characters.") % {"max": NICKNAME_MAX_LENGTH})
        if is_known and is_withheld and former.status not in (Membership.Status.ACTIVE, Membership.Status.PENDING):
            reasons.append(_("This person cannot be added by import; they can join with an invitation link."))
        if former is not None and not reasons:
            if former.status in (Membership.Status.ACTIVE, Membership.Status.PENDING):
                inviters.add_row(phone=phone, nickname=row.nickname, key=("user", user.pk))
                planned.append(
                    PlannedRow(
                        number=row.number,
                        nickname=user.display_name,
                        phone=phone,
                        outcome=Outcome.ALREADY,
                        note=_("Already in this community; left unchanged."),
                        user_id=user.pk,
                    )
                )
                continue
            if former.status == Membership.Status.REMOVED:
                reasons.append(
                    _("This person was removed from the community; add them back on their member page if you mean to.")
                )
            else:
                note = _("Had left the community; will be re-activated.")
        if not row.nickname and (not is_known or not user.nickname):
            reasons.append(_("The nickname is missing."))
        point = None
        if row.pickup:
            point = points.get(row.pickup)
            if point is None:
                reasons.append(_("This community has no pickup point called “%(name)s”.") % {"name": row.pickup})
            elif not point.is_active:
                reasons.append(_("The pickup point “%(name)s” is closed.") % {"name": row.pickup})
                point = None
        inviter_key = None
        if row.inviter:
            if phone and _normalized(row.inviter) == phone:
                reasons.append(_("A member cannot be their own inviter."))
            else:
                inviter_key, problem = inviters.find(row.inviter)
                if problem:
                    reasons.append(problem)
        if not reasons and not community.is_active:
            reasons.append(_("This community is closed and takes no new members."))
        if not reasons and active_before + places_taken >= community.capacity:
            reasons.append(
                _("The community is full (capacity %(capacity)s members).") % {"capacity": community.capacity}
            )
        if reasons:
            planned.append(
                PlannedRow(
                    number=row.number,
                    nickname=row.nickname,
                    phone=phone or row.phone,
                    outcome=Outcome.INVALID,
                    reasons=tuple(reasons),
                )
            )
            continue
        places_taken += 1
        inviters.add_row(phone=phone, nickname=row.nickname, key=("phone", phone))
        planned.append(
            PlannedRow(
                number=row.number,
                nickname=row.nickname or user.nickname,
                phone=phone,
                outcome=Outcome.MERGED if is_known else Outcome.NEW,
                note=note,
                user_id=user.pk if user else None,
                is_withheld=is_withheld and not is_known,
                former_membership_id=former.pk if former else None,
                pickup_point=point,
                inviter_key=inviter_key,
                inviter_label=mask_phone(_normalized(row.inviter)) or row.inviter if row.inviter else "",
            )
        )
    return RosterPlan(community=community, rows=planned, active_before=active_before)
