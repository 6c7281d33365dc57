"""After-sales services (售后): open a request, talk on it, resolve it; SLA escalation; bulk refunds.

Money moves only through ``jielong.ledger`` (``refund_issue``, ``credit_issue``), inside the transaction that
resolves the request, so a request is resolved exactly when its money moved. Bad input raises
``AftersalesRefused`` (or the ledger's ``RefundRefused``) before anything is written.

Locking: the request row, then (through the ledger) its order and the order's lines in pk order.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from community.access import is_flagged, staff_brand_ids
from community.models import User
from groupbuy import audit, clock, events
from groupbuy.errors import DomainError
from groupbuy.images import check_count, clean_image
from groupbuy.money import format_fen
from jielong import ledger
from jielong.models import Campaign, Order, OrderLine
from livestream.models import Notification

from . import access
from . import events as aftersales_events
from .models import BulkRefund, Request, RequestLine, RequestMessage, RequestPhoto, SlaSettings

MAX_PHOTOS = 6
PHOTO_MAX_SIDE = 1600
PHOTO_MAX_BYTES = 8 * 1024 * 1024
MAX_TEXT = 500


class AftersalesRefused(DomainError):
    pass


def sla_settings(*, brand_id: int) -> SlaSettings:
    return SlaSettings.objects.filter(brand_id=brand_id).first() or SlaSettings(brand_id=brand_id)


def sla_settings_update(*, brand_id: int, first_answer_hours: int, resolution_hours: int, by: User) -> SlaSettings:
    if not by.is_operator:
        raise AftersalesRefused(_("Only operators can change the after-sales promises."), code="forbidden")
    if not (1 <= first_answer_hours <= 240 and 1 <= resolution_hours <= 720):
        raise AftersalesRefused(_("Enter hours between 1 and 240 (resolution: up to 720)."), code="hours")
    if resolution_hours < first_answer_hours:
        raise AftersalesRefused(_("The resolution cannot be due before the first answer."), code="hours")
    settings, _created = SlaSettings.objects.update_or_create(
        brand_id=brand_id, defaults={"first_answer_hours": first_answer_hours, "resolution_hours": resolution_hours}
    )
    return settings


def _notify(request: Request, title: str, body: str = "") -> None:
    """The member's inbox message, written with the step it tells about (exactly once: it commits or not)."""
    link = reverse("aftersales:member-request", args=[request.pk])
    Notification.objects.create(
        user_id=request.user_id, title=title[:100], body=body, link=link, created_at=clock.now()
    )


def _step(request: Request, body: str, *, by: User | None = None) -> None:
    RequestMessage.objects.create(
        request=request,
        kind=RequestMessage.Kind.STEP,
        author=by,
        is_staff=by is not None,
        body=body,
        created_at=clock.now(),
    )


def _clean_lines(order: Order, lines: Mapping[int, int]) -> list[tuple[OrderLine, int]]:
    by_pk = {line.pk: line for line in order.lines.select_related("item__sku__product")}
    chosen = []
    for line_id, quantity in lines.items():
        line = by_pk.get(int(line_id))
        if line is None:
            raise AftersalesRefused(_("That item is not in this order."), code="line")
        if quantity <= 0:
            continue
        if quantity > line.quantity:
            raise AftersalesRefused(
                _("You ordered %(n)s of %(item)s.") % {"n": line.quantity, "item": line.item.sku}, code="quantity"
            )
        chosen.append((line, quantity))
    if not chosen:
        raise AftersalesRefused(_("Choose at least one item and how many."), code="empty")
    return chosen


def request_most_refund_fen(*, order: Order, lines: list[tuple[OrderLine, int]]) -> int:
    """The most a member may ask back for these items: what those units cost, and no more than what was paid
    for their lines and not yet refunded (per the ledger)."""
    value = sum(line.unit_price_fen * quantity for line, quantity in lines)
    left = ledger.refundable_fen(order=order, order_line_ids=[line.pk for line, _q in lines])
    return min(value, left)


