"""Every metric of the article, defined once (指标口径): a key, a label, the formula shown on the glossary, what
counts, a unit, a function computing the figure for a :class:`~bi.scope.Scope`, and a function naming the
people behind it (the drill-down).

Every figure is computed from the domain tables (watch records, reservations, jielong orders, the ledger,
memberships and their referral tree, parcels, NPS answers), aggregated in SQL where the rows are many. A figure
reads only the scope's id sets and dates, so a rollup keyed by (day, community, session) can back it later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from django.db.models import Avg, Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community.models import Membership, User
from feedback import nps
from feedback.models import NpsSurvey, Review
from fulfillment.models import Parcel
from jielong.models import Campaign, LedgerEntry, Order
from livestream.models import Comment, LiveSession, Reservation, ViewerSample, WatchRecord

from .scope import Scope

# 次日中午前送达: a parcel is on time when it reached its pickup point by noon of its delivery date.
ON_TIME_BY = time(12, 0)
ACTIVE_DAYS = 30  # 月活: any activity in the 30 days ending on the period's last day

PCT, LIFT, FEN, MINUTES, COUNT, SCORE = "pct", "lift", "fen", "minutes", "count", "score"


@dataclass(frozen=True)
class Figure:
    """A metric's value for a scope. Ratios keep their parts, so a board shows "210 / 270" under "78%"."""

    value: float | int | None
    numerator: int | None = None
    denominator: int | None = None


@dataclass(frozen=True)
class PersonRow:
    user_id: int
    name: str
    masked_phone: str
    detail: str  # what this person contributed: minutes watched, amount bought, score given…


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    formula: str
    counts: str  # the counting rules, in words, for the glossary
    unit: str
    compute: Callable[[Scope], Figure]
    # ``part`` is "numerator" (who counts) or "denominator" (whom it is measured against); plain figures
    # (GMV, minutes) have one list, their "numerator".
    people: Callable[[Scope, str], list[PersonRow]]
    has_denominator: bool = False


# --- shared sets ----------------------------------------------------------------------------------------


def _active_memberships(scope: Scope) -> QuerySet[Membership]:
    rows = Membership.objects.filter(status=Membership.Status.ACTIVE)
    if scope.community_ids is not None:
        rows = rows.filter(community_id__in=scope.community_ids)
    return rows


def _in_scope_communities(scope: Scope) -> Q:
    """Users with an active membership in the scope's communities (every user when the scope is all)."""
    if scope.community_ids is None:
        return Q()
    return Q(
        Exists(
            Membership.objects.filter(
                user_id=OuterRef("pk"), status=Membership.Status.ACTIVE, community_id__in=scope.community_ids
            )
        )
    )


def targeted_members(scope: Scope) -> QuerySet[User]:
    """Members of the communities the scope's sessions were aimed at (within the scope's communities), who had
    joined before that session ended."""
    memberships = _active_memberships(scope).filter(
        community__live_sessions__pk__in=scope.session_ids,
        joined_at__lt=F("community__live_sessions__ended_at"),
    )
    return User.objects.filter(pk__in=memberships.values("user_id"))


def _watched_targeting_session(scope: Scope) -> Q:
    """Watched a session of the scope that was aimed at one of their (in-scope) communities."""
    memberships = _active_memberships(scope).filter(user_id=OuterRef("user_id"))
    return Q(
        Exists(
            WatchRecord.objects.filter(
                user_id=OuterRef("pk"),
                session_id__in=scope.session_ids,
                session__communities__in=memberships.values("community_id"),
            )
        )
    )


def viewers(scope: Scope) -> QuerySet[User]:
    """People who watched at least one of the scope's sessions (members of the scope's communities)."""
    watched = WatchRecord.objects.filter(session_id__in=scope.session_ids, user_id=OuterRef("pk"))
    return User.objects.filter(Exists(watched)).filter(_in_scope_communities(scope))


def live_joiners(scope: Scope) -> QuerySet[User]:
    """Viewers who joined the jielong of a session they watched, with an order that was not cancelled."""
    orders = Order.objects.filter(
        user_id=OuterRef("pk"),
        campaign__live_session_id__in=scope.session_ids,
        campaign__live_session__watch_records__user_id=OuterRef("pk"),
    ).exclude(status=Order.Status.CANCELLED)
    return viewers(scope).filter(Exists(orders))


