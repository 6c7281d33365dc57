"""Writes for people and communities: member sign-in by one-time code, profile changes."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from groupbuy import clock, events
from groupbuy.errors import DomainError

from . import events as community_events
from . import throttle
from .access import may_manage_community
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
from .phones import normalize_phone
from .providers.sms import get_sms_provider

logger = logging.getLogger(__name__)

CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=5)
# A code stops working after this many wrong guesses (the throttling issue adds per-phone limits).
MAX_ATTEMPTS = 5


class InvalidPhone(DomainError):
    pass


class CodeInvalid(DomainError):
    pass


class CodeExpired(DomainError):
    pass


class CodeUsed(DomainError):
    pass


class AccountUnavailable(DomainError):
    pass


class TooManyRequests(DomainError):
    pass


class PhoneLocked(DomainError):
    pass


class ProfileInvalid(DomainError):
    pass


@dataclass(frozen=True)
class SentCode:
    """What the sign-in page may show after sending. ``code`` is only displayed in local mode."""

    phone: str
    code: str
    expires_at: datetime


def _hash_code(*, phone: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _normalize(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except ValidationError as exc:
        raise InvalidPhone(exc.messages[0], code="invalid_phone") from None


def _send_sms_rollback_unsafe(*, phone: str, message: str) -> None:
    try:
        get_sms_provider().send(phone=phone, message=message)
    except Exception:
        # The code row stays; the member can ask for a new one. Never let a gateway fail the page.
        logger.exception("sending the sign-in code SMS failed")


def _check_not_locked(phone: str) -> None:
    if throttle.is_locked(phone):
        minutes = throttle.lockout_seconds() // 60
        raise PhoneLocked(
            _("Too many wrong codes for this number. Try again in %(minutes)s minutes.") % {"minutes": minutes},
            code="phone_locked",
        )


def _check_send_allowed(*, phone: str, ip: str | None) -> None:
    """Refuse a send over any limit; counts nothing (``_count_send`` does, once the send is let through)."""
    _check_not_locked(phone)
    minute, hour = throttle.send_limits_per_phone()
    if throttle.is_exhausted(minute, phone):
        raise TooManyRequests(_("A code was just sent. Wait a minute before asking for another."), code="throttled")
    if throttle.is_exhausted(hour, phone):
        raise TooManyRequests(
            _("Too many codes were sent to this number. Try again in an hour."), code="throttled_phone"
        )
    if ip and throttle.is_exhausted(throttle.send_limit_per_ip(), ip):
        raise TooManyRequests(
            _("Too many codes were requested from this network. Try again later."), code="throttled_ip"
        )


def _count_send(*, phone: str, ip: str | None) -> None:
    for limit in throttle.send_limits_per_phone():
        throttle.hit(limit, phone)
    if ip:
        throttle.hit(throttle.send_limit_per_ip(), ip)


def phone_code_send(*, phone: str, ip: str | None = None) -> SentCode:
    """Create a one-time sign-in code for ``phone`` and text it once the transaction commits.

    Refused with :class:`TooManyRequests` over the per-phone (1 a minute, 5 an hour) or per-IP
    (20 an hour) limits, and with :class:`PhoneLocked` while the number is locked out.
    """
    phone = _normalize(phone)
    _check_send_allowed(phone=phone, ip=ip)
    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    now = clock.now()
    minutes = int(CODE_TTL.total_seconds() // 60)
    message = _("Your Groupbuy sign-in code is %(code)s. It expires in %(minutes)s minutes.") % {
        "code": code,
        "minutes": minutes,
    }
    with transaction.atomic():
        record = PhoneCode.objects.create(
            phone=phone, code_hash=_hash_code(phone=phone, code=code), created_at=now, expires_at=now + CODE_TTL
        )
        transaction.on_commit(partial(_send_sms_rollback_unsafe, phone=phone, message=message))
    _count_send(phone=phone, ip=ip)
    return SentCode(phone=phone, code=code, expires_at=record.expires_at)


def phone_code_verify(*, phone: str, code: str, consent: bool = False) -> User:
    """Check ``code`` against the newest code sent to ``phone`` and return the member it signs in.

    The first successful sign-in creates the member (role member); ``consent`` records that the
    privacy notice was accepted. A refused code changes nothing except its wrong-attempt counter and
    the number's failure count: five wrong codes lock the number (sends and checks) for 15 minutes.
    """
    phone = _normalize(phone)
    _check_not_locked(phone)
    code = (code or "").strip()
    now = clock.now()
    error: DomainError | None = None
    user: User | None = None
    with transaction.atomic():
        record = PhoneCode.objects.select_for_update().filter(phone=phone).order_by("-created_at", "-pk").first()
        if record is None:
            error = CodeInvalid(_("No code was sent to this number. Request a code first."))
        elif record.used_at is not None:
            error = CodeUsed(_("This code has already been used. Request a new one."))
        elif record.expires_at <= now:
            error = CodeExpired(_("This code has expired. Request a new one."))
        elif record.attempts >= MAX_ATTEMPTS:
            error = CodeInvalid(_("Too many wrong attempts. Request a new code."))
        elif not hmac.compare_digest(record.code_hash, _hash_code(phone=phone, code=code)):
            PhoneCode.objects.filter(pk=record.pk).update(attempts=F("attempts") + 1)
            error = CodeInvalid(_("The code is not correct."), code="wrong_code")
        else:
            user = User.objects.filter(phone=phone).first()
            if user is not None and (not user.is_active or user.role != User.Role.MEMBER):
                # Staff sign in with a password; a text message alone is not enough for them.
                error = AccountUnavailable(_("This number cannot sign in here. Staff use the staff sign-in."))
            else:
                record.used_at = now
                record.save(update_fields=["used_at"])
                user = _member_for_phone(phone=phone, user=user, consent=consent, now=now)
    if error is not None:
        if isinstance(error, CodeInvalid) and error.code == "wrong_code":
            _count_failure(phone)
        raise error
    throttle.reset(throttle.failure_limit(), phone)
    return user


def _count_failure(phone: str) -> None:
    limit = throttle.failure_limit()
    if throttle.hit(limit, phone) >= limit.count:
        throttle.lock(phone)
        throttle.reset(limit, phone)


def _member_for_phone(*, phone: str, user: User | None, consent: bool, now: datetime) -> User:
    if user is None:
        try:
            with transaction.atomic():
                return User.objects.create_user(
                    phone=phone, role=User.Role.MEMBER, privacy_consent_at=now if consent else None
                )
        except IntegrityError:
            # Signed up in a parallel request a moment ago.
            user = User.objects.get(phone=phone)
    if consent and user.privacy_consent_at is None:
        user.privacy_consent_at = now
        user.save(update_fields=["privacy_consent_at"])
    return user


def member_profile_update(*, user: User, nickname: str) -> User:
    """Change the name other members see in jielong lists."""
    nickname = (nickname or "").strip()
    if not nickname:
        raise ProfileInvalid(_("Enter a nickname."))
    if len(nickname) > User._meta.get_field("nickname").max_length:
        raise ProfileInvalid(_("The nickname is too long."))
    user.nickname = nickname
    user.save(update_fields=["nickname"])
    return user


# --- Joining a community: open, by invitation, or by questionnaire (入群门槛) ---------------------------------


class JoinRefused(DomainError):
    """Base of every refusal to join; ``code`` says which rule."""


class AlreadyMember(JoinRefused):
    pass


class CommunityFull(JoinRefused):
    pass


class CommunityClosed(JoinRefused):
    pass


class InvitationInvalid(JoinRefused):
    pass


class ApplicationExists(JoinRefused):
    pass


class AnswersInvalid(JoinRefused):
    pass


class ReviewRefused(DomainError):
    pass


INVITATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud in a WeChat group
INVITATION_CODE_LENGTH = 8


@dataclass(frozen=True)
class JoinResult:
    """Either the new membership (joined) or the application waiting for review."""

    membership: Membership | None
    application: Application | None

    @property
    def joined(self) -> bool:
        return self.membership is not None


def _new_invitation_code() -> str:
    return "".join(secrets.choice(INVITATION_ALPHABET) for _ in range(INVITATION_CODE_LENGTH))


def _create_invitation(**fields) -> Invitation:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Invitation.objects.create(code=_new_invitation_code(), **fields)
        except IntegrityError:
            if (
                fields.get("is_personal")
                and Invitation.objects.filter(
                    community=fields["community"], inviter=fields["inviter"], is_personal=True
                ).exists()
            ):
                raise
    raise RuntimeError("could not find a free invitation code")


def invitation_personal_get_or_create(*, user: User, community: Community) -> Invitation:
    """The member's own code and link for ``community`` (no expiry, no limit). Active members only."""
    existing = Invitation.objects.filter(community=community, inviter=user, is_personal=True).first()
    if existing is not None:
        return existing
    if not Membership.objects.filter(user=user, community=community, status=Membership.Status.ACTIVE).exists():
        raise InvitationInvalid(_("Only members of this community can invite others."), code="not_member")
    try:
        return _create_invitation(community=community, inviter=user, is_personal=True)
    except IntegrityError:
        return Invitation.objects.get(community=community, inviter=user, is_personal=True)