def request_open_check_person(*, user: User, brand_id: int) -> None:
    """Refuse a person flagged for refund abuse in the brand (``community.access.is_flagged``), in neutral
    words. Shortages that fulfilment records still open by themselves (``request_open_for_shortage``): those
    are not the member's doing. The member's form asks this before it is filled in, too."""
    if is_flagged(user=user, brand=brand_id):
        raise AftersalesRefused(
            _("You cannot open a new after-sales request for now; please contact your leader if you have questions."),
            code="not_available",
        )


def request_open(
    *,
    order_id: int,
    user: User,
    lines: Mapping[int, int],
    reason: str,
    ask: str,
    asked_fen: int = 0,
    description: str = "",
    photos: list | None = None,
) -> Request:
    """A member opens an after-sales request on their own order. Photos are checked and cleaned (resized,
    EXIF stripped) before anything is written; any refusal leaves nothing behind. A person flagged for
    refund abuse in the brand (``community.access.is_flagged``) is refused in neutral words."""
    photos = photos or []
    order = Order.objects.select_related("campaign", "community").filter(pk=order_id).first()
    if order is None or order.user_id != user.pk:
        raise AftersalesRefused(_("That is not your order."), code="not_owner")
    request_open_check_person(user=user, brand_id=order.campaign.brand_id)
    if order.status == Order.Status.CANCELLED:
        raise AftersalesRefused(_("This order was cancelled: there is nothing to claim."), code="cancelled")
    if reason not in Request.Reason.values:
        raise AftersalesRefused(_("Choose what went wrong."), code="reason")
    if ask not in Request.Ask.values:
        raise AftersalesRefused(_("Choose what you would like us to do."), code="ask")
    description = description.strip()
    if len(description) > MAX_TEXT:
        raise AftersalesRefused(_("Keep the description under %(n)s characters.") % {"n": MAX_TEXT}, code="text")
    chosen = _clean_lines(order, lines)
    if ask == Request.Ask.REFUND:
        most = request_most_refund_fen(order=order, lines=chosen)
        if most <= 0:
            raise AftersalesRefused(
                _("Nothing paid for these items is left to refund; ask for a replacement or store credit."),
                code="nothing_to_refund",
            )
        if asked_fen <= 0 or asked_fen > most:
            raise AftersalesRefused(
                _("Ask for an amount between ¥0.01 and %(most)s.") % {"most": format_fen(most)}, code="amount"
            )
    else:
        asked_fen = 0
    check_count(photos, most=MAX_PHOTOS, message=_("At most %(n)s photos.") % {"n": MAX_PHOTOS})
    cleaned = [clean_image(photo, max_side=PHOTO_MAX_SIDE, max_bytes=PHOTO_MAX_BYTES) for photo in photos]
    sla = sla_settings(brand_id=order.campaign.brand_id)
    now = clock.now()
    try:
        with transaction.atomic():
            request = Request.objects.create(
                brand_id=order.campaign.brand_id,
                community_id=order.community_id,
                order=order,
                user=user,
                reason=reason,
                ask=ask,
                asked_fen=asked_fen,
                description=description,
                opened_at=now,
                first_answer_due=now + timedelta(hours=sla.first_answer_hours),
                resolution_due=now + timedelta(hours=sla.resolution_hours),
            )
            RequestLine.objects.bulk_create(
                RequestLine(request=request, order_line=line, quantity=quantity) for line, quantity in chosen
            )
            for picture in cleaned:
                photo = RequestPhoto(request=request, width=picture.width, height=picture.height)
                photo.image.save(
                    f"{request.pk}-{uuid.uuid4().hex[:16]}.{picture.extension}",
                    ContentFile(picture.content),
                    save=False,
                )
                photo.save()
            _step(request, _("Request opened"))
            _notify(
                request,
                _("We received your after-sales request"),
                _("Your leader answers within %(h)s hours.") % {"h": sla.first_answer_hours},
            )
            _publish_opened(request)
    except IntegrityError:
        raise AftersalesRefused(
            _("This order already has an open request; add to it instead."), code="already_open"
        ) from None
    return request