def orders(scope: Scope) -> QuerySet[Order]:
    """Orders that count as sales: not cancelled; of the picked session's (or series') campaigns, else placed in
    the period; in the scope's communities."""
    rows = Order.objects.exclude(status=Order.Status.CANCELLED)
    if scope.session_picked:
        rows = rows.filter(campaign__live_session_id__in=scope.session_ids)
    else:
        rows = rows.filter(created_at__gte=scope.start, created_at__lt=scope.end)
    if scope.community_ids is not None:
        rows = rows.filter(community_id__in=scope.community_ids)
    return rows


def _refunds_fen(order_rows: QuerySet[Order]) -> int:
    return (
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, order_id__in=order_rows.values("pk")).aggregate(
            s=Sum("amount_fen")
        )["s"]
        or 0
    )


def _ratio(numerator: int, denominator: int) -> Figure:
    return Figure(numerator / denominator if denominator else None, numerator, denominator)


# --- people -------------------------------------------------------------------------------------------


def person_rows(details: dict[int, str] | Iterable[int]) -> list[PersonRow]:
    """Rows for the drill-down list: name, masked phone (community.phones.mask_phone, via the user), detail."""
    details = details if isinstance(details, dict) else dict.fromkeys(details, "")
    users = User.objects.filter(pk__in=list(details)).only("pk", "nickname", "username", "phone")
    rows = [PersonRow(u.pk, u.display_name, u.masked_phone, details[u.pk]) for u in users]
    rows.sort(key=lambda r: (r.name, r.user_id))
    return rows


def _minutes(seconds: float | int | None) -> str:
    return str(_("%(minutes)s min") % {"minutes": round((seconds or 0) / 60)})


def _yuan(fen: int | None) -> str:
    from groupbuy.money import format_fen

    return format_fen(fen or 0)


# --- 社群→直播观看转化率 ----------------------------------------------------------------------------------


def community_to_viewer(scope: Scope) -> Figure:
    members = targeted_members(scope)
    return _ratio(members.filter(_watched_targeting_session(scope)).count(), members.count())


def community_to_viewer_people(scope: Scope, part: str) -> list[PersonRow]:
    members = targeted_members(scope)
    if part == "numerator":
        members = members.filter(_watched_targeting_session(scope))
    seconds = dict(
        WatchRecord.objects.filter(session_id__in=scope.session_ids, user_id__in=members.values("pk"))
        .values("user_id")
        .annotate(s=Sum("seconds_watched"))
        .values_list("user_id", "s")
    )
    ids = members.values_list("pk", flat=True)
    return person_rows({pk: _minutes(seconds[pk]) if pk in seconds else "—" for pk in ids})


# --- 直播观看→接龙转化率 ----------------------------------------------------------------------------------


def viewer_to_joiner(scope: Scope) -> Figure:
    return _ratio(live_joiners(scope).count(), viewers(scope).count())


def viewer_to_joiner_people(scope: Scope, part: str) -> list[PersonRow]:
    people = live_joiners(scope) if part == "numerator" else viewers(scope)
    spent = dict(
        Order.objects.filter(campaign__live_session_id__in=scope.session_ids, user_id__in=people.values("pk"))
        .exclude(status=Order.Status.CANCELLED)
        .values("user_id")
        .annotate(s=Sum("total_fen"))
        .values_list("user_id", "s")
    )
    return person_rows({pk: _yuan(spent[pk]) if pk in spent else "—" for pk in people.values_list("pk", flat=True)})


# --- GMV, net GMV, 客单价 ------------------------------------------------------------------------------


def gmv_gross(scope: Scope) -> Figure:
    return Figure(orders(scope).aggregate(s=Sum("total_fen"))["s"] or 0)


def gmv_net(scope: Scope) -> Figure:
    rows = orders(scope)
    return Figure((rows.aggregate(s=Sum("total_fen"))["s"] or 0) - _refunds_fen(rows))


def average_order_value(scope: Scope) -> Figure:
    totals = orders(scope).aggregate(s=Sum("total_fen"), n=Count("pk"))
    n = totals["n"] or 0
    return Figure(round((totals["s"] or 0) / n) if n else None, totals["s"] or 0, n)


def _aov(rows: QuerySet[Order]) -> float | None:
    totals = rows.aggregate(s=Sum("total_fen"), n=Count("pk"))
    return (totals["s"] or 0) / totals["n"] if totals["n"] else None


