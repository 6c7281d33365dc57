"""Delivery of warm-up rounds: each due round reaches each recipient once per channel.

How "exactly once" is kept, step by step (a periodic Celery task runs :func:`run_once` every ~15 s; any
number of workers may run it at the same time):

1. **Expand.** Due pending rounds are locked with ``SELECT … FOR UPDATE SKIP LOCKED`` in small batches; in
   the same transaction their :class:`Delivery` rows are inserted (``UniqueConstraint(round, user,
   channel)``, conflicts ignored) and the round is marked ``expanded``. A worker killed here rolls back
   everything; the round stays pending and the next run expands it. Two workers never expand one round.
2. **Inbox and leader copy** (our own database, no outside call): claimed with ``SKIP LOCKED``, the
   :class:`Notification` is created and the row marked ``sent`` *in the claiming transaction*. Either all
   of that commits or none of it: exactly once, whatever is killed when. (``Notification.delivery`` is a
   one-to-one, a second guard.)
3. **SMS** (an outside provider, never called while holding row locks): claimed with ``SKIP LOCKED`` and
   marked ``sending`` with a lease and ``attempts + 1``; commit; then for each row the lease is renewed by
   a conditional update (if another worker has taken the row over, skip it), the provider is called,
   and the row is marked ``sent`` by a conditional update on (status, attempts). A row that is ``sent`` is
   never picked again. A worker killed after claiming but before calling the provider loses nothing:
   when the lease runs out the row is claimed again. The honest limit: a worker killed *after* the
   provider accepted the text but *before* the "sent" commit leaves a ``sending`` row that is sent again
   after the lease — at-least-once, in a window of one UPDATE. The alternative (marking ``sent`` in the
   claiming transaction and calling the provider after commit) closes that window by opening a worse
   one: a kill before the call loses the text silently. No SMS gateway we use takes an idempotency key,
   so one of the two has to give; a duplicate reminder beats a missed one.
4. **A cap on attempts.** Each claim counts an attempt. A provider error of any kind (a delivery error,
   a timeout, a refused connection) marks the row ``pending`` again with a growing delay, or ``failed``
   with its reason at ``MAX_ATTEMPTS``; it never stops the rest of the batch. A row found ``sending``
   with its lease run out (its worker died) is taken again — unless it already had ``MAX_ATTEMPTS``,
   then it is marked ``failed`` ("gave up after N attempts: …") and never claimed again.
5. **Too late.** Rows whose session was cancelled or ended after their round expanded are marked
   ``skipped`` when claimed (the cancellation notice itself still goes out).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from community.feed import publish_feed_item
from community.models import Membership
from community.providers.sms import SMSDeliveryError, get_sms_provider
from groupbuy import clock

from .. import hooks
from ..models import Delivery, LiveSession, Notification, Reservation, WarmupRound
from . import texts

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # well above the SMS provider's own timeout (5 s)
RETRY_AFTER = timedelta(minutes=1)
MAX_ATTEMPTS = 5
WORKER_DIED = "the worker did not finish"
ROUND_BATCH = 5
DELIVERY_BATCH = 50
SESSION_OVER = (LiveSession.Status.ENDED, LiveSession.Status.CANCELLED)


# --- expansion -------------------------------------------------------------------------------------


def _audience_user_ids(round_: WarmupRound) -> tuple[list[int], bool]:
    """The round's recipients, and whether a downstream app (cdp's segments) chose them."""
    session = round_.session
    targeted = hooks.round_audience(round_.pk)
    if targeted is not None:
        return sorted(set(targeted)), True
    if round_.audience == WarmupRound.Audience.RESERVED:
        ids = Reservation.objects.filter(session=session).values_list("user_id", flat=True)
    else:
        memberships = Membership.objects.filter(
            community__in=session.communities.all(), status=Membership.Status.ACTIVE
        )
        if round_.audience == WarmupRound.Audience.KOCS:
            memberships = memberships.filter(role=Membership.Role.KOC)
        ids = memberships.values_list("user_id", flat=True)
    return sorted(set(ids)), False


def _expand(round_: WarmupRound, now: datetime) -> int:
    from community.models import User

    rows = []
    user_ids, is_targeted = _audience_user_ids(round_)
    phones = set()
    if round_.send_sms:
        phones = set(User.objects.filter(pk__in=user_ids, phone__isnull=False).values_list("pk", flat=True))
    for user_id in user_ids:
        rows.append(Delivery(round=round_, user_id=user_id, channel=Delivery.Channel.INBOX))
        if user_id in phones:
            rows.append(Delivery(round=round_, user_id=user_id, channel=Delivery.Channel.SMS))
    if round_.leader_copy:
        leaders = Membership.objects.filter(
            community__in=round_.session.communities.all(),
            status=Membership.Status.ACTIVE,
            role=Membership.Role.LEADER,
        ).order_by("community_id", "user_id")
        for m in leaders:
            rows.append(
                Delivery(
                    round=round_, user_id=m.user_id, community_id=m.community_id, channel=Delivery.Channel.LEADER_COPY
                )
            )
    for row in rows:
        row.text = texts.message(round_, row.channel, row.user_id)
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    if (
        round_.audience == WarmupRound.Audience.COMMUNITIES
        and round_.kind != WarmupRound.Kind.CANCELLED
        and not is_targeted  # a segment's round is not for the whole communities' feeds
    ):
        _announce_in_feeds(round_.session)
    round_.status = WarmupRound.Status.EXPANDED
    round_.expanded_at = now
    round_.save(update_fields=["status", "expanded_at"])
    return len(rows)


def _announce_in_feeds(session: LiveSession) -> None:
    """The first round that reaches whole communities also puts the live in their feeds (once per
    community: the entry's source key is the session). The card's own time is when it was posted, so
    the text says when the live is."""
    with translation.override(settings.LANGUAGE_CODE):
        when = _("Live at %(when)s") % {"when": texts.when(session)}
    body = " · ".join(part for part in (when, session.perk_summary) if part)
    for community in session.communities.all():
        publish_feed_item(
            community=community,
            kind="live",
            source_key=f"livestream.session:{session.pk}",
            title=session.title,
            body=body,
            url=reverse("livestream:member-live", args=[session.pk]),
        )


def rounds_expand_due(*, now: datetime | None = None, round_ids: list[int] | None = None) -> int:
    """Expand due pending rounds into deliveries; returns how many rounds this worker expanded."""
    now = now or clock.now()
    done = 0
    while True:
        with transaction.atomic():
            due = WarmupRound.objects.filter(status=WarmupRound.Status.PENDING, send_at__lte=now)
            if round_ids is not None:
                due = due.filter(pk__in=round_ids)
            batch = list(due.select_for_update(skip_locked=True).order_by("send_at", "pk")[:ROUND_BATCH])
            if not batch:
                return done
            for round_ in batch:
                session = LiveSession.objects.select_related("series").get(pk=round_.session_id)
                round_.session = session
                if session.status in SESSION_OVER and round_.kind != WarmupRound.Kind.CANCELLED:
                    round_.status = WarmupRound.Status.CANCELLED
                    round_.save(update_fields=["status"])
                    continue
                _expand(round_, now)
                done += 1


# --- sending ---------------------------------------------------------------------------------------


def _claimable(now: datetime) -> Q:
    return Q(status=Delivery.Status.PENDING) & (Q(lease_until__isnull=True) | Q(lease_until__lte=now)) | Q(
        status=Delivery.Status.SENDING, lease_until__lte=now
    )


def _inbox_link(delivery: Delivery) -> str:
    round_ = delivery.round
    if round_.has_poster:
        return reverse("livestream:member-poster", args=[round_.pk])
    return reverse("livestream:member-live", args=[round_.session_id])


def deliveries_claim(
    *, now: datetime, batch: int = DELIVERY_BATCH, round_ids: list[int] | None = None
) -> tuple[int, list[Delivery]]:
    """One short transaction: inbox/leader-copy rows are delivered outright; SMS rows are leased and returned.

    Returns how many rows were claimed and the leased SMS rows, which the caller sends after commit.
    """
    with transaction.atomic():
        rows = Delivery.objects.filter(_claimable(now))
        if round_ids is not None:
            rows = rows.filter(round_id__in=round_ids)
        rows = list(rows.select_for_update(skip_locked=True).order_by("pk")[:batch])
        if not rows:
            return 0, []
        rounds = {
            r.pk: r for r in WarmupRound.objects.filter(pk__in={d.round_id for d in rows}).select_related("session")
        }
        # A long run's ``now`` is old by the time it claims its last batch: lease from the wall clock.
        lease_until = _clock(now) + LEASE
        notifications, leased = [], []
        for row in rows:
            row.round = rounds[row.round_id]
            if row.round.kind != WarmupRound.Kind.CANCELLED and row.round.session.status in SESSION_OVER:
                # Expanded just before the session was cancelled or ended: too late to announce it.
                row.status, row.lease_until, row.attempts = Delivery.Status.SKIPPED, None, row.attempts + 1
                continue
            if row.channel == Delivery.Channel.SMS:
                if row.status == Delivery.Status.SENDING:
                    row.last_error = WORKER_DIED  # the previous attempt's lease ran out before it finished
                if row.status == Delivery.Status.SENDING and row.attempts >= MAX_ATTEMPTS:
                    row.status, row.lease_until = Delivery.Status.FAILED, None
                    row.last_error = f"gave up after {row.attempts} attempts: {row.last_error}"[:200]
                    logger.warning("warm-up SMS %s: %s", row.pk, row.last_error)
                    continue
                row.status, row.lease_until, row.attempts = Delivery.Status.SENDING, lease_until, row.attempts + 1
                leased.append(row)
                continue
            title = row.round.title
            if row.channel == Delivery.Channel.LEADER_COPY:
                with translation.override(settings.LANGUAGE_CODE):
                    title = _("For your WeChat group: %(title)s") % {"title": title}
            notifications.append(
                Notification(user_id=row.user_id, title=title, body=row.text, link=_inbox_link(row), delivery=row)
            )
            row.status, row.sent_at, row.lease_until, row.attempts = Delivery.Status.SENT, now, None, row.attempts + 1
        Notification.objects.bulk_create(notifications)
        Delivery.objects.bulk_update(rows, ["status", "sent_at", "lease_until", "attempts", "last_error"])
    return len(rows), leased


def _clock(now: datetime) -> datetime:
    """The later of the run's clock and the wall clock: a long run keeps its leases fresh."""
    return max(now, clock.now())


def _renew_lease(row: Delivery, now: datetime) -> bool:
    """Still ours? A worker that lost its lease to another must not send."""
    now = _clock(now)
    return bool(
        Delivery.objects.filter(pk=row.pk, status=Delivery.Status.SENDING, attempts=row.attempts).update(
            lease_until=now + LEASE
        )
    )


def _mark_sent(row: Delivery) -> None:
    Delivery.objects.filter(pk=row.pk, status=Delivery.Status.SENDING, attempts=row.attempts).update(
        status=Delivery.Status.SENT, sent_at=clock.now(), lease_until=None, last_error=""
    )


def _mark_failed(row: Delivery, error: str, now: datetime) -> None:
    values = {"last_error": error[:200]}
    if row.attempts >= MAX_ATTEMPTS:
        values.update(status=Delivery.Status.FAILED, lease_until=None)
    else:
        values.update(status=Delivery.Status.PENDING, lease_until=_clock(now) + RETRY_AFTER * row.attempts)
    Delivery.objects.filter(pk=row.pk, status=Delivery.Status.SENDING, attempts=row.attempts).update(**values)


def _send_sms(row: Delivery, now: datetime) -> None:
    from community.models import User

    phone = User.objects.filter(pk=row.user_id).values_list("phone", flat=True).first()
    if not phone:
        _mark_failed(row, "no phone", now)
        return
    if not _renew_lease(row, now):
        return
    try:
        get_sms_provider().send(phone=phone, message=row.text)
    except SMSDeliveryError as exc:
        logger.warning("warm-up SMS %s failed: %s", row.pk, exc)
        _mark_failed(row, str(exc), now)
        return
    except Exception as exc:
        # A timeout or a refused connection is a failed attempt like any other: counted, capped, reasoned.
        logger.warning("warm-up SMS %s failed", row.pk, exc_info=True)
        _mark_failed(row, f"{type(exc).__name__}: {exc}", now)
        return
    _mark_sent(row)


def deliveries_send(*, now: datetime | None = None, round_ids: list[int] | None = None, max_batches: int = 20) -> int:
    """Claim and send pending deliveries in small batches; returns how many rows this worker claimed."""
    now = now or clock.now()
    total = 0
    for _batch in range(max_batches):
        count, leased = deliveries_claim(now=now, round_ids=round_ids)
        if not count:
            break
        for row in leased:
            _send_sms(row, now)
        total += count
    return total


def run_once(*, now: datetime | None = None) -> None:
    """The periodic task's body: expand what is due, then send what is pending."""
    now = now or clock.now()
    rounds_expand_due(now=now)
    deliveries_send(now=now)


def round_deliver_now(round_id: int) -> None:
    """Deliver one round straight away (used on commit for a cancellation notice); the task is the safety net."""
    try:
        rounds_expand_due(round_ids=[round_id])
        deliveries_send(round_ids=[round_id])
    except Exception:
        logger.exception("immediate delivery of round %s failed; the periodic task will retry", round_id)


def round_deliver_on_commit(round_id: int) -> None:
    transaction.on_commit(partial(round_deliver_now, round_id))
