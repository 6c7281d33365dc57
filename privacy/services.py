"""A member's personal-information rights (PIPL): download their data, ask for deletion, sign out everywhere.

Deletion waits out a cooling-off period (``settings.PRIVACY_DELETION_COOLING_OFF_DAYS``, 7 days by default)
during which the member may cancel and the account keeps working: deletion cannot be undone, and a tap by
mistake, a family member on the phone or someone who took over the account should not cost a member years of
history. Then the periodic task anonymises it (``privacy.erasure``); an operator may process a request at
once (the member asked in person, by phone). Nothing is anonymised while something open still needs the
person: an order not yet picked up, an after-sales request in progress, commissions not yet settled, a
pickup point they lead. A request is refused while such a thing exists, and a due request waits (saying why)
if one appeared during the cooling-off.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from aftersales.models import Request as AfterSalesRequest
from community import events as community_events
from community.models import Membership, PickupPoint, User
from groupbuy import audit, clock, events
from groupbuy.errors import DomainError
from jielong.models import LedgerEntry, Order

from . import erasure, export
from .models import DataExport, DeletionRequest

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class DeletionRefused(DomainError):
    pass


class DeletionWaiting(DomainError):
    """A due request cannot be processed yet: something open still needs the person (the message says what)."""


def cooling_off() -> timedelta:
    return timedelta(days=settings.PRIVACY_DELETION_COOLING_OFF_DAYS)


# --- what stands in the way ----------------------------------------------------------------------------------


def deletion_blockers(user: User) -> list[str]:
    """What still needs this person's identity, in their words (empty: the account may be anonymised)."""
    reasons = []
    open_orders = (
        Order.objects.filter(user=user, status__in=[Order.Status.JOINED, Order.Status.READY])
        .exclude(payment_status=Order.PaymentStatus.REFUNDED)
        .count()
    )
    if open_orders:
        reasons.append(
            ngettext(
                "%(count)s order is not picked up or cancelled yet: collect it or cancel it first.",
                "%(count)s orders are not picked up or cancelled yet: collect them or cancel them first.",
                open_orders,
            )
            % {"count": open_orders}
        )
    open_requests = AfterSalesRequest.objects.filter(
        user=user, status__in=[AfterSalesRequest.Status.OPEN, AfterSalesRequest.Status.ANSWERED]
    ).count()
    if open_requests:
        reasons.append(
            ngettext(
                "%(count)s after-sales request is in progress: it needs you until it is resolved.",
                "%(count)s after-sales requests are in progress: they need you until they are resolved.",
                open_requests,
            )
            % {"count": open_requests}
        )
    if LedgerEntry.objects.filter(
        payee=user, kind__in=[LedgerEntry.Kind.COMMISSION, LedgerEntry.Kind.CLAWBACK], statement_line__isnull=True
    ).exists():
        reasons.append(_("You have commissions not yet settled: they are paid to you in the next settlement."))
    leads = (
        Membership.objects.filter(user=user, role=Membership.Role.LEADER, status=Membership.Status.ACTIVE).exists()
        or PickupPoint.objects.filter(leader=user, is_active=True).exists()
    )
    if leads:
        reasons.append(_("You lead a community or a pickup point: ask the operator to hand it over first."))
    return reasons


# --- download my data ------------------------------------------------------------------------------------------


def data_export_make(*, user: User, now: datetime | None = None) -> tuple[bytes, DataExport]:
    """The member's data as a JSON file (``privacy.export``), and the logged download (counts, no data)."""
    now = now or clock.now()
    data = export.member_data(user)
    data["exported_at"] = now
    content = export.as_json(data)
    with transaction.atomic():
        record = DataExport.objects.create(
            user=user, created_at=now, size_bytes=len(content), counts=export.counts(data)
        )
        audit.record("privacy.data_exported", actor=user, target=record, after={"size_bytes": len(content)})
    return content, record


# --- deletion -------------------------------------------------------------------------------------------------


def _new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def deletion_pending(user: User) -> DeletionRequest | None:
    return DeletionRequest.objects.filter(user=user, status=DeletionRequest.Status.PENDING).first()