def referral_code(*, user: User, community: Community) -> str:
    """The code every share link carries (``?ref=…``): the member's personal invitation code, so a
    neighbour who follows any shared link (jielong, live room, poster) joins as this member's referral.
    Empty for someone who is not an active member of ``community``."""
    try:
        return invitation_personal_get_or_create(user=user, community=community).code
    except InvitationInvalid:
        return ""


def invitation_create(
    *, inviter: User, community: Community, max_uses: int | None = None, expires_at: datetime | None = None
) -> Invitation:
    """A one-off code with optional limits, made by an operator or a leader of ``community``."""
    if not may_manage_community(user=inviter, community=community):
        raise InvitationInvalid(_("Only the community's leaders and operators can create invitations."))
    if max_uses is not None and max_uses < 1:
        raise InvitationInvalid(_("The number of uses must be at least 1."))
    return _create_invitation(community=community, inviter=inviter, max_uses=max_uses, expires_at=expires_at)


def _check_invitation(*, code: str, community: Community, user: User, now: datetime) -> Invitation:
    invitation = Invitation.objects.filter(code=code.strip().upper()).select_related("inviter").first()
    if invitation is None or invitation.community_id != community.pk:
        raise InvitationInvalid(_("This invitation code is not valid for this community."), code="unknown_code")
    if invitation.inviter_id == user.pk:
        raise InvitationInvalid(_("You cannot use your own invitation code."), code="own_code")
    if invitation.expires_at is not None and invitation.expires_at <= now:
        raise InvitationInvalid(_("This invitation has expired. Ask for a new one."), code="expired")
    if invitation.max_uses is not None and invitation.uses >= invitation.max_uses:
        raise InvitationInvalid(_("This invitation has already been used up. Ask for a new one."), code="used_up")
    return invitation