def aov_live_lift(scope: Scope) -> Figure:
    """客单价 of orders in jielongs a live launched against the other orders, as a lift: 2.0 reads "+200%"."""
    rows = orders(scope)
    live, other = (
        _aov(rows.filter(campaign__live_session__isnull=False)),
        _aov(rows.filter(campaign__live_session__isnull=True)),
    )
    if live is None or not other:
        return Figure(None)
    return Figure(live / other - 1)


def aov_live_lift_people(scope: Scope, part: str) -> list[PersonRow]:
    rows = orders(scope).filter(campaign__live_session__isnull=False)
    spent = dict(rows.values("user_id").annotate(s=Sum("total_fen")).values_list("user_id", "s"))
    return person_rows({pk: _yuan(fen) for pk, fen in spent.items()})


def _buyers(scope: Scope, *, net: bool = False) -> list[PersonRow]:
    rows = orders(scope)
    spent = dict(rows.values("user_id").annotate(s=Sum("total_fen")).values_list("user_id", "s"))
    if net:
        refunded = (
            LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, order_id__in=rows.values("pk"))
            .values("order__user_id")
            .annotate(s=Sum("amount_fen"))
            .values_list("order__user_id", "s")
        )
        for user_id, fen in refunded:
            spent[user_id] = spent.get(user_id, 0) - fen
    return person_rows({pk: _yuan(fen) for pk, fen in spent.items()})


# --- 平均观看时长, 峰值在线 -----------------------------------------------------------------------------------


def _watch_records(scope: Scope) -> QuerySet[WatchRecord]:
    records = WatchRecord.objects.filter(session_id__in=scope.session_ids)
    if scope.community_ids is not None:
        records = records.filter(user__in=User.objects.filter(_in_scope_communities(scope)))
    return records


def average_watch(scope: Scope) -> Figure:
    seconds = _watch_records(scope).aggregate(a=Avg("seconds_watched"))["a"]
    return Figure(round(seconds / 60, 1) if seconds is not None else None)


def average_watch_people(scope: Scope, part: str) -> list[PersonRow]:
    per_user = _watch_records(scope).values("user_id").annotate(s=Sum("seconds_watched")).values_list("user_id", "s")
    return person_rows({pk: _minutes(s) for pk, s in per_user})


def peak_online(scope: Scope) -> Figure:
    peak = LiveSession.objects.filter(pk__in=scope.session_ids).aggregate(m=Max("peak_online"))["m"]
    return Figure(peak)


def peak_moment(session: LiveSession) -> datetime | None:
    """When the session had the most members online: its busiest viewer sample, else the moment the most watch
    intervals overlapped."""
    sample = ViewerSample.objects.filter(session=session).order_by("-online", "minute").first()
    if sample is not None:
        return sample.minute
    edges = []
    for first, last in WatchRecord.objects.filter(session=session).values_list("first_seen_at", "last_seen_at"):
        edges += [(first, 1), (last, -1)]
    online = best = 0
    moment = None
    for at, step in sorted(edges, key=lambda e: (e[0], -e[1])):
        online += step
        if online > best:
            best, moment = online, at
    return moment


def peak_online_people(scope: Scope, part: str) -> list[PersonRow]:
    session = LiveSession.objects.filter(pk__in=scope.session_ids).order_by("-peak_online", "pk").first()
    moment = peak_moment(session) if session else None
    if moment is None:
        return []
    online = WatchRecord.objects.filter(session=session, first_seen_at__lte=moment, last_seen_at__gte=moment)
    return person_rows({pk: f"《{session.title}》" for pk in online.values_list("user_id", flat=True)})


# --- 社群月活率 ----------------------------------------------------------------------------------------


def _active_window(scope: Scope) -> tuple[datetime, datetime]:
    return scope.end - timedelta(days=ACTIVE_DAYS), scope.end


