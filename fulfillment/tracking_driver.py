"""The driver's page: a signed link per route and day (no account), the route's stops, 发车 and 已到达.

The link carries (route, day, expiry) signed with ``django.core.signing`` under its own salt, so it cannot
be forged nor reused as another signed value of the site. It stays valid until the end of the
``DRIVER_LINK_DAYS``-th day after the delivery day (local time): long enough for a late van, short enough
that last week's link forwarded in a chat is dead. The same route and day always give the same link, so
the QR on the operator's screen does not change between visits. Expiry is judged by ``groupbuy.clock``.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta

from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext as _

from groupbuy import clock
from groupbuy.errors import DomainError

from .documents.common import Contact, point_contacts, zone_label, zone_rank
from .models import BatchMove, LoadLine, Route, RouteStop
from .tracking import least_advanced, reached_states, state_label, step_moves_nothing

SALT = "fulfillment.tracking.driver-route"
DRIVER_LINK_DAYS = 2

Kind = BatchMove.Kind


class DriverLinkError(DomainError):
    """A driver link that does not open (forged, mangled or expired): the message is for the driver."""


def driver_link_expires(delivery_date: date) -> datetime:
    """Local midnight at the end of the ``DRIVER_LINK_DAYS``-th day after the delivery day."""
    return timezone.make_aware(datetime.combine(delivery_date + timedelta(days=DRIVER_LINK_DAYS + 1), time.min))


def driver_token(*, route_id: int, delivery_date: date) -> str:
    expires = int(driver_link_expires(delivery_date).timestamp())
    # A plain Signer (no timestamp of its own): the expiry is in the payload, judged by our clock.
    return signing.Signer(salt=SALT).sign_object([route_id, delivery_date.isoformat(), expires])


def driver_link_open(token: str, *, now: datetime | None = None) -> tuple[Route, date]:
    """The route and day a driver link is for; ``DriverLinkError`` if it is forged or has expired."""
    now = now or clock.now()
    try:
        route_id, iso, expires = signing.Signer(salt=SALT).unsign_object(token)
        delivery_date = date.fromisoformat(iso)
    except (signing.BadSignature, ValueError, TypeError):
        raise DriverLinkError(
            _("This driver link is not valid. Ask the operator for the route's link."), code="bad"
        ) from None
    if now.timestamp() >= expires:
        raise DriverLinkError(
            _("This driver link has expired (it was for %(day)s). Ask the operator for today's link.")
            % {"day": delivery_date.isoformat()},
            code="expired",
        )
    route = Route.objects.filter(pk=route_id).select_related("warehouse").first()
    if route is None:
        raise DriverLinkError(_("This route no longer exists."), code="gone")
    return route, delivery_date


# --- what the page shows -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ZoneCrates:
    zone: str
    crates: int
    units: int

    @property
    def label(self) -> str:
        return zone_label(self.zone)


@dataclasses.dataclass(frozen=True)
class DriverStop:
    position: int
    point_id: int
    name: str
    address: str
    hours: str
    contact: Contact | None
    crates: tuple[ZoneCrates, ...]
    arrived: BatchMove | None
    past: str = ""  # not recorded, but every order here is already this far (the leader received first)

    @property
    def has_goods(self) -> bool:
        return bool(self.crates)

    @property
    def past_label(self) -> str:
        return state_label(self.past) if self.past else ""

    @property
    def tel(self) -> str:
        """The contact's number as a tel: link wants it (digits only)."""
        return "".join(ch for ch in self.contact.phone if ch.isdigit() or ch == "+") if self.contact else ""


@dataclasses.dataclass(frozen=True)
class DriverRoute:
    route: Route
    delivery_date: date
    departed: BatchMove | None
    stops: tuple[DriverStop, ...]
    past: str = ""  # 发车 not recorded, but every order is already this far

    @property
    def crates(self) -> int:
        return sum(z.crates for s in self.stops for z in s.crates)

    @property
    def past_label(self) -> str:
        return state_label(self.past) if self.past else ""

    @property
    def stops_with_goods(self) -> int:
        return sum(1 for s in self.stops if s.has_goods)

    @property
    def arrived(self) -> int:
        return sum(1 for s in self.stops if s.arrived)


def _crates(route_id: int, delivery_date: date) -> dict[int, list[ZoneCrates]]:
    """Per stop, crates and units per zone, coldest first (a crate holds one SKU: ceil(units / units per pack))."""
    per_sku = LoadLine.objects.filter(route_id=route_id, delivery_date=delivery_date, quantity__gt=0).annotate(
        rank=zone_rank("zone")
    )
    out: dict[int, dict[str, list[int]]] = {}
    for point_id, zone, quantity, per_pack in per_sku.order_by("pickup_point_id", "rank").values_list(
        "pickup_point_id", "zone", "quantity", "sku__units_per_pack"
    ):
        totals = out.setdefault(point_id, {}).setdefault(zone, [0, 0])
        totals[0] += -(-quantity // max(per_pack or 1, 1))
        totals[1] += quantity
    return {point: [ZoneCrates(z, c, u) for z, (c, u) in zones.items()] for point, zones in out.items()}


def driver_route(*, route: Route, delivery_date: date) -> DriverRoute:
    moves = BatchMove.objects.filter(
        delivery_date=delivery_date, route=route, kind__in=[Kind.ROUTE_DEPARTED, Kind.STOP_ARRIVED]
    )
    departed = next((m for m in moves if m.kind == Kind.ROUTE_DEPARTED), None)
    arrived = {m.pickup_point_id: m for m in moves if m.kind == Kind.STOP_ARRIVED}
    stops = list(RouteStop.objects.filter(route=route).select_related("pickup_point").order_by("position"))
    contacts = point_contacts([s.pickup_point_id for s in stops])
    crates = _crates(route.pk, delivery_date)
    reached = reached_states(brand_id=route.brand_id, delivery_date=delivery_date, route_id=route.pk)

    def past(kind, point_id=None) -> str:
        states = reached.get((kind, None, None, route.pk, point_id), set())
        return least_advanced(states) if states and step_moves_nothing(kind, states) else ""

    return DriverRoute(
        route=route,
        delivery_date=delivery_date,
        departed=departed,
        past="" if departed else past(Kind.ROUTE_DEPARTED),
        stops=tuple(
            DriverStop(
                position=s.position,
                point_id=s.pickup_point_id,
                name=s.pickup_point.name,
                address=s.pickup_point.address,
                hours=s.pickup_point.opening_hours,
                contact=contacts.get(s.pickup_point_id),
                crates=tuple(crates.get(s.pickup_point_id, ())),
                arrived=arrived.get(s.pickup_point_id),
                past="" if s.pickup_point_id in arrived else past(Kind.STOP_ARRIVED, s.pickup_point_id),
            )
            for s in stops
        ),
    )
