"""核销 (pickup verification) at the pickup point: look a code up, verify it exactly once, undo it within a
short window, and mark what waited too long as not collected (超时未取).

A code names one ``Handout`` (a member's merged orders at one point on one day); codes are unique per point,
so the point the verifier stands at and the code find it. Verifying is one conditional
``UPDATE … WHERE verified_at IS NULL``: of two phones verifying the same code at the same moment, the row
lock lets one through and the other's update finds the row already verified (rowcount 0) and is refused —
there is no read-then-write window. Everything else (the log row, the parcels, the jielong orders, the
member's notice) is written in the same transaction; events go out after it commits.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _

from community.models import PickupPoint, User
from groupbuy import clock, events
from groupbuy.errors import DomainError
from jielong.models import Order

from . import access, hooks
from . import events as fulfillment_events
from .models import Handout, Parcel, Verification
from .notices import notices_queue

State = Parcel.State

# Parcels a verification hands over: wherever the van got to, the leader has the goods in hand when a
# member stands at the counter (a forgotten "received" tap must not keep a neighbour waiting).
HANDABLE = (
    State.PENDING,
    State.SHIPPED,
    State.AT_WAREHOUSE,
    State.OUT_FOR_DELIVERY,
    State.AT_PICKUP,
    State.UNCOLLECTED,
)
CODE_LENGTH = 6


def undo_window() -> timedelta:
    return timedelta(minutes=settings.FULFILMENT_PICKUP_UNDO_MINUTES)


def uncollected_after() -> timedelta:
    return timedelta(hours=settings.FULFILMENT_UNCOLLECTED_AFTER_HOURS)


class PickupRefused(DomainError):
    """A 核销 (or its undo) that cannot be done; the message is for the person at the counter."""


# --- reading a code -----------------------------------------------------------------------------


def normalize_code(code: str) -> str:
    """What was typed or scanned → the 6 digits (full-width digits and spaces are forgiven)."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", code or "") if not ch.isspace() and ch != "-")
    if len(digits) != CODE_LENGTH or not digits.isascii() or not digits.isdigit():
        raise PickupRefused(_("A pickup code is 6 digits."), code="bad_code")
    return digits


def _point_or_refuse(*, pickup_point_id: int, by: User) -> PickupPoint:
    point = PickupPoint.objects.filter(pk=pickup_point_id).first()
    if point is None:
        raise PickupRefused(_("This pickup point does not exist."), code="no_point")
    if not access.may_verify_at(user=by, point=point):
        raise PickupRefused(_("You may not verify pickups at %(point)s.") % {"point": point.name}, code="not_allowed")
    return point


def _handout_or_refuse(*, code: str, point: PickupPoint) -> Handout:
    handout = Handout.objects.filter(pickup_point=point, code=code).select_related("verified_by").first()
    if handout is not None:
        return handout
    # Codes are unique per point only, so a code can exist at other points too: name them (never the member),
    # outstanding hand-outs first, so the leader can send the neighbour to the right door.
    others = list(
        Handout.objects.filter(code=code, pickup_point__community__brand_id=point.community.brand_id)
        .exclude(pickup_point=point)
        .values_list("pickup_point__name", "verified_at", "delivery_date")[:50]
    )
    others.sort(key=lambda row: (row[1] is not None, -row[2].toordinal()))
    names = list(dict.fromkeys(name for name, _verified, _day in others))
    if names:
        raise PickupRefused(
            _("Code %(code)s is for %(other)s, not %(point)s: please send the member there.")
            % {"code": code, "other": "、".join(names[:3]), "point": point.name},
            code="other_point",
        )
    raise PickupRefused(
        _("No order has the pickup code %(code)s at %(point)s. Check the code with the member.")
        % {"code": code, "point": point.name},
        code="unknown_code",
    )


def _already_verified(handout: Handout) -> PickupRefused:
    by = handout.verified_by.display_name if handout.verified_by else "—"
    return PickupRefused(
        _("Code %(code)s was already picked up at %(when)s (verified by %(by)s).")
        % {"code": handout.code, "when": clock.localtime(handout.verified_at).strftime("%m-%d %H:%M"), "by": by},
        code="already_verified",
    )


def _nothing_to_hand_over(handout: Handout) -> PickupRefused:
    return PickupRefused(
        _("Nothing to hand over for code %(code)s: its orders were cancelled or are out of stock.")
        % {"code": handout.code},
        code="nothing_to_hand_over",
    )


# --- what to hand over ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HandoutItem:
    label: str
    quantity: int