def _was_active(scope: Scope) -> Q:
    """Any recorded activity in the window: joined the community or was last seen there, reserved, watched,
    commented, joined a jielong, answered the NPS question or posted a review."""
    start, end = _active_window(scope)

    def happened(queryset: QuerySet, field: str, user_field: str = "user_id") -> Q:
        return Q(Exists(queryset.filter(**{user_field: OuterRef("pk"), f"{field}__gte": start, f"{field}__lt": end})))

    return (
        happened(_active_memberships(scope), "last_active_at")
        | happened(_active_memberships(scope), "joined_at")
        | happened(Reservation.objects.all(), "created_at")
        | happened(WatchRecord.objects.all(), "last_seen_at")
        | happened(Comment.objects.all(), "created_at")
        | happened(Order.objects.all(), "created_at")
        | happened(NpsSurvey.objects.all(), "answered_at")
        | happened(Review.objects.all(), "created_at")
    )


def _community_members_at_end(scope: Scope) -> QuerySet[User]:
    return User.objects.filter(pk__in=_active_memberships(scope).filter(joined_at__lt=scope.end).values("user_id"))


def monthly_active(scope: Scope) -> Figure:
    members = _community_members_at_end(scope)
    return _ratio(members.filter(_was_active(scope)).count(), members.count())


def monthly_active_people(scope: Scope, part: str) -> list[PersonRow]:
    members = _community_members_at_end(scope)
    if part == "numerator":
        members = members.filter(_was_active(scope))
    last = dict(
        _active_memberships(scope)
        .filter(user_id__in=members.values("pk"))
        .values("user_id")
        .annotate(m=Max("last_active_at"))
        .values_list("user_id", "m")
    )
    return person_rows(
        {
            pk: timezone.localtime(last[pk]).strftime("%Y-%m-%d") if last.get(pk) else "—"
            for pk in members.values_list("pk", flat=True)
        }
    )


# --- 裂变新客占比 --------------------------------------------------------------------------------------


def _new_customers(scope: Scope) -> list[int]:
    """Customers whose first (not cancelled) order, in the scope's communities, is one of the scope's orders."""
    first_here = dict(orders(scope).values("user_id").annotate(f=Min("created_at")).values_list("user_id", "f"))
    earlier = Order.objects.exclude(status=Order.Status.CANCELLED).filter(user_id__in=list(first_here))
    if scope.community_ids is not None:
        earlier = earlier.filter(community_id__in=scope.community_ids)
    first_ever = dict(earlier.values("user_id").annotate(f=Min("created_at")).values_list("user_id", "f"))
    return [pk for pk, first in first_here.items() if first_ever.get(pk) == first]


def _referred_by_viewer(user_ids: list[int], scope: Scope) -> dict[int, int]:
    """Of ``user_ids``, those brought in (invited_by, the referral tree) by someone who has watched a live:
    user id → inviter id."""
    inviter_watched = WatchRecord.objects.filter(user_id=OuterRef("invited_by_id"))
    rows = (
        _active_memberships(scope)
        .filter(user_id__in=user_ids, invited_by__isnull=False)
        .filter(Exists(inviter_watched))
        .order_by("joined_at")
        .values_list("user_id", "invited_by_id")
    )
    found: dict[int, int] = {}
    for user_id, inviter_id in rows:
        found.setdefault(user_id, inviter_id)
    return found


def referral_share(scope: Scope) -> Figure:
    new = _new_customers(scope)
    return _ratio(len(_referred_by_viewer(new, scope)), len(new))


def referral_share_people(scope: Scope, part: str) -> list[PersonRow]:
    new = _new_customers(scope)
    referred = _referred_by_viewer(new, scope)
    if part == "numerator":
        names = {u.pk: u.display_name for u in User.objects.filter(pk__in=set(referred.values()))}
        return person_rows(
            {pk: str(_("invited by %(name)s") % {"name": names.get(i, "—")}) for pk, i in referred.items()}
        )
    return person_rows({pk: str(_("referred")) if pk in referred else "—" for pk in new})


# --- LTV ----------------------------------------------------------------------------------------------


def _customer_orders_until(scope: Scope, end: datetime) -> QuerySet[Order]:
    rows = Order.objects.exclude(status=Order.Status.CANCELLED).filter(created_at__lt=end)
    if scope.community_ids is not None:
        rows = rows.filter(community_id__in=scope.community_ids)
    return rows


def lifetime_value_at(scope: Scope, end: datetime) -> Figure:
    rows = _customer_orders_until(scope, end)
    totals = rows.aggregate(s=Sum("total_fen"), n=Count("user_id", distinct=True))
    refunded = (
        LedgerEntry.objects.filter(
            kind=LedgerEntry.Kind.REFUND, order_id__in=rows.values("pk"), created_at__lt=end
        ).aggregate(s=Sum("amount_fen"))["s"]
        or 0
    )
    net = (totals["s"] or 0) - refunded
    n = totals["n"] or 0
    return Figure(round(net / n) if n else None, net, n)


