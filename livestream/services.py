"""Writes for live sessions. Other apps react through domain events, never by being imported."""

from datetime import datetime
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from community.models import User
from groupbuy import clock, events
from groupbuy.errors import DomainError

from . import broadcast, panel, selectors, warmup
from . import events as livestream_events
from .models import LiveSession, Notification, Reservation, WarmupRound


class SessionStateError(DomainError):
    pass


def session_go_live(*, session: LiveSession, by: User) -> LiveSession:
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().get(pk=session.pk)
        if session.status != LiveSession.Status.SCHEDULED:
            raise SessionStateError(_("Only a scheduled session can go live."))
        session.status = LiveSession.Status.LIVE
        session.started_at = clock.now()
        session.save(update_fields=["status", "started_at"])
        notice = warmup.live_now_round(session=session, now=session.started_at)
        events.publish(livestream_events.SessionStarted(live_session_id=session.pk, user_id=by.pk))
        transaction.on_commit(partial(broadcast.room_changed, session.pk))
        if notice is not None:
            # 开播了 goes out now, whatever the plan's clock said (the host may be early or late).
            warmup.round_deliver_on_commit(notice.pk)
    return session


def session_end(*, session: LiveSession, by: User) -> LiveSession:
    """End a live session. Subscribers (the jielong app) open its prepared campaign."""
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().get(pk=session.pk)
        if session.status != LiveSession.Status.LIVE:
            raise SessionStateError(_("Only a live session can be ended."))
        session.status = LiveSession.Status.ENDED
        session.ended_at = clock.now()
        session.save(update_fields=["status", "ended_at"])
        warmup.rounds_cancel_pending(session=session)  # a round not sent by now would announce a past live
        events.publish(livestream_events.SessionEnded(live_session_id=session.pk, user_id=by.pk))
        transaction.on_commit(partial(broadcast.room_changed, session.pk))
        transaction.on_commit(partial(broadcast.metrics_changed, session.pk))
    return session


class SessionPermissionError(DomainError):
    pass


class ScheduleError(DomainError):
    pass


def _require_control(*, session: LiveSession, by: User) -> None:
    """Operators (of the session's brand), or a host of this very session; a host acting on another host's
    session, or staff of another brand, is refused."""
    if not selectors.user_may_open_panel(user=by, session=session):
        raise SessionPermissionError(_("Only this session's hosts may do that."))
    if by.is_operator:
        return
    if not (by.is_host and session.hosts.filter(pk=by.pk).exists()):
        raise SessionPermissionError(_("Only this session's hosts may do that."))


def session_reschedule(*, session: LiveSession, by: User, starts_at: datetime, ends_at: datetime | None = None):
    """Move a scheduled session; its pending warm-up rounds move with it, rounds already sent stay sent."""
    _require_control(session=session, by=by)
    if starts_at <= clock.now():
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
        events.publish(livestream_events.SessionRescheduled(live_session_id=session.pk, user_id=by.pk))
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
                send_at=clock.now(),
                title=_("Cancelled: %(title)s") % {"title": session.title},
                body=_("Sorry, this live will not take place. Your reservation has been released."),
                audience=WarmupRound.Audience.RESERVED,
            )
        events.publish(livestream_events.SessionCancelled(live_session_id=session.pk, user_id=by.pk))
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
            events.publish(livestream_events.Reserved(live_session_id=session.pk, user_id=user.pk))
            transaction.on_commit(partial(broadcast.metrics_changed, session.pk))
    return reservation


def reservation_cancel(*, session: LiveSession, user: User) -> bool:
    """Withdraw a reservation before the session is over; returns whether there was one."""
    with transaction.atomic():
        session = LiveSession.objects.select_for_update(no_key=True).get(pk=session.pk)
        if session.status not in (LiveSession.Status.SCHEDULED, LiveSession.Status.LIVE):
            raise SessionStateError(_("This session is over; there is nothing to cancel."))
        deleted, _rows = Reservation.objects.filter(session=session, user=user).delete()
        if deleted:
            events.publish(livestream_events.ReservationCancelled(live_session_id=session.pk, user_id=user.pk))
    return bool(deleted)


# --- the live room: the product being explained, the jielong, the replay --------------------------


class PinError(DomainError):
    pass


class JielongRequestError(DomainError):
    pass


class ReplayLinkError(DomainError):
    pass


