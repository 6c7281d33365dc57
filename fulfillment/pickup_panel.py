"""The member's order page panel (registered in ``jielong.hooks``): where the order is, the pickup point and its
hours, and — once the split gave it one — the pickup code in big digits with its QR (payload: the 6 digits,
as on the printed labels).

The panel updates itself without a reload by htmx polling a small fragment, not through the websocket
machinery: a member watches one order, so a socket group per order would cost a consumer and a broadcast
per parcel for every batch move of a 100k-order day, to save one indexed read every few seconds on the
few pages open at the counter. The poll is quick while the order is near the member (配送中 / 待取货 /
超时未取), slow before, and stops once picked up; an unchanged state answers 204 and swaps nothing.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from community.models import PickupPoint
from groupbuy import clock
from jielong.models import Campaign, Order

from .documents.qr import qr_svg
from .models import Handout, Parcel

State = Parcel.State
DEAD = (State.CANCELLED, State.SHORTAGE)
FINAL = (State.PICKED_UP, State.SHORTAGE, State.CANCELLED)
NEAR = (State.OUT_FOR_DELIVERY, State.AT_PICKUP, State.UNCOLLECTED)
POLL_NEAR_SECONDS = 4
POLL_FAR_SECONDS = 60

_STEP_TIME = {
    State.SHIPPED: "shipped_at",
    State.AT_WAREHOUSE: "at_warehouse_at",
    State.OUT_FOR_DELIVERY: "out_for_delivery_at",
    State.AT_PICKUP: "at_pickup_at",
    State.PICKED_UP: "picked_up_at",
}


@dataclasses.dataclass(frozen=True)
class Step:
    state: str
    label: str
    at: datetime | None
    is_done: bool
    is_current: bool


@dataclasses.dataclass(frozen=True)
class OrderPickup:
    order: Order
    state: str  # a Parcel.State value (pending when the day is not split yet)
    state_label: str
    steps: list[Step]
    point: PickupPoint | None
    delivery_date: date | None
    handout: Handout | None
    merged_with: list[str]  # the titles of the member's other orders handed out with this one
    poll_seconds: int  # 0: stop polling

    @property
    def version(self) -> str:
        """What the poll compares: a change of state, code or verification redraws the panel."""
        verified = self.handout.verified_at.isoformat() if self.handout and self.handout.verified_at else ""
        return f"{self.state}|{self.handout.code if self.handout else ''}|{verified}"

    @property
    def shows_code(self) -> bool:
        return self.handout is not None and self.state not in FINAL

    @property
    def qr(self):
        return qr_svg(self.handout.code, quiet_zone=4) if self.shows_code else ""


def _steps(parcel: Parcel | None, state: str) -> list[Step]:
    flow = list(Parcel.FLOW)
    reached = flow.index(state) if state in flow else None
    if state == State.UNCOLLECTED:
        reached = flow.index(State.AT_PICKUP)
    elif state == State.SHORTAGE:
        reached = 0
    steps = []
    for i, step in enumerate(flow):
        at = getattr(parcel, _STEP_TIME[step]) if parcel is not None and step in _STEP_TIME else None
        steps.append(
            Step(
                state=step,
                # The timeline says where the order got to (已到自提点); the badge says what to do (待取货).
                label=_("At the pickup point") if step == State.AT_PICKUP else State(step).label,
                at=at,
                is_done=reached is not None and i <= reached,
                is_current=reached == i and state in flow,
            )
        )
    return steps


def order_pickup(order: Order) -> OrderPickup | None:
    """The panel's facts, or None when there is nothing to track (cancelled, or the group has not formed)."""
    if order.status == Order.Status.CANCELLED:
        return None
    parcel = Parcel.objects.filter(order=order).select_related("pickup_point", "handout").first()
    if parcel is None:
        if order.campaign.status not in (Campaign.Status.FORMED, Campaign.Status.COMPLETED):
            return None
        state, point, day, handout = State.PENDING, order.pickup_point, None, None
    elif parcel.state == State.CANCELLED:
        return None
    else:
        state, point, day, handout = parcel.state, parcel.pickup_point, parcel.delivery_date, parcel.handout
    merged_with: list[str] = []
    if handout is not None:
        merged_with = list(
            Parcel.objects.of_handout(handout)
            .exclude(order=order)
            .exclude(state__in=DEAD)
            .order_by("order__created_at")
            .values_list("order__campaign__title", flat=True)
        )
    if state in FINAL:
        poll = 0
    elif state in NEAR:
        poll = POLL_NEAR_SECONDS
    else:
        poll = POLL_FAR_SECONDS
    labels = {State.UNCOLLECTED: _("Not collected in time"), State.SHORTAGE: _("Out of stock")}
    return OrderPickup(
        order=order,
        state=state,
        state_label=labels.get(state) or State(state).label,
        steps=_steps(parcel, state),
        point=point,
        delivery_date=day,
        handout=handout,
        merged_with=merged_with,
        poll_seconds=poll,
    )


def render_panel(request: HttpRequest, pickup: OrderPickup, *, refresh: bool = False) -> str:
    context = {
        "pickup": pickup,
        "poll_url": reverse("fulfillment:member-order-pickup", args=[pickup.order.pk]),
        "today": clock.localdate(),
        "refresh": refresh,
    }
    template = "member/fulfillment/_order_pickup_panel.html" if refresh else "member/fulfillment/_order_pickup.html"
    return render_to_string(template, context, request=request)


def member_order_panel(request: HttpRequest, order) -> str:
    """The provider ``jielong.hooks.member_order_panels`` calls for the member's order page."""
    pickup = order_pickup(order)
    return render_panel(request, pickup) if pickup is not None else ""


def member_order_summaries(request: HttpRequest, orders: list) -> dict[int, str]:
    """The provider ``jielong.hooks.member_order_summaries`` calls for 我的订单: per order where it is, the pickup
    code while it is to be collected, and the point's hours (one query for the whole list)."""
    ids = [o.pk for o in orders if o.status != Order.Status.CANCELLED]
    if not ids:
        return {}
    parcels = (
        Parcel.objects.filter(order_id__in=ids).exclude(state=State.CANCELLED).select_related("pickup_point", "handout")
    )
    labels = {State.UNCOLLECTED: _("Not collected in time")}
    return {
        parcel.order_id: render_to_string(
            "member/fulfillment/_order_summary.html",
            {
                "parcel": parcel,
                "label": labels.get(parcel.state) or State(parcel.state).label,
                "shows_code": parcel.handout is not None and parcel.state not in FINAL,
                "is_near": parcel.state in NEAR,
            },
            request=request,
        )
        for parcel in parcels
    }