def lifetime_value(scope: Scope) -> Figure:
    return lifetime_value_at(scope, scope.end)


def lifetime_value_people(scope: Scope, part: str) -> list[PersonRow]:
    rows = _customer_orders_until(scope, scope.end)
    spent = dict(rows.values("user_id").annotate(s=Sum("total_fen")).values_list("user_id", "s"))
    for user_id, fen in (
        LedgerEntry.objects.filter(
            kind=LedgerEntry.Kind.REFUND, order_id__in=rows.values("pk"), created_at__lt=scope.end
        )
        .values("order__user_id")
        .annotate(s=Sum("amount_fen"))
        .values_list("order__user_id", "s")
    ):
        spent[user_id] = spent.get(user_id, 0) - fen
    return person_rows({pk: _yuan(fen) for pk, fen in spent.items()})


# --- NPS -----------------------------------------------------------------------------------------------


def _answers(scope: Scope) -> QuerySet[NpsSurvey]:
    surveys = NpsSurvey.objects.filter(answered_at__isnull=False)
    if scope.session_picked:
        surveys = surveys.filter(campaign__live_session_id__in=scope.session_ids)
    else:
        surveys = surveys.filter(answered_at__gte=scope.start, answered_at__lt=scope.end)
    if scope.community_ids is not None:
        surveys = surveys.filter(community_id__in=scope.community_ids)
    return surveys


def net_promoter(scope: Scope) -> Figure:
    row = nps.nps_total(_answers(scope))  # feedback.nps owns the arithmetic (one definition of NPS)
    return Figure(row.nps, row.promoters - row.detractors, row.answers)


def net_promoter_people(scope: Scope, part: str) -> list[PersonRow]:
    scores = dict(_answers(scope).values("user_id").annotate(s=Max("score")).values_list("user_id", "s"))
    return person_rows({pk: str(score) for pk, score in scores.items()})


# --- 福利售罄用时 -------------------------------------------------------------------------------------------


def _perk_campaigns(scope: Scope) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.filter(perk_limit__gt=0, opens_at__isnull=False)
    if scope.session_picked:
        campaigns = campaigns.filter(live_session_id__in=scope.session_ids)
    else:
        campaigns = campaigns.filter(opens_at__gte=scope.start, opens_at__lt=scope.end)
    if scope.community_ids is not None:
        campaigns = campaigns.filter(communities__in=scope.community_ids).distinct()
    return campaigns


def _sold_out(campaign: Campaign) -> tuple[timedelta, list[int]] | None:
    """How long the first-N places took (from the opening to the N-th perk order), and who took them."""
    takers = list(
        Order.objects.filter(campaign=campaign, is_perk=True)
        .exclude(status=Order.Status.CANCELLED)
        .order_by("created_at", "seq")
        .values_list("user_id", "created_at")[: campaign.perk_limit]
    )
    if len(takers) < campaign.perk_limit:
        return None
    return max(takers[-1][1] - campaign.opens_at, timedelta(0)), [user_id for user_id, _at in takers]


def perk_sellout(scope: Scope) -> Figure:
    spans = [found[0] for c in _perk_campaigns(scope) if (found := _sold_out(c)) is not None]
    if not spans:
        return Figure(None, 0, _perk_campaigns(scope).count())
    minutes = sum(s.total_seconds() for s in spans) / len(spans) / 60
    return Figure(round(minutes, 1), len(spans), _perk_campaigns(scope).count())


def perk_sellout_people(scope: Scope, part: str) -> list[PersonRow]:
    details: dict[int, str] = {}
    for campaign in _perk_campaigns(scope):
        found = _sold_out(campaign)
        if found:
            for user_id in found[1]:
                details.setdefault(user_id, campaign.title)
    return person_rows(details)


# --- 准时送达率, 取货率 ---------------------------------------------------------------------------------------


_NOT_DELIVERED = (Parcel.State.CANCELLED, Parcel.State.SHORTAGE)
_AT_POINT = (Parcel.State.AT_PICKUP, Parcel.State.PICKED_UP, Parcel.State.UNCOLLECTED)


