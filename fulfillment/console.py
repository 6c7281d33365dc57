"""The operator's fulfilment console: warehouses (城市仓), delivery routes and their ordered stops, a pickup
point's 核销员, and moving a campaign to another delivery day.

Every function checks everything before it writes anything: a refusal (``ConsoleInvalid``, with a message
in the operator's language and the form field it is about) leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from community.inputs import unstorable
from community.models import Brand, Membership, PickupPoint, User
from community.phones import normalize_phone
from groupbuy import audit, clock, events
from groupbuy.errors import DomainError
from jielong.models import Campaign

from . import access
from . import events as fulfillment_events
from .models import CampaignDelivery, Parcel, PointVerifier, Route, RouteStop, Warehouse, Zone
from .split import SPLITTABLE, SplitError, SplitResult, ensure_delivery, split_day

MAX_STOPS = 200  # a van does not stop 200 times; a guard against a runaway form


class ConsoleInvalid(DomainError):
    def __init__(self, message: str, *, field: str = "", code: str = "invalid") -> None:
        super().__init__(message, code=code)
        self.field = field


def _check_operator(by: User) -> None:
    if not access.may_run_fulfilment(by):
        raise ConsoleInvalid(_("Only operators can run fulfilment."), code="forbidden")


def _text(value: str | None, *, field: str, label: str, max_length: int, required: bool = False) -> str:
    text = (value or "").strip()
    if unstorable(text):
        raise ConsoleInvalid(_("%(label)s contains a character that cannot be saved.") % {"label": label}, field=field)
    if required and not text:
        raise ConsoleInvalid(_("Enter the %(label)s.") % {"label": label}, field=field)
    if len(text) > max_length:
        raise ConsoleInvalid(
            _("The %(label)s is too long (at most %(count)s characters).") % {"label": label, "count": max_length},
            field=field,
        )
    return text


# --- warehouses (城市仓) -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarehouseInput:
    name: str
    city: str = ""
    address: str = ""


def _warehouse_fields(brand_id: int, data: WarehouseInput, *, exclude_pk: int | None = None) -> dict:
    fields = {
        "name": _text(data.name, field="name", label=_("warehouse's name"), max_length=64, required=True),
        "city": _text(data.city, field="city", label=_("city"), max_length=32),
        "address": _text(data.address, field="address", label=_("address"), max_length=200),
    }
    if Warehouse.objects.filter(brand_id=brand_id, name=fields["name"]).exclude(pk=exclude_pk).exists():
        raise ConsoleInvalid(_("A warehouse with this name already exists."), field="name", code="duplicate")
    return fields


def warehouse_create(*, by: User, brand: Brand, data: WarehouseInput) -> Warehouse:
    _check_operator(by)
    fields = _warehouse_fields(brand.pk, data)
    try:
        with transaction.atomic():
            return Warehouse.objects.create(brand=brand, **fields)
    except IntegrityError:  # a concurrent create of the same name
        raise ConsoleInvalid(_("A warehouse with this name already exists."), field="name", code="duplicate") from None


def warehouse_update(*, by: User, warehouse: Warehouse, data: WarehouseInput) -> Warehouse:
    _check_operator(by)
    fields = _warehouse_fields(warehouse.brand_id, data, exclude_pk=warehouse.pk)
    try:
        with transaction.atomic():
            Warehouse.objects.filter(pk=warehouse.pk).update(**fields)
    except IntegrityError:
        raise ConsoleInvalid(_("A warehouse with this name already exists."), field="name", code="duplicate") from None
    warehouse.refresh_from_db()
    return warehouse


def warehouse_set_active(*, by: User, warehouse: Warehouse, is_active: bool) -> Warehouse:
    """Deactivate (or reactivate) a warehouse; one that active routes still load at stays active."""
    _check_operator(by)
    if not is_active:
        loading = list(warehouse.routes.filter(is_active=True).order_by("name").values_list("name", flat=True))
        if loading:
            raise ConsoleInvalid(
                _("Routes still load at this warehouse (%(routes)s): move them to another warehouse first.")
                % {"routes": "、".join(loading)},
                code="in_use",
            )
    Warehouse.objects.filter(pk=warehouse.pk).update(is_active=is_active)
    warehouse.is_active = is_active
    return warehouse


# --- delivery routes (配送路线) -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteInput:
    name: str
    warehouse_id: int | None
    departs_at: time | None
    zones: Sequence[str]
    driver_name: str = ""
    driver_phone: str = ""
    vehicle_plate: str = ""


def route_save(*, by: User, data: RouteInput, route: Route | None = None) -> Route:
    """Create (``route`` None) or change a route. Its brand is its warehouse's; the driver's phone is kept in
    E.164 like every phone here. Stops are set apart, by ``route_stops_set``."""
    _check_operator(by)
    warehouse = Warehouse.objects.filter(pk=data.warehouse_id).first() if data.warehouse_id else None
    if warehouse is None:
        raise ConsoleInvalid(_("Choose the warehouse the van loads at."), field="warehouse")
    if route is not None and warehouse.brand_id != route.brand_id:
        raise ConsoleInvalid(_("A route cannot move to another brand's warehouse."), field="warehouse")
    if not warehouse.is_active and (route is None or route.warehouse_id != warehouse.pk):
        raise ConsoleInvalid(_("“%(name)s” is no longer in use.") % {"name": warehouse.name}, field="warehouse")
    name = _text(data.name, field="name", label=_("route's name"), max_length=64, required=True)
    zones = list(dict.fromkeys(data.zones))
    if not zones or any(zone not in Zone.values for zone in zones):
        raise ConsoleInvalid(_("Tick the zones the van can carry (ambient, chilled, frozen)."), field="zones")
    if not isinstance(data.departs_at, time):
        raise ConsoleInvalid(_("Enter the departure time, e.g. 06:00."), field="departs_at")
    driver_phone = (data.driver_phone or "").strip()
    if driver_phone:
        try:
            driver_phone = normalize_phone(driver_phone)
        except ValidationError:
            raise ConsoleInvalid(
                _("“%(phone)s” is not a valid mobile phone number.") % {"phone": driver_phone[:20]},
                field="driver_phone",
            ) from None
    fields = {
        "warehouse": warehouse,
        "name": name,
        "zones": [zone for zone in Zone.values if zone in zones],  # always in the zones' own order
        "departs_at": data.departs_at.replace(second=0, microsecond=0),
        "driver_name": _text(data.driver_name, field="driver_name", label=_("driver's name"), max_length=32),
        "driver_phone": driver_phone,
        "vehicle_plate": _text(data.vehicle_plate, field="vehicle_plate", label=_("vehicle plate"), max_length=16),
    }
    duplicate = Route.objects.filter(brand_id=warehouse.brand_id, name=name).exclude(pk=getattr(route, "pk", None))
    if duplicate.exists():
        raise ConsoleInvalid(_("A route with this name already exists."), field="name", code="duplicate")
    target = route or Route(brand_id=warehouse.brand_id)
    for field, value in fields.items():
        setattr(target, field, value)
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise ConsoleInvalid(_("A route with this name already exists."), field="name", code="duplicate") from None
    return target


def route_set_active(*, by: User, route: Route, is_active: bool) -> Route:
    """A deactivated route serves no point: the next split leaves its points unrouted (and says so)."""
    _check_operator(by)
    warehouse = Warehouse.objects.get(pk=route.warehouse_id)  # fresh: it may have closed since
    if is_active and not warehouse.is_active:
        raise ConsoleInvalid(
            _("Its warehouse “%(name)s” is no longer in use: choose another one first.") % {"name": warehouse.name}
        )
    Route.objects.filter(pk=route.pk).update(is_active=is_active)
    route.is_active = is_active
    return route


def route_stop_ids(route: Route) -> list[int]:
    return list(route.stops.order_by("position").values_list("pickup_point_id", flat=True))


def _write_stops(*, route: Route, point_ids: list[int]) -> None:
    """Replace the stops (the caller holds the route's row lock and has checked ``point_ids``)."""
    RouteStop.objects.filter(route=route).delete()
    RouteStop.objects.bulk_create(
        RouteStop(route=route, pickup_point_id=point_id, position=n) for n, point_id in enumerate(point_ids, start=1)
    )


def _check_stops(route: Route, point_ids: Sequence[int], *, current: Sequence[int]) -> list[int]:
    ids = list(point_ids)
    if len(ids) > MAX_STOPS:
        raise ConsoleInvalid(_("A route has at most %(count)s stops.") % {"count": MAX_STOPS}, field="stops")
    points = PickupPoint.objects.select_related("community").in_bulk(ids)
    for point_id in ids:
        point = points.get(point_id)
        if point is None or point.community.brand_id != route.brand_id:
            raise ConsoleInvalid(_("That pickup point is not one of this brand's."), field="stops")
        if not point.is_active and point_id not in current:
            raise ConsoleInvalid(_("“%(point)s” is closed.") % {"point": point.name}, field="stops")
    seen: set[int] = set()
    for point_id in ids:
        if point_id in seen:
            raise ConsoleInvalid(
                _("“%(point)s” is already a stop of this route: a van calls at a point once.")
                % {"point": points[point_id].name},
                field="stops",
                code="duplicate",
            )
        seen.add(point_id)
    return ids


def route_stops_set(*, by: User, route: Route, point_ids: Sequence[int]) -> list[int]:
    """Make ``point_ids`` the route's stops, in that order (a point at most once, of the route's brand)."""
    _check_operator(by)
    with transaction.atomic():
        locked = Route.objects.select_for_update().get(pk=route.pk)
        ids = _check_stops(locked, point_ids, current=route_stop_ids(locked))
        _write_stops(route=locked, point_ids=ids)
    return ids


def route_stop_add(*, by: User, route: Route, point_id: int) -> list[int]:
    """Add a stop at the end of the route."""
    _check_operator(by)
    with transaction.atomic():
        locked = Route.objects.select_for_update().get(pk=route.pk)
        current = route_stop_ids(locked)
        ids = _check_stops(locked, [*current, point_id], current=current)
        _write_stops(route=locked, point_ids=ids)
    return ids


def route_stop_remove(*, by: User, route: Route, point_id: int) -> list[int]:
    _check_operator(by)
    with transaction.atomic():
        locked = Route.objects.select_for_update().get(pk=route.pk)
        current = route_stop_ids(locked)
        if point_id not in current:
            raise ConsoleInvalid(_("That point is not a stop of this route (any more)."), field="stops")
        ids = [pk for pk in current if pk != point_id]
        _write_stops(route=locked, point_ids=ids)
    return ids


def route_stop_move(*, by: User, route: Route, point_id: int, offset: int) -> list[int]:
    """Move a stop ``offset`` places (−1: one earlier); at either end it stays where it is."""
    _check_operator(by)
    with transaction.atomic():
        locked = Route.objects.select_for_update().get(pk=route.pk)
        ids = route_stop_ids(locked)
        if point_id not in ids:
            raise ConsoleInvalid(_("That point is not a stop of this route (any more)."), field="stops")
        at = ids.index(point_id)
        to = max(0, min(len(ids) - 1, at + offset))
        if to != at:
            ids.insert(to, ids.pop(at))
            _write_stops(route=locked, point_ids=ids)
    return ids


# --- 核销员 of a pickup point ------------------------------------------------------------------------------------


def verifier_add(*, by: User, point: PickupPoint, phone: str) -> PointVerifier:
    """Make the active member of ``point``'s community with this phone a 核销员 at the point."""
    _check_operator(by)
    typed = (phone or "").strip()
    try:
        e164 = normalize_phone(typed)
    except ValidationError:
        raise ConsoleInvalid(
            _("“%(phone)s” is not a valid mobile phone number.") % {"phone": typed[:20]}, field="phone"
        ) from None
    user = User.objects.filter(phone=e164, is_active=True).first()
    community = point.community
    if user is None:
        raise ConsoleInvalid(
            _("Nobody with the number %(phone)s has joined “%(community)s” yet.")
            % {"phone": typed, "community": community.name},
            field="phone",
            code="unknown",
        )
    is_member = Membership.objects.filter(user=user, community=community, status=Membership.Status.ACTIVE).exists()
    if not is_member:
        raise ConsoleInvalid(
            _("%(name)s is not an active member of “%(community)s”: only its members can verify at its points.")
            % {"name": user.display_name, "community": community.name},
            field="phone",
            code="not_member",
        )
    if point.leader_id == user.pk:
        raise ConsoleInvalid(
            _("%(name)s leads this pickup point and verifies there already.") % {"name": user.display_name},
            field="phone",
            code="leader",
        )
    already = _("%(name)s is already a verifier at this point.") % {"name": user.display_name}
    if PointVerifier.objects.filter(pickup_point=point, user=user).exists():
        raise ConsoleInvalid(already, field="phone", code="duplicate")
    try:
        with transaction.atomic():
            verifier = PointVerifier.objects.create(pickup_point=point, user=user, added_by=by, added_at=clock.now())
            audit.record(
                "fulfillment.verifier_added",
                actor=by,
                target=user,
                brand_id=community.brand_id,
                after={"verifier_at": point.name},
            )
            return verifier
    except IntegrityError:
        raise ConsoleInvalid(already, field="phone", code="duplicate") from None


def verifier_remove(*, by: User, verifier: PointVerifier) -> None:
    _check_operator(by)
    with transaction.atomic():
        removed, _counts = PointVerifier.objects.filter(pk=verifier.pk).delete()
        if removed:
            point = verifier.pickup_point
            audit.record(
                "fulfillment.verifier_removed",
                actor=by,
                target=verifier.user,
                brand_id=point.community.brand_id,
                before={"verifier_at": point.name},
            )


# --- delivery days -----------------------------------------------------------------------------------------------


def _split(call, **kwargs) -> SplitResult:
    try:
        return call(**kwargs)
    except SplitError as exc:
        raise ConsoleInvalid(str(exc), code="split") from None


def day_split(*, by: User, brand_id: int, delivery_date: date) -> SplitResult:
    """Split (again) one brand's delivery day on demand (重新分单)."""
    _check_operator(by)
    return _split(split_day, brand_id=brand_id, delivery_date=delivery_date)


def campaign_split(*, by: User, campaign: Campaign) -> SplitResult:
    """Give a formed campaign its delivery date (if it has none) and split that day (分单)."""
    _check_operator(by)
    if campaign.status not in SPLITTABLE:
        raise ConsoleInvalid(
            _("“%(title)s” has not formed a group: there is nothing to split yet.") % {"title": campaign.title},
            code="not_formed",
        )
    with transaction.atomic():
        delivery = ensure_delivery(campaign)
        return _split(split_day, brand_id=campaign.brand_id, delivery_date=delivery.delivery_date)


@dataclass(frozen=True)
class DeliveryMove:
    old_date: date
    new_date: date
    old_day: SplitResult
    new_day: SplitResult


def campaign_delivery_move(*, by: User, campaign: Campaign, delivery_date: date) -> DeliveryMove:
    """Deliver a formed campaign on another day: both days are split again, in one transaction.

    Refused when the date is in the past, is the same day, or some of the campaign's orders have left the
    supplier already (their parcels moved on from 待发货).
    """
    _check_operator(by)
    if campaign.status not in SPLITTABLE:
        raise ConsoleInvalid(
            _("“%(title)s” has not formed a group: it has no delivery day yet.") % {"title": campaign.title},
            field="delivery_date",
            code="not_formed",
        )
    if not isinstance(delivery_date, date) or delivery_date < clock.localdate():
        raise ConsoleInvalid(_("Choose a delivery date from today on."), field="delivery_date", code="past")
    with transaction.atomic():
        delivery = CampaignDelivery.objects.select_for_update().filter(campaign=campaign).first()
        if delivery is None:
            delivery = ensure_delivery(campaign)
            delivery = CampaignDelivery.objects.select_for_update().get(pk=delivery.pk)
        old_date = delivery.delivery_date
        if old_date == delivery_date:
            raise ConsoleInvalid(
                _("“%(title)s” is delivered on %(day)s already.") % {"title": campaign.title, "day": old_date},
                field="delivery_date",
                code="same_day",
            )
        moving = Parcel.objects.filter(order__campaign=campaign).exclude(
            state__in=[Parcel.State.PENDING, Parcel.State.CANCELLED, Parcel.State.SHORTAGE]
        )
        if moving.exists():
            raise ConsoleInvalid(
                _("Some orders of “%(title)s” are on their way already: its delivery day can no longer change.")
                % {"title": campaign.title},
                field="delivery_date",
                code="under_way",
            )
        CampaignDelivery.objects.filter(pk=delivery.pk).update(delivery_date=delivery_date)
        # The new day first: its split moves the campaign's parcels there; the old day's split then finds them
        # gone (rather than cancelling them as orders that vanished from it).
        new_day = _split(split_day, brand_id=campaign.brand_id, delivery_date=delivery_date)
        old_day = _split(split_day, brand_id=campaign.brand_id, delivery_date=old_date)
        events.publish(
            fulfillment_events.DeliveryDateChanged(
                campaign_id=campaign.pk,
                brand_id=campaign.brand_id,
                old_date=old_date.isoformat(),
                new_date=delivery_date.isoformat(),
                by=by.pk,
            )
        )
    return DeliveryMove(old_date=old_date, new_date=delivery_date, old_day=old_day, new_day=new_day)