def _publish_opened(request: Request) -> None:
    events.publish(
        aftersales_events.RequestOpened(
            request_id=request.pk,
            brand_id=request.brand_id,
            order_id=request.order_id,
            user_id=request.user_id,
            reason=request.reason,
            ask=request.ask,
            source=request.source,
        )
    )


def request_open_for_shortage(*, order_line_id: int, quantity: int) -> Request | None:
    """Fulfilment recorded ``quantity`` units of a line short: open a refund request for the member by itself.
    Idempotent (one request per short line, whichever of the event and the sweep comes first)."""
    line = OrderLine.objects.select_related("order__campaign", "item__sku__product").filter(pk=order_line_id).first()
    if line is None or line.order.status == Order.Status.CANCELLED or quantity <= 0:
        return None
    existing = Request.objects.filter(shortage_line=line).first()
    if existing is not None:
        return existing
    order = line.order
    quantity = min(quantity, line.quantity)
    asked = min(line.unit_price_fen * quantity, ledger.refundable_fen(order=order, order_line_ids=[line.pk]))
    sla = sla_settings(brand_id=order.campaign.brand_id)
    now = clock.now()
    try:
        with transaction.atomic():
            request = Request.objects.create(
                brand_id=order.campaign.brand_id,
                community_id=order.community_id,
                order=order,
                user_id=order.user_id,
                source=Request.Source.SHORTAGE,
                shortage_line=line,
                reason=Request.Reason.SHORTAGE,
                ask=Request.Ask.REFUND if asked > 0 else Request.Ask.CREDIT,
                asked_fen=asked,
                description=_("The supplier could not supply %(n)s × %(item)s.")
                % {"n": quantity, "item": line.item.sku},
                opened_at=now,
                first_answer_due=now + timedelta(hours=sla.first_answer_hours),
                resolution_due=now + timedelta(hours=sla.resolution_hours),
            )
            RequestLine.objects.create(request=request, order_line=line, quantity=quantity)
            # No inbox message of our own: fulfilment's SHORTAGE notice already tells the member (inbox + SMS)
            # and links to the order page, where this request shows.
            _step(request, _("Opened for you: the supplier was short"))
            _publish_opened(request)
    except IntegrityError:
        return Request.objects.filter(shortage_line=line).first()  # the sweep and the event raced
    return request


def shortages_sweep() -> int:
    """Open the requests a lost event did not: every recorded, unresolved shortage without one. Safe to repeat."""
    from fulfillment.models import Shortage

    opened = 0
    rows = (
        Shortage.objects.filter(resolved_at__isnull=True)
        .exclude(order_line_id__in=Request.objects.filter(shortage_line__isnull=False).values("shortage_line_id"))
        .values_list("order_line_id", "quantity")
    )
    for line_id, quantity in rows:
        if request_open_for_shortage(order_line_id=line_id, quantity=quantity) is not None:
            opened += 1
    return opened


def _load_for(request_id: int, user: User, *, lock: bool) -> Request:
    query = Request.objects.select_for_update(of=["self"]) if lock else Request.objects
    request = query.select_related("order__campaign").filter(pk=request_id).first()
    if request is None or not access.may_see(user=user, request=request):
        raise AftersalesRefused(_("This request does not exist."), code="not_found")
    return request


def request_reply(*, request_id: int, by: User, body: str) -> RequestMessage:
    """A message on the request's thread. The first one from the leader or operator stops the first-answer timer."""
    body = body.strip()
    if not body:
        raise AftersalesRefused(_("Write a message first."), code="empty")
    if len(body) > MAX_TEXT:
        raise AftersalesRefused(_("Keep the message under %(n)s characters.") % {"n": MAX_TEXT}, code="text")
    with transaction.atomic():
        request = _load_for(request_id, by, lock=True)
        is_staff = request.user_id != by.pk
        now = clock.now()
        message = RequestMessage.objects.create(
            request=request, author=by, is_staff=is_staff, body=body, created_at=now
        )
        if is_staff:
            _answered(request, by, now)
            _notify(request, _("New reply on your after-sales request"), body[:200])
    return message