def _parcels(scope: Scope) -> QuerySet[Parcel]:
    return Parcel.objects.filter(order_id__in=orders(scope).values("pk")).exclude(state__in=_NOT_DELIVERED)


def _deadline(delivery_date) -> datetime:
    return datetime.combine(delivery_date, ON_TIME_BY, tzinfo=timezone.get_current_timezone())


def _on_time_split(scope: Scope) -> tuple[dict[int, str], set[int]]:
    """Parcels due by now (user id → delivery date), and the users whose parcel was on time."""
    from groupbuy import clock

    now = clock.now()
    due: dict[int, str] = {}
    on_time: set[int] = set()
    rows = _parcels(scope).values_list("order__user_id", "delivery_date", "at_pickup_at", "picked_up_at")
    for user_id, delivery_date, at_pickup, picked_up in rows:
        deadline = _deadline(delivery_date)
        arrived = at_pickup or picked_up
        if arrived is None and deadline > now:
            continue  # not due yet
        due[user_id] = delivery_date.isoformat()
        if arrived is not None and arrived <= deadline:
            on_time.add(user_id)
    return due, on_time


def delivery_on_time(scope: Scope) -> Figure:
    due, on_time = _on_time_split(scope)
    return _ratio(len(on_time), len(due))


def delivery_on_time_people(scope: Scope, part: str) -> list[PersonRow]:
    due, on_time = _on_time_split(scope)
    if part == "numerator":
        return person_rows({pk: due[pk] for pk in on_time})
    return person_rows(due)


def pickup_rate(scope: Scope) -> Figure:
    at_point = _parcels(scope).filter(state__in=_AT_POINT)
    return _ratio(at_point.filter(state=Parcel.State.PICKED_UP).count(), at_point.count())


def pickup_rate_people(scope: Scope, part: str) -> list[PersonRow]:
    at_point = _parcels(scope).filter(state__in=_AT_POINT)
    if part == "numerator":
        at_point = at_point.filter(state=Parcel.State.PICKED_UP)
    labels = dict(Parcel.State.choices)
    return person_rows(
        {user_id: str(labels[state]) for user_id, state in at_point.values_list("order__user_id", "state")}
    )