def _use_invitation(invitation: Invitation) -> None:
    """Count one use with a conditional UPDATE, so parallel joins can never pass ``max_uses``."""
    updated = (
        Invitation.objects.filter(pk=invitation.pk)
        .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
        .update(uses=F("uses") + 1)
    )
    if not updated:
        raise InvitationInvalid(_("This invitation has already been used up. Ask for a new one."), code="used_up")


def _lock_community(community: Community) -> Community:
    return Community.objects.select_for_update().get(pk=community.pk)


def _check_can_join(*, user: User, community: Community) -> Membership | None:
    """Refuse members, removed members, closed and full communities; return a former membership to revive."""
    if not community.is_active:
        raise CommunityClosed(_("This community is not taking new members."), code="closed")
    if user.role != User.Role.MEMBER or not user.is_active:
        raise JoinRefused(_("Only member accounts can join a community."), code="not_member_account")
    existing = Membership.objects.filter(user=user, community=community).first()
    if existing is not None:
        if existing.status in (Membership.Status.ACTIVE, Membership.Status.PENDING):
            raise AlreadyMember(_("You are already a member of this community."), code="already_member")
        if existing.status == Membership.Status.REMOVED:
            raise JoinRefused(_("You were removed from this community. Please talk to its leader."), code="removed")
    active = Membership.objects.filter(community=community, status=Membership.Status.ACTIVE).count()
    if active >= community.capacity:
        raise CommunityFull(_("This community is full. Please ask its leader about a new group."), code="full")
    return existing