@dataclasses.dataclass(frozen=True)
class HandoutCard:
    """What the person at the counter sees for a code: who, what to hand over, and whether they may."""

    handout_id: int
    code: str
    pickup_point_id: int
    pickup_point_name: str
    delivery_date: date
    member_name: str
    phone_tail: str  # the last four digits only
    items: tuple[HandoutItem, ...]
    orders: int  # live orders in this hand-out (several means merged)
    states: tuple[str, ...]  # the distinct parcel states
    verified_at: datetime | None
    verified_by_name: str
    may_undo_until: datetime | None
    refusal: str  # why it cannot be verified ("" when it can)

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def is_verifiable(self) -> bool:
        return not self.refusal

    @property
    def has_not_arrived(self) -> bool:
        """The van has not reached the point yet by the records (the card warns, the leader decides)."""
        return bool(self.states) and all(
            s in (State.PENDING, State.SHIPPED, State.AT_WAREHOUSE, State.OUT_FOR_DELIVERY) for s in self.states
        )


def _phone_tail(phone: str | None) -> str:
    return phone[-4:] if phone and len(phone) >= 4 else ""


def handout_card(handout: Handout, *, now: datetime | None = None) -> HandoutCard:
    now = now or clock.now()
    parcels = list(Parcel.objects.of_handout(handout).values_list("state", flat=True))
    live = [s for s in parcels if s not in (State.CANCELLED, State.SHORTAGE)]
    lines = handout.lines.filter(quantity__gt=0).select_related("sku__product").order_by("sku__product__name", "sku_id")
    refusal = ""
    if handout.verified_at is not None:
        refusal = _already_verified(handout).message
    elif not any(s in HANDABLE for s in parcels):
        refusal = _nothing_to_hand_over(handout).message
    user = handout.user
    return HandoutCard(
        handout_id=handout.pk,
        code=handout.code,
        pickup_point_id=handout.pickup_point_id,
        pickup_point_name=handout.pickup_point.name,
        delivery_date=handout.delivery_date,
        member_name=user.display_name,
        phone_tail=_phone_tail(user.phone),
        items=tuple(HandoutItem(label=str(line.sku), quantity=line.quantity) for line in lines),
        orders=len(live),
        states=tuple(dict.fromkeys(parcels)),
        verified_at=handout.verified_at,
        verified_by_name=handout.verified_by.display_name if handout.verified_by else "",
        may_undo_until=(
            handout.verified_at + undo_window()
            if handout.verified_at and now < handout.verified_at + undo_window()
            else None
        ),
        refusal=refusal,
    )


def pickup_lookup(*, code: str, pickup_point_id: int, by: User, now: datetime | None = None) -> HandoutCard:
    """What to hand over for ``code`` at this point, without verifying (refuses unknown codes, codes of other
    points and verifiers who may not act here; an already verified or empty hand-out comes back with its
    ``refusal`` set, so the card can say why)."""
    point = _point_or_refuse(pickup_point_id=pickup_point_id, by=by)
    handout = _handout_or_refuse(code=normalize_code(code), point=point)
    handout.pickup_point = point
    return handout_card(handout, now=now)


# --- 核销 ------------------------------------------------------------------------------------------


def _verify_claim(*, point: PickupPoint, code: str, by: User, now: datetime) -> Handout | None:
    """The one write that decides, reading the hand-out back in the same statement (``UPDATE … RETURNING``,
    PostgreSQL and SQLite ≥ 3.35): the row lock serialises racing phones, the loser's WHERE finds it done
    and gets None — as does a code that is not this point's (the caller then says why)."""
    table = Handout._meta.db_table
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in Handout._meta.concrete_fields)
    sql = (
        f"UPDATE {quote(table)} SET {quote('verified_at')} = %s, {quote('verified_by_id')} = %s "
        f"WHERE {quote('pickup_point_id')} = %s AND {quote('code')} = %s AND {quote('verified_at')} IS NULL "
        f"RETURNING {columns}"
    )
    params = [connection.ops.adapt_datetimefield_value(now), by.pk, point.pk, code]
    return next(iter(Handout.objects.raw(sql, params)), None)