# --- the registry ---------------------------------------------------------------------------------------


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric(
            "community_to_viewer",
            _("Community → live viewers"),
            _("members who watched ÷ members the sessions were aimed at"),
            _(
                "Members: active members of the communities a session was aimed at who had joined before it ended. "
                "Watched: entered the live room at least once (a watch record), whatever the minutes. Over several "
                "sessions each person counts once."
            ),
            PCT,
            community_to_viewer,
            community_to_viewer_people,
            has_denominator=True,
        ),
        Metric(
            "viewer_to_joiner",
            _("Live viewers → jielong"),
            _("viewers who joined that session's jielong ÷ viewers"),
            _(
                "A viewer counts when they hold an order in a jielong the session launched that was not cancelled: "
                "a joiner who cancelled is not a conversion (the same rule as GMV and the session summary). "
                "Joiners who did not watch are left out of both sides."
            ),
            PCT,
            viewer_to_joiner,
            viewer_to_joiner_people,
            has_denominator=True,
        ),
        Metric(
            "gmv_gross",
            _("GMV (gross)"),
            _("Σ order amounts"),
            _(
                "Orders not cancelled: of the picked session's or series' jielongs, or else placed in the period; "
                "unpaid orders count (pay at pickup), refunds do not come off."
            ),
            FEN,
            gmv_gross,
            lambda scope, part: _buyers(scope),
        ),
        Metric(
            "gmv_net",
            _("GMV (net of refunds)"),
            _("Σ order amounts − Σ refunds in the ledger"),
            _(
                "The gross GMV's orders, less every refund the ledger (jielong.LedgerEntry, kind refund) paid back "
                "on them. Store credit is not a refund and does not come off."
            ),
            FEN,
            gmv_net,
            lambda scope, part: _buyers(scope, net=True),
        ),
        Metric(
            "average_order_value",
            _("Average order value"),
            _("gross GMV ÷ number of orders"),
            _("The gross GMV's orders; one order is one jielong entry, whatever its number of items."),
            FEN,
            average_order_value,
            lambda scope, part: _buyers(scope),
        ),
        Metric(
            "aov_live_lift",
            _("AOV lift of live-driven orders"),
            _("AOV of orders in jielongs a live launched ÷ AOV of other orders − 1"),
            _(
                "The gross GMV's orders, split by whether their jielong was launched by a live session. Empty when "
                "either side has no orders. The people: buyers of live-driven orders."
            ),
            LIFT,
            aov_live_lift,
            aov_live_lift_people,
        ),
        Metric(
            "average_watch",
            _("Average watch time"),
            _("Σ seconds watched ÷ viewers ÷ 60"),
            _(
                "Per viewer and session, the minutes credited from the player's heartbeats (a locked phone or a "
                "lost network does not count)."
            ),
            MINUTES,
            average_watch,
            average_watch_people,
        ),
        Metric(
            "peak_online",
            _("Peak concurrent viewers"),
            _("max over sessions of the most members online at once"),
            _(
                "From the heartbeats, for the whole room (not split by community). The people are those online "
                "at the busiest moment of the busiest session."
            ),
            COUNT,
            peak_online,
            peak_online_people,
        ),
        Metric(
            "monthly_active",
            _("Community monthly active rate"),
            _("members active in the 30 days to the period's end ÷ members"),
            _(
                "Members: active memberships joined before the period ended. Active: joined or was seen in the "
                "community, reserved, watched, commented, joined a jielong, answered NPS or reviewed in the 30 days "
                "ending on the period's last day."
            ),
            PCT,
            monthly_active,
            monthly_active_people,
            has_denominator=True,
        ),
        Metric(
            "referral_share",
            _("New customers brought by viewers"),
            _("new customers invited by a live viewer ÷ new customers"),
            _(
                "New customer: their first order that was not cancelled (in these communities) is one of the "
                "board's orders. Brought by a viewer: their membership's inviter (the referral tree) has watched "
                "a live."
            ),
            PCT,
            referral_share,
            referral_share_people,
            has_denominator=True,
        ),
        Metric(
            "lifetime_value",
            _("Customer lifetime value (LTV)"),
            _("Σ net GMV of every customer so far ÷ customers so far"),
            _(
                "Up to the period's end: all orders not cancelled, less refunds, over everyone who ever ordered in "
                "these communities. The trend shows it at each month's end."
            ),
            FEN,
            lifetime_value,
            lifetime_value_people,
        ),
        Metric(
            "nps",
            _("NPS"),
            _("% promoters (9–10) − % detractors (0–6)"),
            _(
                "Answers to the after-pickup question, given in the period (or about the picked session's "
                "jielong); the same arithmetic as the Reviews & NPS page."
            ),
            SCORE,
            net_promoter,
            net_promoter_people,
        ),
        Metric(
            "perk_sellout",
            _("First-N perks sold out in"),
            _("N-th perk order's time − jielong opening, averaged over jielongs"),
            _(
                "Jielongs with first-N places that opened in the period (or the picked session's) whose places were "
                "all taken by orders not cancelled; the people are those who took them."
            ),
            MINUTES,
            perk_sellout,
            perk_sellout_people,
        ),
        Metric(
            "delivery_on_time",
            _("Delivered on time"),
            _("parcels at the pickup point by 12:00 on the delivery day ÷ parcels due"),
            _(
                "The promise is delivery by noon the next day. Parcels of the board's orders, not cancelled or out of stock, whose "
                "noon has passed or that have arrived; the arrival is the point's receipt (or the pickup when "
                "nobody pressed arrived)."
            ),
            PCT,
            delivery_on_time,
            delivery_on_time_people,
            has_denominator=True,
        ),
        Metric(
            "pickup_rate",
            _("Pickup rate"),
            _("parcels picked up ÷ parcels that reached the pickup point"),
            _(
                "Parcels waiting at the point, picked up or not collected in time; the ones still on "
                "their way do not count yet."
            ),
            PCT,
            pickup_rate,
            pickup_rate_people,
            has_denominator=True,
        ),
    )
}

HEADLINE = ("community_to_viewer", "viewer_to_joiner", "gmv_gross", "average_order_value")


def figures(scope: Scope, keys: Iterable[str] | None = None) -> dict[str, Figure]:
    return {key: METRICS[key].compute(scope) for key in (keys or METRICS)}


def for_session(scope: Scope, session_id: int) -> Scope:
    """The same scope narrowed to one of its sessions (for per-session trends)."""
    return replace(scope, session_ids=(session_id,), session_picked=True)
