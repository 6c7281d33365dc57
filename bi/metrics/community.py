"""The community metrics: 社群月活率 and 裂变新客占比 (new customers brought by viewers)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community.models import Membership, User
from feedback.models import NpsSurvey, Review
from groupbuy import clock
from jielong.models import Order
from livestream.models import Comment, Reservation, WatchRecord

from .. import rollups
from ..models import (
    SESSION_BLOCK,
    MemberActivity,
    ReferredMember,
    ReferredNewCustomersAll,
    RollupNewCustomersAll,
    ViewerSessions,
)
from ..scope import Scope
from .base import (
    ACTIVE_DAYS,
    Figure,
    PersonRow,
    active_memberships,
    customer_work_mem,
    orders,
    person_rows,
    ratio,
    read_one,
    set_based,
    use_trigger_facts,
)
from .service import orders_where

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
        happened(active_memberships(scope), "last_active_at")
        | happened(active_memberships(scope), "joined_at")
        | happened(Reservation.objects.all(), "created_at")
        | happened(WatchRecord.objects.all(), "last_seen_at")
        | happened(Comment.objects.all(), "created_at")
        | happened(Order.objects.all(), "created_at")
        | happened(NpsSurvey.objects.all(), "answered_at")
        | happened(Review.objects.all(), "created_at")
    )


def _sql_of(queryset: QuerySet) -> tuple[str, tuple]:
    sql, params = queryset.order_by().query.sql_with_params()
    return sql, tuple(params)


def _activity_sources(scope: Scope) -> list[QuerySet]:
    """``_was_active``'s eight kinds of activity in the window, each as the user ids it holds."""
    start, end = _active_window(scope)

    def happened(queryset: QuerySet, field: str) -> QuerySet:
        return queryset.filter(**{f"{field}__gte": start, f"{field}__lt": end}).values_list("user_id")

    return [
        happened(active_memberships(scope), "last_active_at"),
        happened(active_memberships(scope), "joined_at"),
        happened(Reservation.objects.all(), "created_at"),
        happened(WatchRecord.objects.all(), "last_seen_at"),
        happened(Comment.objects.all(), "created_at"),
        happened(Order.objects.all(), "created_at"),
        happened(NpsSurvey.objects.all(), "answered_at"),
        happened(Review.objects.all(), "created_at"),
    ]


def _monthly_active_counts(scope: Scope) -> tuple[int, int]:
    """(active members, members) in one statement: the members' distinct ids against one union of the
    window's activity (instead of eight correlated subqueries per member)."""
    members, params = _sql_of(active_memberships(scope).filter(joined_at__lt=scope.end).values_list("user_id"))
    parts = [_sql_of(q) for q in _activity_sources(scope)]
    union = " UNION ".join(f"({sql})" for sql, _ in parts)
    for _sql, part_params in parts:
        params += part_params
    return read_one(
        f"""SELECT count(a.user_id), count(*)
            FROM (SELECT DISTINCT user_id FROM ({members}) AS m(user_id)) AS m
              LEFT JOIN ({union}) AS a(user_id) ON a.user_id = m.user_id""",
        params,
    )


def _community_members_at_end(scope: Scope) -> QuerySet[User]:
    return User.objects.filter(pk__in=active_memberships(scope).filter(joined_at__lt=scope.end).values("user_id"))


def _monthly_active_from_facts(scope: Scope) -> tuple[int, int] | None:
    """``_monthly_active_counts`` from ``MemberActivity`` (migration 0014): a member was active in the window exactly
    when their latest activity is in it, as long as nobody's latest is after the window — a board up to today; None
    otherwise (the window ends in the past). The window runs from local midnight to local midnight, so the stored
    latest need only be on the right day. The members of the orders after the stream's cursor (not in the facts
    yet) are counted from their rows."""
    start, end = _active_window(scope)
    # The facts keep local days (migration 0014: a later heartbeat the same day is not written).
    zone = ZoneInfo(settings.TIME_ZONE)
    if end <= clock.now() or any(at.astimezone(zone).time() != time.min for at in (start, end)):
        return None
    moved = sorted(rollups.joiners_after_cursor())
    latest, active, members = read_one(
        f"""SELECT (SELECT max(last_active) FROM {MemberActivity._meta.db_table}),
                   count(*) FILTER (WHERE last_active >= %(start)s), count(*)
            FROM {MemberActivity._meta.db_table}
            WHERE first_joined < %(end)s {"AND user_id <> ALL(%(moved)s::bigint[])" if moved else ""}""",
        {"start": start, "end": end, "moved": moved},
    )
    if latest is not None and latest >= end:
        return None
    if moved:
        people = _community_members_at_end(scope).filter(pk__in=moved)
        active += people.filter(_was_active(scope)).count()
        members += people.count()
    return active, members


def monthly_active(scope: Scope) -> Figure:
    if set_based() and scope.community_ids is None:
        counted = _monthly_active_from_facts(scope)
        if counted is not None:
            return ratio(*counted)
        # Every community: one union of the window's activity (a probe per member would be tens of thousands).
        # A few communities: their members' probes (the plain form below) read less than the union would.
        try:
            return ratio(*_monthly_active_counts(scope))
        except EmptyResultSet:  # a part that can match nothing (no session picked): the plain form says 0
            pass
    members = _community_members_at_end(scope)
    return ratio(members.filter(_was_active(scope)).count(), members.count())