def _add_member(
    *, user: User, community: Community, former: Membership | None, invited_by: User | None, now: datetime
) -> Membership:
    if former is not None:
        former.status = Membership.Status.ACTIVE
        former.role = Membership.Role.MEMBER
        former.joined_at = now
        # The first introduction stays the one that counts (first-touch referral attribution).
        if former.invited_by_id is None:
            former.invited_by = invited_by
        former.save(update_fields=["status", "role", "joined_at", "invited_by"])
        membership = former
    else:
        membership = Membership.objects.create(
            user=user, community=community, invited_by=invited_by, joined_at=now, last_active_at=now
        )
    events.publish(
        community_events.MemberJoined(
            membership_id=membership.pk,
            user_id=user.pk,
            community_id=community.pk,
            invited_by_id=membership.invited_by_id,
        )
    )
    return membership


def score_answers(*, questionnaire: Questionnaire, answers: dict) -> tuple[dict, int]:
    """Check ``answers`` ({question pk: choice pk(s) or text}) and return them cleaned with their score.

    Single choice scores its choice; multiple choice the sum of its choices; short text earns the
    question's points when at least ``text_min_length`` characters long.
    """
    cleaned: dict[str, object] = {}
    score = 0
    for question in questionnaire.questions.prefetch_related("choices"):
        raw = answers.get(str(question.pk), answers.get(question.pk))
        if question.kind == Question.Kind.TEXT:
            text = str(raw or "").strip()[:500]
            if not text:
                if question.is_required:
                    raise AnswersInvalid(_("Please answer: %(question)s") % {"question": question.text})
                continue
            cleaned[str(question.pk)] = text
            if question.text_points and len(text) >= question.text_min_length:
                score += question.text_points
            continue
        picked = raw if isinstance(raw, list | tuple) else ([raw] if raw not in (None, "") else [])
        try:
            picked_ids = sorted({int(value) for value in picked})
        except (TypeError, ValueError):
            raise AnswersInvalid(_("Please answer: %(question)s") % {"question": question.text}) from None
        choices = {choice.pk: choice for choice in question.choices.all()}
        if not picked_ids:
            if question.is_required:
                raise AnswersInvalid(_("Please answer: %(question)s") % {"question": question.text})
            continue
        if any(pk not in choices for pk in picked_ids) or (
            question.kind == Question.Kind.SINGLE and len(picked_ids) > 1
        ):
            raise AnswersInvalid(_("Please answer: %(question)s") % {"question": question.text})
        cleaned[str(question.pk)] = picked_ids
        score += sum(choices[pk].score for pk in picked_ids)
    return cleaned, score


def community_join(
    *, user: User, community: Community, invitation_code: str = "", answers: dict | None = None
) -> JoinResult:
    """Join ``community`` through its gate, or apply when the gate is a questionnaire.

    Open: joins at once (an invitation code, if given, records the inviter). Invitation: a valid code
    is required. Questionnaire: the answers are scored; at or above the threshold the member joins at
    once, otherwise an application waits for a leader or operator. Every refusal changes nothing.
    Locks the community row (capacity), then counts the invitation use with a conditional UPDATE.
    """
    now = clock.now()
    code = (invitation_code or "").strip()
    if community.join_gate == Community.JoinGate.INVITATION and not code:
        raise InvitationInvalid(_("This community is invitation-only. Enter your invitation code."), code="no_code")
    questionnaire = None
    cleaned: dict = {}
    score = 0
    if community.join_gate == Community.JoinGate.QUESTIONNAIRE:
        questionnaire = Questionnaire.objects.filter(community=community).first()
        if questionnaire is not None:
            cleaned, score = score_answers(questionnaire=questionnaire, answers=answers or {})
    try:
        with transaction.atomic():
            locked = _lock_community(community)
            former = _check_can_join(user=user, community=locked)
            _check_no_open_application(user=user, community=locked)
            invitation = _check_invitation(code=code, community=locked, user=user, now=now) if code else None
            inviter = invitation.inviter if invitation else None
            if questionnaire is not None and score < questionnaire.threshold:
                application = Application.objects.create(
                    user=user, community=locked, answers=cleaned, score=score, invited_by=inviter, created_at=now
                )
                if invitation is not None:
                    _use_invitation(invitation)
                events.publish(
                    community_events.ApplicationSubmitted(application_id=application.pk, community_id=locked.pk)
                )
                return JoinResult(membership=None, application=application)
            application = None
            if questionnaire is not None:
                application = Application.objects.create(
                    user=user,
                    community=locked,
                    answers=cleaned,
                    score=score,
                    invited_by=inviter,
                    status=Application.Status.APPROVED,
                    reviewed_at=now,
                    created_at=now,
                )
            if invitation is not None:
                _use_invitation(invitation)
            membership = _add_member(user=user, community=locked, former=former, invited_by=inviter, now=now)
            return JoinResult(membership=membership, application=application)
    except IntegrityError:
        if Application.objects.filter(user=user, community=community, status=Application.Status.PENDING).exists():
            raise ApplicationExists(
                _("You have already applied to this community. Please wait for the review."), code="duplicate"
            ) from None
        raise AlreadyMember(_("You are already a member of this community."), code="already_member") from None