def _answered(request: Request, by: User, now) -> None:
    if request.first_answered_at is not None:
        return
    request.first_answered_at = now
    if request.status == Request.Status.OPEN:
        request.status = Request.Status.ANSWERED
    request.save(update_fields=["first_answered_at", "status"])
    minutes = int((now - request.opened_at).total_seconds() // 60)
    events.publish(aftersales_events.RequestAnswered(request_id=request.pk, by=by.pk, minutes=minutes))


def request_refundable_fen(*, request: Request) -> int:
    """The most a resolution may refund: what the request's units cost, less what their lines had refunded."""
    lines = [(line.order_line, line.quantity) for line in request.lines.select_related("order_line")]
    return request_most_refund_fen(order=request.order, lines=lines)


def request_resolve(*, request_id: int, by: User, resolution: str, amount_fen: int = 0, note: str = "") -> Request:
    """Close a request: refund (full or partial, through ``jielong.ledger.refund_issue`` keyed by the request),
    replacement (recorded; the leader hands it over), store credit (a ledger credit), or reject with a reason.
    A second resolution is refused; a refund above what is left is refused; either way nothing changes."""
    note = note.strip()
    if resolution not in Request.Resolution.values:
        raise AftersalesRefused(_("Choose how to resolve the request."), code="resolution")
    if len(note) > 200:
        raise AftersalesRefused(_("Keep the note under %(n)s characters.") % {"n": 200}, code="text")
    if resolution == Request.Resolution.REJECTED and not note:
        raise AftersalesRefused(_("Say why the request is rejected."), code="reason")
    with transaction.atomic():
        request = _load_for(request_id, by, lock=True)
        if not access.may_handle(user=by, request=request):
            raise AftersalesRefused(_("Only the leader or an operator can resolve a request."), code="forbidden")
        if request.is_closed:
            raise AftersalesRefused(_("This request has already been resolved."), code="closed")
        key = f"aftersales-{request.pk}"
        if resolution in (Request.Resolution.REFUND, Request.Resolution.CREDIT):
            if amount_fen <= 0:
                raise AftersalesRefused(_("Enter an amount above zero."), code="amount")
        else:
            amount_fen = 0
        if resolution == Request.Resolution.REFUND:
            most = request_refundable_fen(request=request)
            if amount_fen > most:
                raise AftersalesRefused(
                    _("At most %(left)s is left to refund for these items.") % {"left": format_fen(most)},
                    code="over_refund",
                )
            line_ids = list(request.lines.values_list("order_line_id", flat=True))
            ledger.refund_issue(
                order=request.order, order_line_ids=line_ids, amount_fen=amount_fen, key=key, by=by, reason=note
            )
        elif resolution == Request.Resolution.CREDIT:
            ledger.credit_issue(order=request.order, amount_fen=amount_fen, key=key, by=by, reason=note)
        now = clock.now()
        is_overdue = request.is_overdue(at=now)
        _answered(request, by, now)
        request.status = (
            Request.Status.REJECTED if resolution == Request.Resolution.REJECTED else Request.Status.RESOLVED
        )
        request.resolution = resolution
        request.resolved_fen = amount_fen
        request.resolution_note = note
        request.resolved_at = now
        request.resolved_by = by
        request.save(
            update_fields=["status", "resolution", "resolved_fen", "resolution_note", "resolved_at", "resolved_by"]
        )
        told = resolution_text(request)
        _step(request, told, by=by)
        _notify(request, _("Your after-sales request: %(what)s") % {"what": told}, note)
        events.publish(
            aftersales_events.RequestResolved(
                request_id=request.pk,
                order_id=request.order_id,
                user_id=request.user_id,
                resolution=resolution,
                amount_fen=amount_fen,
                by=by.pk,
                is_overdue=is_overdue,
            )
        )
    return request


def resolution_text(request: Request) -> str:
    if request.resolution == Request.Resolution.REFUND:
        return _("Refunded %(amount)s") % {"amount": format_fen(request.resolved_fen)}
    if request.resolution == Request.Resolution.CREDIT:
        return _("%(amount)s store credit given") % {"amount": format_fen(request.resolved_fen)}
    if request.resolution == Request.Resolution.REPLACEMENT:
        return _("A replacement will be handed over at your pickup point")
    return _("Rejected")


def requests_escalate_due() -> int:
    """Escalate every open request past an SLA to the operator (once each). Run periodically; safe to repeat."""
    now = clock.now()
    escalated = 0
    candidates = Request.objects.filter(
        escalated_at__isnull=True, status__in=[Request.Status.OPEN, Request.Status.ANSWERED]
    ).only("pk", "resolution_due", "first_answer_due", "first_answered_at", "status")
    for candidate in candidates.iterator():
        if not candidate.is_overdue(at=now):
            continue
        with transaction.atomic():
            request = Request.objects.select_for_update().filter(pk=candidate.pk, escalated_at__isnull=True).first()
            if request is None or not request.is_overdue(at=now):
                continue
            request.escalated_at = now
            request.save(update_fields=["escalated_at"])
            _step(request, _("Past our promised time: passed to the operator"))
            events.publish(aftersales_events.RequestEscalated(request_id=request.pk, brand_id=request.brand_id))
            escalated += 1
    return escalated


# --- bulk refund (批量退款) ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkRow:
    order: Order
    amount_fen: int


@dataclass(frozen=True)
class BulkPreview:
    brand_id: int
    scope: str
    rows: list[BulkRow]
    total_fen: int


def bulk_refund_preview(
    *,
    campaign_id: int | None = None,
    delivery_date: date | None = None,
    pickup_point_id: int | None = None,
    brand_ids: frozenset[int] | None = None,
) -> BulkPreview:
    """What a bulk refund would give back, order by order: everything paid and not yet refunded, for a
    whole campaign, or for the orders of a delivery day (at one pickup point, e.g. a van's cold-chain failure).
    ``brand_ids`` (a brand's operator, ``staff_brand_ids``) limits it to those brands: another brand's campaign
    or point reads as one that does not exist."""
    orders = Order.objects.exclude(payment_status=Order.PaymentStatus.UNPAID).select_related("user", "campaign")
    campaigns = Campaign.objects.all()
    if brand_ids is not None:
        orders = orders.filter(campaign__brand_id__in=brand_ids)
        campaigns = campaigns.filter(brand_id__in=brand_ids)
    if campaign_id is not None:
        campaign = campaigns.filter(pk=campaign_id).first()
        if campaign is None:
            raise AftersalesRefused(_("That campaign does not exist."), code="scope")
        orders = orders.filter(campaign=campaign)
        scope, brand_id = _("《%(title)s》, every paid order") % {"title": campaign.title}, campaign.brand_id
    elif delivery_date is not None:
        from community.models import PickupPoint
        from fulfillment.models import Parcel

        parcels = Parcel.objects.filter(delivery_date=delivery_date).exclude(state=Parcel.State.CANCELLED)
        point = None
        if pickup_point_id is not None:
            points = PickupPoint.objects.all()
            if brand_ids is not None:
                points = points.filter(community__brand_id__in=brand_ids)
            point = points.select_related("community").filter(pk=pickup_point_id).first()
            if point is None:
                raise AftersalesRefused(_("That pickup point does not exist."), code="scope")
            parcels = parcels.filter(pickup_point=point)
        orders = orders.filter(pk__in=parcels.values("order_id"))
        scope = _("Delivery of %(day)s") % {"day": delivery_date.isoformat()}
        if point is not None:
            scope += f" · {point.name}"
        brand_id = point.community.brand_id if point is not None else 0
    else:
        raise AftersalesRefused(_("Choose a campaign or a delivery day."), code="scope")
    rows = []
    for order in orders.order_by("pk"):
        left = ledger.refundable_fen(order=order)
        if left > 0:
            rows.append(BulkRow(order=order, amount_fen=left))
    if not brand_id and rows:
        brand_id = rows[0].order.campaign.brand_id
    return BulkPreview(brand_id=brand_id, scope=scope, rows=rows, total_fen=sum(r.amount_fen for r in rows))


def bulk_refund_confirm(
    *,
    by: User,
    key: str,
    expected_total_fen: int,
    reason: str,
    campaign_id: int | None = None,
    delivery_date: date | None = None,
    pickup_point_id: int | None = None,
) -> BulkRefund:
    """Refund what the preview showed, in one transaction: all of it or nothing. If anything changed since
    the preview (a total that differs), nothing is refunded and the operator previews again. ``key`` (made
    with the preview) makes a second post of the same confirmation return the first."""
    if not by.is_operator:
        raise AftersalesRefused(_("Only operators can refund in bulk."), code="forbidden")
    reason = reason.strip()
    if not reason:
        raise AftersalesRefused(_("Say why these orders are refunded."), code="reason")
    if not key or len(key) > 40:
        raise AftersalesRefused(_("Open the preview again."), code="key")
    done = BulkRefund.objects.filter(key=key).first()
    if done is not None:
        return done
    with transaction.atomic():
        preview = bulk_refund_preview(
            campaign_id=campaign_id,
            delivery_date=delivery_date,
            pickup_point_id=pickup_point_id,
            brand_ids=staff_brand_ids(by),
        )
        if not preview.rows:
            raise AftersalesRefused(_("Nothing is left to refund here."), code="empty")
        if preview.total_fen != expected_total_fen:
            raise AftersalesRefused(
                _("The amounts changed since the preview (now %(total)s). Check the preview again.")
                % {"total": format_fen(preview.total_fen)},
                code="changed",
            )
        for row in preview.rows:
            refund = ledger.refund_issue(
                order=row.order, amount_fen=row.amount_fen, key=f"bulk-{key}-{row.order.pk}", by=by, reason=reason
            )
            if refund.amount_fen != row.amount_fen:  # a concurrent refund got there between preview and lock
                raise AftersalesRefused(
                    _("The amounts changed since the preview. Check the preview again."), code="changed"
                )
        try:
            with transaction.atomic():
                bulk = BulkRefund.objects.create(
                    brand_id=preview.brand_id,
                    key=key,
                    scope=preview.scope[:200],
                    reason=reason[:200],
                    orders=len(preview.rows),
                    total_fen=preview.total_fen,
                    created_at=clock.now(),
                    by=by,
                )
                audit.record(
                    "aftersales.bulk_refunded",
                    actor=by,
                    target=audit.Target(type="aftersales.bulkrefund", id=bulk.pk, label=preview.scope),
                    brand_id=preview.brand_id,
                    after={"orders": len(preview.rows), "total_fen": preview.total_fen},
                    note=reason,
                )
        except IntegrityError:
            raise AftersalesRefused(_("This bulk refund was already confirmed."), code="twice") from None
        for row in preview.rows:
            Notification.objects.create(
                user_id=row.order.user_id,
                title=_("Refunded %(amount)s") % {"amount": format_fen(row.amount_fen)},
                body=_("《%(title)s》: %(reason)s") % {"title": row.order.campaign.title, "reason": reason},
                link=reverse("jielong:member-order", args=[row.order.pk]),
                created_at=clock.now(),
            )
        events.publish(
            aftersales_events.BulkRefundIssued(
                bulk_refund_id=bulk.pk,
                brand_id=bulk.brand_id,
                orders=bulk.orders,
                total_fen=bulk.total_fen,
                by=by.pk,
            )
        )
    return bulk