def deletion_request(*, user: User, now: datetime | None = None) -> DeletionRequest:
    """The member asks for deletion: anonymised after the cooling-off unless cancelled. Refused (nothing
    written) for staff accounts and while :func:`deletion_blockers` finds something open."""
    now = now or clock.now()
    if user.role != User.Role.MEMBER or not user.is_active:
        raise DeletionRefused(_("Staff accounts are closed by the operator, not here."), code="not_member")
    reasons = deletion_blockers(user)
    if reasons:
        raise DeletionRefused(" ".join(reasons), code="open_items")
    try:
        with transaction.atomic():
            request = DeletionRequest.objects.create(
                user=user, reference=_new_reference(), requested_at=now, due_at=now + cooling_off()
            )
            audit.record("privacy.deletion_requested", actor=user, target=request, after={"due_at": request.due_at})
    except IntegrityError:
        raise DeletionRefused(
            _("You have already asked for deletion; it is shown below."), code="already_requested"
        ) from None
    return request


def deletion_cancel(*, user: User, now: datetime | None = None) -> DeletionRequest:
    """The member changed their mind during the cooling-off: the request ends, the account stays as it is."""
    now = now or clock.now()
    with transaction.atomic():
        request = (
            DeletionRequest.objects.select_for_update().filter(user=user, status=DeletionRequest.Status.PENDING).first()
        )
        if request is None:
            raise DeletionRefused(_("There is no deletion request to cancel."), code="nothing_pending")
        request.status = DeletionRequest.Status.CANCELLED
        request.cancelled_at = now
        request.save(update_fields=["status", "cancelled_at"])
        audit.record("privacy.deletion_cancelled", actor=user, target=request)
    return request


def deletion_process(*, request_id: int, by: User | None = None, now: datetime | None = None) -> DeletionRequest:
    """Anonymise the account of a pending request: by the periodic task once due (``by`` None), or by an
    operator at once. Raises :class:`DeletionWaiting` (and notes why on the request) while something open
    still needs the person, :class:`DeletionRefused` for a request that is not pending or not yet due."""
    now = now or clock.now()
    with transaction.atomic():
        request = DeletionRequest.objects.select_for_update().select_related("user").get(pk=request_id)
        if request.status != DeletionRequest.Status.PENDING:
            raise DeletionRefused(_("This request is no longer waiting."), code="not_pending")
        if by is None and request.due_at > now:
            raise DeletionRefused(_("This request is still in its cooling-off period."), code="cooling_off")
        user = User.objects.select_for_update().get(pk=request.user_id)
        reasons = deletion_blockers(user)
        if reasons:
            waiting = " ".join(reasons)[: DeletionRequest._meta.get_field("waiting_reason").max_length]
            DeletionRequest.objects.filter(pk=request.pk).update(waiting_reason=waiting)
            waiting_error = DeletionWaiting(waiting, code="waiting")
        else:
            waiting_error = None
            masked = user.masked_phone
            summary = erasure.anonymise(user=user, reference=request.reference, now=now)
            request.status = DeletionRequest.Status.DONE
            request.processed_at = now
            request.processed_by = by
            request.waiting_reason = ""
            request.summary = summary
            request.save(update_fields=["status", "processed_at", "processed_by", "waiting_reason", "summary"])
            audit.record(
                "privacy.person_erased",
                actor=by,
                target=request,
                before={"phone": masked, "status": DeletionRequest.Status.PENDING},
                after={"status": DeletionRequest.Status.DONE, **summary},
            )
    if waiting_error is not None:
        raise waiting_error
    return request


def deletions_process_due(*, now: datetime | None = None) -> int:
    """The periodic sweep: anonymise every request past its cooling-off that nothing holds up; the number done."""
    now = now or clock.now()
    done = 0
    due = list(
        DeletionRequest.objects.filter(status=DeletionRequest.Status.PENDING, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:200]
    )
    for pk in due:
        try:
            deletion_process(request_id=pk, now=now)
        except (DeletionWaiting, DeletionRefused):
            continue
        done += 1
    return done


# --- sign out everywhere ---------------------------------------------------------------------------------------


def sign_out_everywhere(*, user: User) -> None:
    """End every session of ``user`` on every device (this one too): the hash each session carries no
    longer matches (``User.session_epoch``), so Django signs it out on its next request; open live rooms
    are closed at once (``SignedOutEverywhere``, heard by livestream)."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
        audit.record("privacy.signed_out_everywhere", actor=user, target=user)
        events.publish(community_events.SignedOutEverywhere(user_id=user.pk))
    user.refresh_from_db(fields=["session_epoch"])
