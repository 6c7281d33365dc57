"""Writes for live sessions. Other apps react through domain events, never by being imported."""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from community.models import User
from groupbuy import events
from groupbuy.errors import DomainError

from . import warmup
from .models import LiveSession, Reservation, WarmupRound


class SessionStateError(DomainError):
    pass


def session_go_live(*, session: LiveSession, by: User) -> LiveSession:
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().get(pk=session.pk)
        if session.status != LiveSession.Status.SCHEDULED:
            raise SessionStateError(_("Only a scheduled session can go live."))
        session.status = LiveSession.Status.LIVE
        session.started_at = timezone.now()
        session.save(update_fields=["status", "started_at"])
        events.publish("livestream.session_started", live_session_id=session.pk, user_id=by.pk)
    return session


def session_end(*, session: LiveSession, by: User) -> LiveSession:
    """End a live session. Subscribers (the jielong app) open its prepared campaign."""
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().get(pk=session.pk)
        if session.status != LiveSession.Status.LIVE:
            raise SessionStateError(_("Only a live session can be ended."))
        session.status = LiveSession.Status.ENDED
        session.ended_at = timezone.now()
        session.save(update_fields=["status", "ended_at"])
        events.publish("livestream.session_ended", live_session_id=session.pk, user_id=by.pk)
    return session


class SessionPermissionError(DomainError):
    pass


class ScheduleError(DomainError):
    pass


def _require_control(*, session: LiveSession, by: User) -> None:
    """Operators, or a host of this very session; a host acting on another host's session is refused."""
    if by.is_operator:
        return
    if not (by.is_host and session.hosts.filter(pk=by.pk).exists()):
        raise SessionPermissionError(_("Only this session's hosts may do that."))


def session_reschedule(*, session: LiveSession, by: User, starts_at: datetime, ends_at: datetime | None = None):
    """Move a scheduled session; its pending warm-up rounds move with it, rounds already sent stay sent."""
    _require_control(session=session, by=by)
    if starts_at <= timezone.now():
        raise ScheduleError(_("The new start must be in the future."))
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().get(pk=session.pk)
        if session.status != LiveSession.Status.SCHEDULED:
            raise SessionStateError(_("Only a scheduled session can be moved."))
        delta = starts_at - session.scheduled_start
        ends_at = ends_at or session.scheduled_end + delta
        if ends_at <= starts_at:
            raise ScheduleError(_("The end must come after the start."))
        session.scheduled_start, session.scheduled_end = starts_at, ends_at
        session.save(update_fields=["scheduled_start", "scheduled_end"])
        warmup.rounds_shift_pending(session=session, delta=delta)
        events.publish("livestream.session_rescheduled", live_session_id=session.pk, user_id=by.pk)
    return session


def session_cancel(*, session: LiveSession, by: User) -> LiveSession:
    """Cancel a scheduled session: pending rounds stop, and members who reserved get an inbox notice."""
    _require_control(session=session, by=by)
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().select_related("series").get(pk=session.pk)
        if session.status != LiveSession.Status.SCHEDULED:
            raise SessionStateError(_("Only a scheduled session can be cancelled."))
        session.status = LiveSession.Status.CANCELLED
        session.save(update_fields=["status"])
        warmup.rounds_cancel_pending(session=session)
        with translation.override(settings.LANGUAGE_CODE):
            notice = WarmupRound.objects.create(
                session=session,
                kind=WarmupRound.Kind.CANCELLED,
                send_at=timezone.now(),
                title=_("Cancelled: %(title)s") % {"title": session.title},
                body=_("Sorry, this live will not take place. Your reservation has been released."),
                audience=WarmupRound.Audience.RESERVED,
            )
        events.publish("livestream.session_cancelled", live_session_id=session.pk, user_id=by.pk)
        # The notice is a warm-up round, so it is delivered once per member; send it now rather than in 15 s.
        warmup.round_deliver_on_commit(notice.pk)
    return session


def warmup_plan_apply_standard(*, session: LiveSession, by: User) -> list[WarmupRound]:
    _require_control(session=session, by=by)
    if session.status != LiveSession.Status.SCHEDULED:
        raise SessionStateError(_("Only a scheduled session gets a warm-up plan."))
    return warmup.warmup_plan_apply_standard(session=session)


def reservation_create(*, session: LiveSession, user: User) -> Reservation:
    """Reserve (预约) a scheduled or live session; the session row is locked so a cancellation cannot slip past."""
    with transaction.atomic():
        session = LiveSession.objects.select_for_update(no_key=True).get(pk=session.pk)
        if session.status not in (LiveSession.Status.SCHEDULED, LiveSession.Status.LIVE):
            raise SessionStateError(_("This session can no longer be reserved."))
        reservation, created = Reservation.objects.get_or_create(session=session, user=user)
        if created:
            events.publish("livestream.reserved", live_session_id=session.pk, user_id=user.pk)
    return reservation


def reservation_cancel(*, session: LiveSession, user: User) -> bool:
    """Withdraw a reservation before the session is over; returns whether there was one."""
    with transaction.atomic():
        session = LiveSession.objects.select_for_update(no_key=True).get(pk=session.pk)
        if session.status not in (LiveSession.Status.SCHEDULED, LiveSession.Status.LIVE):
            raise SessionStateError(_("This session is over; there is nothing to cancel."))
        deleted, _rows = Reservation.objects.filter(session=session, user=user).delete()
        if deleted:
            events.publish("livestream.reservation_cancelled", live_session_id=session.pk, user_id=user.pk)
    return bool(deleted)