def session_pin_item(*, session: LiveSession, by: User, sku_id: int) -> LiveSession:
    """Pin the product being explained (讲解中), chosen from the session's campaign items.

    The room shows a snapshot (name, price, image) taken now, so it matches what the host picked.
    """
    _require_control(session=session, by=by)
    session = LiveSession.objects.select_related("series").get(pk=session.pk)
    choice = next((c for c in panel.pin_choices(session=session) if c.sku_id == sku_id), None)
    if choice is None:
        raise PinError(_("Pick a product from this session's items."))
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().get(pk=session.pk)
        if session.status != LiveSession.Status.LIVE:
            raise SessionStateError(_("Products can be pinned only while the session is live."))
        session.pinned_sku_id = choice.sku_id
        session.pinned_name = choice.name[:100]
        session.pinned_price_fen = choice.price_fen
        session.pinned_image_url = choice.image_url[:300]
        session.pinned_at = clock.now()
        session.save(update_fields=["pinned_sku", "pinned_name", "pinned_price_fen", "pinned_image_url", "pinned_at"])
        events.publish(livestream_events.ItemPinned(live_session_id=session.pk, user_id=by.pk, sku_id=choice.sku_id))
        transaction.on_commit(partial(broadcast.room_changed, session.pk))
    return session


def session_unpin_item(*, session: LiveSession, by: User) -> LiveSession:
    _require_control(session=session, by=by)
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().get(pk=session.pk)
        if session.pinned_at is None:
            raise PinError(_("Nothing is pinned."))
        session.pinned_sku = None
        session.pinned_name, session.pinned_price_fen, session.pinned_image_url = "", None, ""
        session.pinned_at = None
        session.save(update_fields=["pinned_sku", "pinned_name", "pinned_price_fen", "pinned_image_url", "pinned_at"])
        events.publish(livestream_events.ItemUnpinned(live_session_id=session.pk, user_id=by.pk))
        transaction.on_commit(partial(broadcast.room_changed, session.pk))
    return session


def session_publish_jielong(*, session: LiveSession, by: User) -> LiveSession:
    """发布接龙: ask the jielong app to open the campaign prepared for this session, now, during the live.

    The jielong app subscribes to ``livestream.jielong_requested`` (as it does to the session's end)
    and reports back with ``jielong.campaign_opened``, which puts the jielong button in the room.
    """
    _require_control(session=session, by=by)
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().get(pk=session.pk)
        if session.status != LiveSession.Status.LIVE:
            raise SessionStateError(_("The jielong can be published only while the session is live."))
        if session.jielong_requested_at or session.jielong_opened_at:
            raise JielongRequestError(_("The jielong has already been published."))
        session.jielong_requested_at = clock.now()
        session.save(update_fields=["jielong_requested_at"])
        events.publish(livestream_events.JielongRequested(live_session_id=session.pk, user_id=by.pk))
        transaction.on_commit(partial(broadcast.metrics_changed, session.pk))
    return session


def session_jielong_opened(*, live_session_id: int, campaign_id: int) -> None:
    """The jielong app opened a campaign for this session: the room shows its button (first one wins)."""
    with transaction.atomic():
        updated = LiveSession.objects.filter(pk=live_session_id, jielong_campaign_id__isnull=True).update(
            jielong_campaign_id=campaign_id, jielong_opened_at=clock.now()
        )
        if updated:
            transaction.on_commit(partial(broadcast.room_changed, live_session_id))
            transaction.on_commit(partial(broadcast.metrics_changed, live_session_id))


def session_set_replay(*, session: LiveSession, by: User, replay_url: str) -> LiveSession:
    """The replay link (回放), set by the host once the session has ended; empty clears it."""
    _require_control(session=session, by=by)
    replay_url = (replay_url or "").strip()
    if replay_url:
        try:
            URLValidator(schemes=["http", "https"])(replay_url)
        except ValidationError:
            raise ReplayLinkError(_("Enter a full link starting with https://.")) from None
        if len(replay_url) > 200:
            raise ReplayLinkError(_("The link is too long."))
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().get(pk=session.pk)
        if session.status != LiveSession.Status.ENDED:
            raise SessionStateError(_("The replay link can be set once the session has ended."))
        session.replay_url = replay_url
        session.save(update_fields=["replay_url"])
        transaction.on_commit(partial(broadcast.room_changed, session.pk))
    return session


def sessions_sales_changed(*, campaign_ids: set[int]) -> None:
    """Orders of these campaigns changed: refresh the sales metrics of the sessions that launched them.
    Joins arrive in bursts at the end of a live, so this is one query per burst, not per join."""
    if not campaign_ids:
        return
    for session_id in LiveSession.objects.filter(jielong_campaign_id__in=campaign_ids).values_list("pk", flat=True):
        transaction.on_commit(partial(broadcast.metrics_changed, session_id))


def notifications_mark_read(*, user: User, up_to_pk: int) -> int:
    """Mark the member's inbox read up to the newest message the page showed (``up_to_pk``), so a
    message that arrived after the page was rendered stays unread. Returns how many were marked."""
    return Notification.objects.filter(user=user, pk__lte=up_to_pk, read_at__isnull=True).update(read_at=clock.now())