def _hand_over(*, handout: Handout, now: datetime) -> list[int]:
    """Move the hand-out's parcels still to be handed over to 已取货 in one statement; their order ids.
    On PostgreSQL the rows are locked in order-id order first (as every batch step locks them)."""
    quote = connection.ops.quote_name
    table, states = quote(Parcel._meta.db_table), [str(s) for s in HANDABLE]
    marks = ", ".join(["%s"] * len(states))
    # Found among the point's day, as ``Parcel.objects.of_handouts`` finds them (no index on the hand-out).
    where = (
        f"{quote('pickup_point_id')} = %s AND {quote('delivery_date')} = %s AND {quote('handout_id')} = %s "
        f"AND {quote('state')} IN ({marks})"
    )
    day = connection.ops.adapt_datefield_value(handout.delivery_date)
    params = [handout.pickup_point_id, day, handout.pk, *states]
    if connection.features.has_select_for_update:
        where = (
            f"{quote('order_id')} IN (SELECT {quote('order_id')} FROM {table} WHERE {where} "
            f"ORDER BY {quote('order_id')} FOR UPDATE) AND {quote('state')} IN ({marks})"
        )
        params = [*params, *states]
    moment = connection.ops.adapt_datetimefield_value(now)
    sql = (
        f"UPDATE {table} SET {quote('state')} = %s, {quote('picked_up_at')} = %s, {quote('state_changed_at')} = %s "
        f"WHERE {where} RETURNING {quote('order_id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [str(State.PICKED_UP), moment, moment, *params])
        return sorted(row[0] for row in cursor.fetchall())


# PostgreSQL: the claim, the parcels' move, the orders' status and the log row in one statement (data-modifying
# CTEs; one round trip instead of four). The parts run on one snapshot and touch different tables: the move
# takes the hand-out the claim returned (none when the claim found it verified or not this point's), its
# parcels locked in order-id order as every batch step locks them; the orders and the log follow the move.
_VERIFY_PG = """
WITH claimed AS (
    UPDATE fulfillment_handout SET verified_at = %(now)s, verified_by_id = %(by)s
    WHERE pickup_point_id = %(point)s AND code = %(code)s AND verified_at IS NULL
    RETURNING {columns}
), moved AS (
    UPDATE fulfillment_parcel SET state = %(picked_up)s, picked_up_at = %(now)s, state_changed_at = %(now)s
    WHERE order_id IN (
        SELECT p.order_id FROM fulfillment_parcel p
        WHERE p.pickup_point_id = %(point)s AND p.delivery_date IN (SELECT delivery_date FROM claimed)
          AND p.handout_id IN (SELECT id FROM claimed) AND p.state = ANY(%(handable)s)
        ORDER BY p.order_id FOR UPDATE OF p
    ) AND state = ANY(%(handable)s)
    RETURNING order_id
), orders AS (
    UPDATE jielong_order SET status = %(order_picked_up)s
    WHERE id IN (SELECT order_id FROM moved) AND status <> %(order_cancelled)s
), logged AS (
    INSERT INTO fulfillment_verification (handout_id, by_id, at, undone_at, undone_by_id, undo_reason)
    SELECT id, %(by)s, %(now)s, NULL, NULL, '' FROM claimed WHERE EXISTS (SELECT 1 FROM moved)
)
SELECT {columns}, ARRAY(SELECT order_id FROM moved ORDER BY order_id) AS handed_over FROM claimed
"""


def _verify_in_one_statement(*, point: PickupPoint, code: str, by: User, now: datetime) -> tuple[Handout | None, list]:
    columns = ", ".join(field.column for field in Handout._meta.concrete_fields)
    params = {
        "now": now,
        "by": by.pk,
        "point": point.pk,
        "code": code,
        "picked_up": str(State.PICKED_UP),
        "handable": [str(s) for s in HANDABLE],
        "order_picked_up": str(Order.Status.PICKED_UP),
        "order_cancelled": str(Order.Status.CANCELLED),
    }
    handout = next(iter(Handout.objects.raw(_VERIFY_PG.format(columns=columns), params)), None)
    if handout is None:
        return None, []
    return handout, sorted(handout.handed_over)


def verify_pickup(*, code: str, pickup_point_id: int, by: User, now: datetime | None = None) -> Handout:
    """核销: hand over the hand-out with ``code`` at this point, exactly once.

    The hot path is a few statements (a counter verifies every few seconds at 50 points at once): the claim
    returns the hand-out, the parcels' move returns their orders (the member is the hand-out's, by the split's
    construction), and only a refusal reads more to say why."""
    now = now or clock.now()
    point = _point_or_refuse(pickup_point_id=pickup_point_id, by=by)
    code = normalize_code(code)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            handout, order_ids = _verify_in_one_statement(point=point, code=code, by=by, now=now)
        else:
            handout = _verify_claim(point=point, code=code, by=by, now=now)
            order_ids = _hand_over(handout=handout, now=now) if handout is not None else []
        if handout is None:  # unknown here, another point's, or verified already (perhaps a moment ago)
            found = _handout_or_refuse(code=code, point=point)
            raise _already_verified(found)
        if not order_ids:
            raise _nothing_to_hand_over(handout)  # rolls the verification back
        if connection.vendor != "postgresql":  # the statement above did these on PostgreSQL
            # fulfilment is the only writer of READY / PICKED_UP on the jielong order.
            Order.objects.filter(pk__in=order_ids).exclude(status=Order.Status.CANCELLED).update(
                status=Order.Status.PICKED_UP
            )
            Verification.objects.create(handout=handout, by=by, at=now)
        hooks.picked_up(order_ids, now)  # commissions accrue with the pickup (the fission app)
        notices_queue(order_ids=order_ids, state=State.PICKED_UP, now=now)
        events.publish_many(
            fulfillment_events.OrderPickedUp(
                order_id=order_id,
                user_id=handout.user_id,
                pickup_point_id=point.pk,
                handout_id=handout.pk,
                verified_by=by.pk,
            )
            for order_id in order_ids
        )
    handout.verified_by = by
    handout.pickup_point = point
    return handout


def pickup_undo(*, handout_id: int, by: User, reason: str, now: datetime | None = None) -> Handout:
    """Undo a 核销 within ``FULFILMENT_PICKUP_UNDO_MINUTES`` (a wrong code, a member who came back), with a reason:
    the parcels go back to the point (待取货) and the log keeps who undid it and why."""
    now = now or clock.now()
    reason = (reason or "").strip()
    handout = Handout.objects.filter(pk=handout_id).select_related("pickup_point").first()
    if handout is None:
        raise PickupRefused(_("This hand-out does not exist."), code="no_handout")
    _point_or_refuse(pickup_point_id=handout.pickup_point_id, by=by)
    if not reason:
        raise PickupRefused(_("Say why the pickup is undone."), code="no_reason")
    if handout.verified_at is None:
        raise PickupRefused(_("Code %(code)s has not been picked up.") % {"code": handout.code}, code="not_verified")
    window = undo_window()
    if now > handout.verified_at + window:
        raise PickupRefused(
            _("A pickup can only be undone within %(minutes)s minutes of verifying it.")
            % {"minutes": int(window.total_seconds() // 60)},
            code="undo_too_late",
        )
    with transaction.atomic():
        undone = Handout.objects.filter(pk=handout.pk, verified_at=handout.verified_at).update(
            verified_at=None, verified_by=None
        )
        if not undone:
            raise PickupRefused(
                _("Code %(code)s has not been picked up.") % {"code": handout.code}, code="not_verified"
            )
        Verification.objects.filter(handout=handout, undone_at__isnull=True).update(
            undone_at=now, undone_by=by, undo_reason=reason[:200]
        )
        order_ids = list(
            Parcel.objects.select_for_update(of=("self",))
            .of_handout(handout)
            .filter(state=State.PICKED_UP)
            .order_by("pk")
            .values_list("order_id", flat=True)
        )
        Parcel.objects.filter(pk__in=order_ids).update(state=State.AT_PICKUP, picked_up_at=None, state_changed_at=now)
        Order.objects.filter(pk__in=order_ids, status=Order.Status.PICKED_UP).update(status=Order.Status.READY)
        hooks.pickup_undone(order_ids, now)
        events.publish_many(
            fulfillment_events.PickupUndone(order_id=order_id, handout_id=handout.pk, undone_by=by.pk, reason=reason)
            for order_id in order_ids
        )
    handout.verified_at, handout.verified_by = None, None
    return handout


# --- 超时未取 ---------------------------------------------------------------------------------------

UNCOLLECTED_BATCH = 2000


def parcels_mark_uncollected(*, now: datetime | None = None) -> int:
    """Parcels waiting at the point longer than ``FULFILMENT_UNCOLLECTED_AFTER_HOURS`` → 超时未取, with one
    reminder to the member (the notice's unique constraint keeps it to one). Safe to run twice or in two
    workers at once: the move is conditional on the parcel still waiting, and locked rows are skipped."""
    now = now or clock.now()
    cutoff = now - uncollected_after()
    marked = 0
    while True:
        with transaction.atomic():
            rows = list(
                Parcel.objects.select_for_update(of=("self",), skip_locked=True)
                .filter(state=State.AT_PICKUP, at_pickup_at__lte=cutoff)
                .order_by("pk")
                .values_list("order_id", "order__user_id", "pickup_point_id")[:UNCOLLECTED_BATCH]
            )
            if not rows:
                return marked
            order_ids = [row[0] for row in rows]
            Parcel.objects.filter(pk__in=order_ids, state=State.AT_PICKUP).update(
                state=State.UNCOLLECTED, state_changed_at=now
            )
            notices_queue(order_ids=order_ids, state=State.UNCOLLECTED, now=now)
            events.publish_many(
                fulfillment_events.OrderUncollected(order_id=order_id, user_id=user_id, pickup_point_id=point_id)
                for order_id, user_id, point_id in rows
            )
            marked += len(rows)
        if len(rows) < UNCOLLECTED_BATCH:
            return marked