def monthly_active_people(scope: Scope, part: str) -> list[PersonRow]:
    members = _community_members_at_end(scope)
    if part == "numerator":
        members = members.filter(_was_active(scope))
    last = dict(
        active_memberships(scope)
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
        active_memberships(scope)
        .filter(user_id__in=user_ids, invited_by__isnull=False)
        .filter(Exists(inviter_watched))
        .order_by("joined_at")
        .values_list("user_id", "invited_by_id")
    )
    found: dict[int, int] = {}
    for user_id, inviter_id in rows:
        found.setdefault(user_id, inviter_id)
    return found


def _referred_sql(in_scope: str) -> str:
    """SQL: the customer ``new.user_id`` was brought in by someone who has watched a live — an active membership of
    theirs (where ``in_scope`` holds of ``m``) names an inviter with a watch record (a set bit in ViewerSessions).
    Parameters: the active status, then the zero mask, then ``in_scope``'s."""
    return f"""
    EXISTS (SELECT 1 FROM {Membership._meta.db_table} AS m JOIN {ViewerSessions._meta.db_table} AS v
                     ON v.user_id = m.invited_by_id
            WHERE m.user_id = new.user_id AND m.status = %s AND v.sessions <> %s::bit({SESSION_BLOCK})
              AND {in_scope})"""


def _referral_counts(scope: Scope) -> tuple[int, int]:
    """(len(_referred_by_viewer(new)), len(new)) in one statement. A customer is new when no order of theirs
    (not cancelled, in the scope's communities) is earlier than their first of the scope's orders — of a period:
    their first such order until its end is in it (one grouping of the orders); referred when an active
    membership of theirs there names an inviter with a watch record (a set bit in ``bi.models.ViewerSessions``,
    kept with the watch records: one row per member instead of their watch records)."""
    in_scope = "TRUE" if scope.community_ids is None else "{col} = ANY(%s)"
    communities = () if scope.community_ids is None else (list(scope.community_ids),)
    cancelled = Order.Status.CANCELLED.value
    if scope.session_picked:
        where, params = orders_where(scope, "o")
        new = f"""
          SELECT here.user_id FROM (
            SELECT o.user_id, min(o.created_at) AS first FROM {Order._meta.db_table} AS o WHERE {where}
            GROUP BY o.user_id) AS here
          WHERE NOT EXISTS (
            SELECT 1 FROM {Order._meta.db_table} AS e
            WHERE e.user_id = here.user_id AND e.created_at < here.first AND e.status <> %s
              AND {in_scope.format(col="e.community_id")})"""
        params += (cancelled, *communities)
    else:
        new = f"""
          SELECT o.user_id FROM {Order._meta.db_table} AS o
          WHERE o.status <> %s AND o.created_at < %s AND {in_scope.format(col="o.community_id")}
          GROUP BY o.user_id HAVING min(o.created_at) >= %s"""
        params = (cancelled, scope.end, *communities, scope.start)
    # The new customers once; the referred ones a semi-join against them (a few hundred of a session's: index probes,
    # not a pass over every membership).
    query = f"""
        WITH new AS MATERIALIZED ({new})
        SELECT (SELECT count(*) FROM new WHERE {_referred_sql(in_scope.format(col="m.community_id"))}),
               (SELECT count(*) FROM new)"""
    params += (Membership.Status.ACTIVE.value, "0" * SESSION_BLOCK, *communities)
    return read_one(query, params, work_mem=customer_work_mem())


def _referral_counts_from_rollups(scope: Scope) -> tuple[int, int]:
    """``_referral_counts`` of a period over every community from facts: the new customers are the customers whose
    first day anywhere (``RollupCustomerAll``, the stream's rollups) is in the period — the period's days of
    ``RollupNewCustomersAll`` —, the referred ones those among them in ``ReferredMember`` (kept by triggers on the
    memberships and the viewer facts) — the period's days of ``ReferredNewCustomersAll`` (kept by triggers on both);
    then the customers the unfolded tail moves, as the fold will move them."""
    referred, new = read_one(
        f"""SELECT (SELECT coalesce(sum(customers), 0)::bigint FROM {ReferredNewCustomersAll._meta.db_table}
                    WHERE day BETWEEN %(since)s AND %(until)s),
                   (SELECT coalesce(sum(customers), 0)::bigint FROM {RollupNewCustomersAll._meta.db_table}
                    WHERE day BETWEEN %(since)s AND %(until)s)""",
        {"since": scope.since, "until": scope.until},
    )

    def within(day) -> bool:
        return day is not None and scope.since <= day <= scope.until

    moved = {u: within(after) - within(before) for u, before, after in rollups.first_days_moved_by_tail()}
    moved = {u: step for u, step in moved.items() if step}
    if moved:
        referred_moved = set(ReferredMember.objects.filter(user_id__in=list(moved)).values_list("user_id", flat=True))
        new += sum(moved.values())
        referred += sum(step for u, step in moved.items() if u in referred_moved)
    return referred, new


def referral_share(scope: Scope) -> Figure:
    if use_trigger_facts() and rollups.enabled() and scope.community_ids is None and not scope.session_picked:
        return ratio(*_referral_counts_from_rollups(scope))
    if set_based():
        return ratio(*_referral_counts(scope))
    new = _new_customers(scope)
    return ratio(len(_referred_by_viewer(new, scope)), len(new))


def referral_share_people(scope: Scope, part: str) -> list[PersonRow]:
    new = _new_customers(scope)
    referred = _referred_by_viewer(new, scope)
    if part == "numerator":
        names = {u.pk: u.display_name for u in User.objects.filter(pk__in=set(referred.values()))}
        return person_rows(
            {pk: str(_("invited by %(name)s") % {"name": names.get(i, "—")}) for pk, i in referred.items()}
        )
    return person_rows({pk: str(_("referred")) if pk in referred else "—" for pk in new})
