"""Joining a community through its gate (入群门槛): open, by invitation code, or by questionnaire; and the
review of the applications a questionnaire leaves waiting.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from groupbuy import clock, events
from groupbuy.errors import DomainError

from .. import events as community_events
from ..access import may_manage_community
from ..inputs import refuse_unstorable
from ..models import Application, Community, Invitation, Membership, Question, Questionnaire, User
from .locks import lock_community


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


def invitations_personal_ensure(*, community: Community, user_ids: Iterable[int]) -> None:
    """Give each of ``user_ids`` their personal code for ``community`` (no expiry, no limit) unless they have one.

    Called where a membership becomes active — a join, an approval, a roster import — so the pages that
    show the code (profile, share links) find it there and only read. Random codes that clash with an
    existing one are drawn again.
    """
    wanted = set(user_ids)
    for _attempt in range(5):
        missing = wanted - set(
            Invitation.objects.filter(community=community, inviter_id__in=wanted, is_personal=True).values_list(
                "inviter_id", flat=True
            )
        )
        if not missing:
            return
        now = clock.now()
        with transaction.atomic():
            Invitation.objects.bulk_create(
                [
                    Invitation(
                        code=_new_invitation_code(),
                        community=community,
                        inviter_id=pk,
                        is_personal=True,
                        created_at=now,
                    )
                    for pk in sorted(missing)
                ],
                ignore_conflicts=True,
            )
    raise RuntimeError("could not find free invitation codes")


def invitation_personal_get_or_create(*, user: User, community: Community) -> Invitation:
    """The member's own code and link for ``community`` (no expiry, no limit). Active members only.

    Memberships made through the services have it from the start (:func:`invitations_personal_ensure`);
    this creates it only for one inserted some other way (the admin, seeded data).
    """
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
    with transaction.atomic():
        invitation = _create_invitation(community=community, inviter=inviter, max_uses=max_uses, expires_at=expires_at)
        events.publish(
            community_events.InvitationCreated(
                invitation_id=invitation.pk, community_id=community.pk, user_id=inviter.pk, max_uses=max_uses
            )
        )
    return invitation


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
    invitations_personal_ensure(community=community, user_ids=[user.pk])
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
    refuse_unstorable(invitation_code, answers or {})
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
            locked = lock_community(community)
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
    refuse_unstorable(reason)
    reason = (reason or "").strip()
    if not may_manage_community(user=reviewer, community=application.community):
        raise ReviewRefused(_("Only the community's leaders and operators can review applications."), code="forbidden")
    if not approve and not reason:
        raise ReviewRefused(_("Give a reason for the rejection; the applicant will see it."), code="no_reason")
    now = clock.now()
    with transaction.atomic():
        community = lock_community(application.community)
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
