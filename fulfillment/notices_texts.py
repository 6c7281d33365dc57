"""The words of fulfilment notices, in the members' language (the site's default, Chinese).

Member texts are rendered when the notice is queued (everything they name — the point, its hours, the
pickup code — is known then); the leader's group copy is rendered when it is sent and whenever a page shows
it, because its count ("到货 58 份") grows as the second van arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db.models import Count, Max
from django.utils import translation
from django.utils.translation import gettext as _

from catalogue.models import SKU
from groupbuy import clock

from .models import Parcel

State = Parcel.State
ARRIVED = (State.AT_PICKUP, State.PICKED_UP, State.UNCOLLECTED)


@dataclass(frozen=True)
class OrderFacts:
    """What a member's text names about one order."""

    title: str  # the jielong's title
    seq: int
    brand: str
    point: str
    address: str
    hours: str
    code: str
    delivery_date: date
    short_items: str = ""  # "西红柿 1kg ×2、鸡蛋 ×1" for a shortage


def _day(value: date, *, today: date) -> str:
    if value == today:
        return _("today")
    return _("%(month)s/%(day)s") % {"month": value.month, "day": value.day}


def _sentences(*parts: str) -> str:
    """Sentences one after another: Chinese runs them on, other languages put a space between."""
    return ("" if translation.get_language().startswith("zh") else " ").join(filter(None, parts))


def _where(f: OrderFacts) -> str:
    return f"{f.point}（{f.address}）" if f.address else f.point


def _hours(f: OrderFacts) -> str:
    return _("Hours: %(hours)s.") % {"hours": f.hours} if f.hours else ""


def member_text(state: str, f: OrderFacts, *, now: datetime) -> tuple[str, str]:
    """(title, body) of a member's notice, in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        who = {"title": f.title, "seq": f.seq, "point": f.point, "where": _where(f), "code": f.code}
        if state == State.SHIPPED:
            title = _("Your order has shipped")
            body = _("Your order in “%(title)s” (#%(seq)s) has shipped; it will be at %(point)s %(day)s.") % (
                who | {"day": _day(f.delivery_date, today=clock.localdate(now))}
            )
        elif state == State.AT_PICKUP:
            title = _("Ready for pickup at %(point)s") % who
            body = _("Your order in “%(title)s” (#%(seq)s) is at %(where)s. Pickup code %(code)s.") % who
            body = _sentences(body, _hours(f))
        elif state == State.PICKED_UP:
            title = _("Order picked up")
            body = _("Your order in “%(title)s” (#%(seq)s) was picked up at %(point)s. Thank you!") % who
        elif state == State.SHORTAGE:
            title = _("Part of your order is out of stock")
            body = _(
                "Sorry: %(items)s in your order in “%(title)s” (#%(seq)s) could not be supplied; it will be refunded."
            ) % (who | {"items": f.short_items or _("everything")})
        elif state == State.UNCOLLECTED:
            title = _("Your order is waiting at %(point)s") % who
            body = _("Your order in “%(title)s” (#%(seq)s) is still waiting at %(where)s. Pickup code %(code)s.") % who
            body = _sentences(body, _hours(f))
        else:  # pragma: no cover - notices_queue only renders member-facing states
            raise ValueError(state)
    return title[:100], body


def sms_text(body: str, f: OrderFacts) -> str:
    """An SMS carries the brand as its signature, as Chinese gateways expect (【品牌】…)."""
    return f"【{f.brand}】{body}"


def member_sms(state: str, facts: list[OrderFacts], *, now: datetime) -> str:
    """One text for a member's orders that share a hand-out (one pickup code): "您的 2 个订单（…）已到…"."""
    first = facts[0]
    if len(facts) == 1:
        return sms_text(member_text(state, first, now=now)[1], first)
    with translation.override(settings.LANGUAGE_CODE):
        orders = "、".join(f"「{f.title}」#{f.seq}" for f in facts)
        who = {"count": len(facts), "orders": orders, "where": _where(first), "code": first.code}
        if state == State.AT_PICKUP:
            body = _("Your %(count)s orders (%(orders)s) are at %(where)s. Pickup code %(code)s.") % who
        else:
            body = _("Your %(count)s orders (%(orders)s) are still waiting at %(where)s. Pickup code %(code)s.") % who
        return sms_text(_sentences(body, _hours(first)), first)


def short_items(rows) -> str:
    """rows: (product name, spec, quantity) of the units short."""
    return "、".join(f"{SKU.label(name, spec)} ×{q}" for name, spec, q in rows)


def arrivals(*, point_ids, delivery_date: date) -> dict[int, tuple[int, datetime | None]]:
    """Per point: how many orders have arrived that day, and when the last batch did (one grouped query)."""
    rows = (
        Parcel.objects.filter(pickup_point_id__in=point_ids, delivery_date=delivery_date, state__in=ARRIVED)
        .values("pickup_point_id")
        .annotate(count=Count("pk"), at=Max("at_pickup_at"))
        .values_list("pickup_point_id", "count", "at")
    )
    return {point_id: (count, at) for point_id, count, at in rows}


def leader_copy_text(
    *, point, delivery_date: date, now: datetime | None = None, arrived: tuple[int, datetime | None] | None = None
) -> str:
    """The leader's copy-ready group text for a point's day, e.g. "阳光花园自提点：今天 12:00 到货 58 份，请凭取货码取货";
    "" while nothing has arrived. ``arrived`` (from :func:`arrivals`) spares the query when many points are shown."""
    now = now or clock.now()
    if arrived is None:
        arrived = arrivals(point_ids=[point.pk], delivery_date=delivery_date).get(point.pk, (0, None))
    count, last = arrived
    if not count:
        return ""
    with translation.override(settings.LANGUAGE_CODE):
        at = clock.localtime(last or now)
        when = f"{_day(at.date(), today=clock.localdate(now))} {at:%H:%M}"
        text = _("%(point)s: %(count)s orders arrived %(when)s; please bring your pickup code.") % {
            "point": point.name,
            "count": count,
            "when": when,
        }
        hours = _("Hours: %(hours)s.") % {"hours": point.opening_hours} if point.opening_hours else ""
        return _sentences(text, hours)