def _check_no_open_application(*, user: User, community: Community) -> None:
    if Application.objects.filter(user=user, community=community, status=Application.Status.PENDING).exists():
        raise ApplicationExists(
            _("You have already applied to this community. Please wait for the review."), code="duplicate"
        )


def application_review(*, application: Application, reviewer: User, approve: bool, reason: str = "") -> Application:
    """Approve (creates the membership) or reject (with a reason) a pending application.

    Only an operator or an active leader of the community may review. Locks the community, then the
    application, so a full community refuses the approval and nothing changes.
    """
    reason = (reason or "").strip()
    if not may_manage_community(user=reviewer, community=application.community):
        raise ReviewRefused(_("Only the community's leaders and operators can review applications."), code="forbidden")
    if not approve and not reason:
        raise ReviewRefused(_("Give a reason for the rejection; the applicant will see it."), code="no_reason")
    now = clock.now()
    with transaction.atomic():
        community = _lock_community(application.community)
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.status != Application.Status.PENDING:
            raise ReviewRefused(_("This application has already been reviewed."), code="reviewed")
        if approve:
            former = _check_can_join(user=locked.user, community=community)
            locked.status = Application.Status.APPROVED
            _add_member(user=locked.user, community=community, former=former, invited_by=locked.invited_by, now=now)
        else:
            locked.status = Application.Status.REJECTED
        locked.reason = reason[:200]
        locked.reviewed_by = reviewer
        locked.reviewed_at = now
        locked.save(update_fields=["status", "reason", "reviewed_by", "reviewed_at"])
    return locked


# --- Leaving and removal ---------------------------------------------------------------------------------------


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
    """An operator or a leader of the community removes a member (移出群). Removed members cannot rejoin alone."""
    if not may_manage_community(user=by, community=membership.community):
        raise MembershipChangeRefused(_("Only the community's leaders and operators can remove members."))
    if membership.user_id == by.pk:
        raise MembershipChangeRefused(_("You cannot remove yourself; leave the community instead."), code="self")
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        if locked.status != Membership.Status.ACTIVE:
            raise MembershipChangeRefused(_("This person is not an active member."), code="not_active")
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


# --- Pickup points (自提点) -------------------------------------------------------------------------------------


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


# --- Community settings and community roles -------------------------------------------------------------------


class CommunitySettingsInvalid(DomainError):
    pass


def community_settings_update(
    *, by: User, community: Community, positioning: str, capacity: int | None, join_gate: str
) -> Community:
    """An operator changes the positioning statement (定位/价值观), capacity and join gate."""
    if not by.is_operator:
        raise CommunitySettingsInvalid(_("Only operators can change community settings."), code="forbidden")
    if join_gate not in Community.JoinGate.values:
        raise CommunitySettingsInvalid(_("Choose a join gate."), code="gate")
    if join_gate == Community.JoinGate.QUESTIONNAIRE and not Questionnaire.objects.filter(community=community).exists():
        raise CommunitySettingsInvalid(
            _("This community has no questionnaire yet. Create one on its questionnaire page first."),
            code="no_questionnaire",
        )
    with transaction.atomic():
        locked = _lock_community(community)
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
        locked.role = role
        locked.save(update_fields=["role"])
        events.publish(
            community_events.RoleChanged(membership_id=locked.pk, community_id=locked.community_id, role=role)
        )
    return locked
