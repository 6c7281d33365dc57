"""The community metrics: 社群月活率 and 裂变新客占比 (new customers brought by viewers)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community.models import Membership, User
from feedback.models import NpsSurvey, Review
from jielong.models import Order
from livestream.models import Comment, Reservation, WatchRecord

from .. import facts
from ..models import Watcher
from ..scope import Scope
from .base import ACTIVE_DAYS, Figure, PersonRow, active_memberships, orders, person_rows, ratio

# --- 社群月活率 ----------------------------------------------------------------------------------------


def _active_window(scope: Scope) -> tuple[datetime, datetime]:
    return scope.end - timedelta(days=ACTIVE_DAYS), scope.end


def _active_people(scope: Scope) -> QuerySet:
    """The user ids with any recorded activity in the window (see ``_was_active``), one row per source record."""
    start, end = _active_window(scope)

    # One uncorrelated ``pk IN (everyone active somewhere in the window)``: the database reads each source's
    # window once and hashes their union, instead of probing eight sources per member.
    def happened(queryset: QuerySet, field: str, user_field: str = "user_id") -> QuerySet:
        return queryset.filter(**{f"{field}__gte": start, f"{field}__lt": end}).order_by().values(user_field)

    memberships = active_memberships(scope)
    sources = [
        *_watched_in(start, end),
        happened(Order.objects.all(), "created_at"),
        happened(memberships, "last_active_at"),
        happened(memberships, "joined_at"),
        happened(Reservation.objects.all(), "created_at"),
        happened(Comment.objects.all(), "created_at"),
        happened(NpsSurvey.objects.all(), "answered_at"),
        happened(Review.objects.all(), "created_at"),
    ]
    return sources[0].union(*sources[1:], all=True)


def _was_active(scope: Scope) -> Q:
    """Any recorded activity in the window: joined the community or was last seen there, reserved, watched,
    commented, joined a jielong, answered the NPS question or posted a review."""
    return Q(pk__in=_active_people(scope))


def _watched_in(start: datetime, end: datetime) -> list[QuerySet]:
    """Who has a watch record last seen in [start, end). On PostgreSQL from the viewers' latest sighting
    (``bi.facts``: ``Watcher``, kept by triggers): a viewer last seen in the window was; one last seen before it
    was not; only the records of viewers last seen after the window's end are read (none, for a window ending
    now)."""
    records = WatchRecord.objects.filter(last_seen_at__gte=start, last_seen_at__lt=end).order_by()
    if not facts.sql():
        return [records.values("user_id")]
    later = Watcher.objects.filter(last_seen_at__gte=end).values("user_id")
    return [
        Watcher.objects.filter(last_seen_at__gte=start, last_seen_at__lt=end).values("user_id"),
        records.filter(user_id__in=later).values("user_id"),
    ]


def _community_members_at_end(scope: Scope) -> QuerySet[User]:
    return User.objects.filter(pk__in=active_memberships(scope).filter(joined_at__lt=scope.end).values("user_id"))


def monthly_active(scope: Scope) -> Figure:
    # One pass over the members (their distinct user ids), each looked up in the hashed set of people active.
    members = active_memberships(scope).filter(joined_at__lt=scope.end).order_by().values("user_id").distinct()
    counts = members.aggregate(
        members=Count("user_id"), active=Count("user_id", filter=Q(user_id__in=_active_people(scope)))
    )
    return ratio(counts["active"], counts["members"])


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
    if facts.sql():
        return [pk for pk, _inviter in _new_customer_rows(scope)]
    first_here = dict(orders(scope).values("user_id").annotate(f=Min("created_at")).values_list("user_id", "f"))
    earlier = Order.objects.exclude(status=Order.Status.CANCELLED).filter(user_id__in=list(first_here))
    if scope.community_ids is not None:
        earlier = earlier.filter(community_id__in=scope.community_ids)
    first_ever = dict(earlier.values("user_id").annotate(f=Min("created_at")).values_list("user_id", "f"))
    return [pk for pk, first in first_here.items() if first_ever.get(pk) == first]


def _referred_by_viewer(user_ids: list[int], scope: Scope) -> dict[int, int]:
    """Of ``user_ids``, those brought in (invited_by, the referral tree) by someone who has watched a live:
    user id → inviter id (of their earliest such membership in the scope's communities)."""
    inviter_watched = WatchRecord.objects.filter(user_id=OuterRef("invited_by_id"))
    rows = (
        active_memberships(scope)
        .filter(user_id__in=user_ids, invited_by__isnull=False)
        .filter(Exists(inviter_watched))
        .order_by("joined_at", "pk")
        .values_list("user_id", "invited_by_id")
    )
    found: dict[int, int] = {}
    for user_id, inviter_id in rows:
        found.setdefault(user_id, inviter_id)
    return found


# New customers and who brought them (PostgreSQL). A customer is new when their first order that counts, in the
# scope's communities, is one of the board's orders: for a period, when that first order (``bi.facts``, kept
# by triggers) was placed in it; for picked sessions, when no order of theirs that counts is earlier than their
# first one of the sessions (``{orders}``: the board's orders' SQL, ``bi.metrics.base.orders``). Brought by a
# viewer: a membership of theirs (in the scope's communities) whose inviter has watched a live (``bi_watcher``).
_NEW_SQL = """
SELECT f.user_id FROM (SELECT user_id, min(created_at) AS first_at FROM ({orders}) AS o GROUP BY user_id) AS f
WHERE NOT EXISTS (SELECT 1 FROM jielong_order e
                  WHERE e.user_id = f.user_id AND e.status <> %s AND e.created_at < f.first_at {earlier})
"""
_BROUGHT_SQL = """
SELECT m.user_id, m.invited_by_id, m.joined_at, m.id FROM community_membership m
JOIN bi_watcher w ON w.user_id = m.invited_by_id
WHERE m.status = %s {members}
"""
_REFERRAL_COUNT_SQL = """
SELECT count(*), count(*) FILTER (WHERE n.user_id IN (SELECT b.user_id FROM ({brought}) AS b)) FROM ({new}) AS n
"""
_REFERRAL_ROWS_SQL = """
SELECT n.user_id, r.invited_by_id FROM ({new}) AS n
LEFT JOIN (SELECT DISTINCT ON (b.user_id) b.user_id, b.invited_by_id FROM ({brought}) AS b
           ORDER BY b.user_id, b.joined_at, b.id) AS r ON r.user_id = n.user_id
"""


def _new_sql(scope: Scope) -> tuple[str, list]:
    if not scope.session_picked and facts.usable(scope.start, scope.end):
        return facts.new_customers_sql(scope.community_ids, scope.start, scope.end)
    in_scope = scope.community_ids is not None
    orders_sql, orders_params = orders(scope).order_by().values("user_id", "created_at").query.sql_with_params()
    sql = _NEW_SQL.format(orders=orders_sql, earlier="AND e.community_id = ANY(%s)" if in_scope else "")
    return sql, [*orders_params, Order.Status.CANCELLED, *([list(scope.community_ids)] if in_scope else [])]


def _brought_sql(scope: Scope) -> tuple[str, list]:
    in_scope = scope.community_ids is not None
    sql = _BROUGHT_SQL.format(members="AND m.community_id = ANY(%s)" if in_scope else "")
    return sql, [Membership.Status.ACTIVE, *([list(scope.community_ids)] if in_scope else [])]


def _new_customer_rows(scope: Scope) -> list[tuple[int, int | None]]:
    """(user id, inviter id if brought by a viewer, else None) for every new customer (PostgreSQL)."""
    (new, new_params), (brought, brought_params) = _new_sql(scope), _brought_sql(scope)
    with connection.cursor() as cursor:
        cursor.execute(_REFERRAL_ROWS_SQL.format(new=new, brought=brought), [*new_params, *brought_params])
        return cursor.fetchall()


def referral_share(scope: Scope) -> Figure:
    if facts.sql():
        (new, new_params), (brought, brought_params) = _new_sql(scope), _brought_sql(scope)
        with connection.cursor() as cursor:
            cursor.execute(_REFERRAL_COUNT_SQL.format(new=new, brought=brought), [*brought_params, *new_params])
            customers, referred = cursor.fetchone()
        return ratio(referred, customers)
    new = _new_customers(scope)
    return ratio(len(_referred_by_viewer(new, scope)), len(new))


def _new_and_referred(scope: Scope) -> tuple[list[int], dict[int, int]]:
    if facts.sql():
        rows = _new_customer_rows(scope)
        return [pk for pk, _i in rows], {pk: inviter for pk, inviter in rows if inviter is not None}
    new = _new_customers(scope)
    return new, _referred_by_viewer(new, scope)


def referral_share_people(scope: Scope, part: str) -> list[PersonRow]:
    new, referred = _new_and_referred(scope)
    if part == "numerator":
        names = {u.pk: u.display_name for u in User.objects.filter(pk__in=set(referred.values()))}
        return person_rows(
            {pk: str(_("invited by %(name)s") % {"name": names.get(i, "—")}) for pk, i in referred.items()}
        )
    return person_rows({pk: str(_("referred")) if pk in referred else "—" for pk in new})
