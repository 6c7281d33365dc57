"""Writes for live sessions. Other apps react through domain events, never by being imported."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from community.models import User
from groupbuy import events
from groupbuy.errors import DomainError

from .models import LiveSession, Reservation


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


def reservation_create(*, session: LiveSession, user: User) -> Reservation:
    if session.status not in (LiveSession.Status.SCHEDULED, LiveSession.Status.LIVE):
        raise SessionStateError(_("This session can no longer be reserved."))
    with transaction.atomic():
        reservation, created = Reservation.objects.get_or_create(session=session, user=user)
        if created:
            events.publish("livestream.reserved", live_session_id=session.pk, user_id=user.pk)
    return reservation
