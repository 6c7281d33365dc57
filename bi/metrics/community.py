"""The community metrics: 社群月活率 and 裂变新客占比 (new customers brought by viewers)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community.models import User
from feedback.models import NpsSurvey, Review
from jielong.models import Order
from livestream.models import Comment, Reservation, WatchRecord

from ..scope import Scope
from .base import ACTIVE_DAYS, Figure, PersonRow, active_memberships, orders, person_rows, ratio

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


def _community_members_at_end(scope: Scope) -> QuerySet[User]:
    return User.objects.filter(pk__in=active_memberships(scope).filter(joined_at__lt=scope.end).values("user_id"))


def monthly_active(scope: Scope) -> Figure:
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


def referral_share(scope: Scope) -> Figure:
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
