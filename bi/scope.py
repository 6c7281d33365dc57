"""What a board looks at (口径): which communities, which live sessions, which days — and who may look.

A :class:`Scope` is resolved once per request from the pickers (session, series, community, leader, period)
and the viewer's role; every metric in :mod:`bi.metrics` reads only the scope's plain id sets and dates, so a
rollup table keyed the same way can back a metric later without changing its callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from community.access import communities_for_staff, for_staff, staff_brand_ids, staff_brands
from community.models import Community, Membership, User
from groupbuy import clock
from groupbuy.errors import DomainError
from livestream.models import LiveSeries, LiveSession

DEFAULT_DAYS = 30
MAX_DAYS = 366


class PeriodRefused(DomainError):
    """A period that starts after it ends, or longer than a board reads at once."""


class ScopeRefused(DomainError):
    """A community, leader or session the viewer may not see."""


@dataclass(frozen=True)
class Scope:
    """Resolved pickers. ``community_ids`` None means every community; ``session_ids`` are the live sessions
    the session metrics read (the picked one, or the sessions that started in the period)."""

    since: date
    until: date
    community_ids: tuple[int, ...] | None
    session_ids: tuple[int, ...]
    session_picked: bool  # a session or series was picked: orders are its campaigns', whatever their date
    label: str
    params: dict  # the pickers as query parameters, to carry into drill-down and export links

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def end(self) -> datetime:
        """Exclusive: the first moment after the period."""
        return datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone())


def led_community_ids(*, user: User) -> list[int]:
    """The communities this user leads (团长), for the leader's own board."""
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.filter(user=user, role=Membership.Role.LEADER, status=Membership.Status.ACTIVE).values_list(
            "community_id", flat=True
        )
    )


def visible_community_ids(*, user: User) -> list[int] | None:
    """None for an installation-wide operator (every community); a brand's operator: the brand's communities
    (cross-brand isolation); the led communities for a leader; refused for anyone else."""
    if user.is_operator:
        if staff_brand_ids(user) is None:
            return None
        return list(communities_for_staff(user).order_by("pk").values_list("pk", flat=True))
    led = led_community_ids(user=user)
    if not led:
        raise ScopeRefused(_("Only operators and community leaders can see the dashboards."))
    return led


def period_check(*, since: date | None, until: date | None, today: date | None = None) -> tuple[date, date]:
    """The period asked for, or the last 30 days; reversed or longer than 366 days is refused."""
    today = today or clock.localdate()
    until = until or today
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise PeriodRefused(_("The period starts after it ends. Pick a start date on or before the end date."))
    if (until - since).days + 1 > MAX_DAYS:
        raise PeriodRefused(
            _("A board covers at most %(days)s days at once. Pick a shorter period.") % {"days": MAX_DAYS}
        )
    return since, until


def scope_resolve(
    *,
    viewer: User,
    since: date | None = None,
    until: date | None = None,
    session_id: int | None = None,
    series_id: int | None = None,
    community_id: int | None = None,
    leader_id: int | None = None,
    today: date | None = None,
) -> Scope:
    """Check the pickers against what ``viewer`` may see and resolve them to id sets."""
    since, until = period_check(since=since, until=until, today=today)
    visible = visible_community_ids(user=viewer)
    communities: set[int] | None = None if visible is None else set(visible)
    labels: list[str] = []
    params: dict = {"since": since.isoformat(), "until": until.isoformat()}

    if leader_id is not None:
        leader = User.objects.filter(pk=leader_id).first()
        if leader is None or (not viewer.is_operator and leader.pk != viewer.pk):
            raise ScopeRefused(_("You may only see the figures of your own communities."))
        led = set(led_community_ids(user=leader))
        if communities is not None and not led & communities:  # another brand's leader: as if none
            raise ScopeRefused(_("You may only see the figures of your own communities."))
        communities = led if communities is None else communities & led
        labels.append(_("Leader %(name)s") % {"name": leader.display_name})
        params["leader"] = leader.pk
    if community_id is not None:
        community = Community.objects.filter(pk=community_id).first()
        if community is None or (communities is not None and community.pk not in communities):
            raise ScopeRefused(_("You may only see the figures of your own communities."))
        communities = {community.pk}
        labels.append(community.name)
        params["community"] = community.pk

    sessions = for_staff(LiveSession.objects.all(), user=viewer, via="series__brand").filter(
        status=LiveSession.Status.ENDED
    )
    if communities is not None:
        sessions = sessions.filter(communities__in=communities)
    picked = False
    if session_id is not None:
        session = sessions.filter(pk=session_id).first()
        if session is None:
            raise ScopeRefused(_("That live session is not one you may see, or it has not ended yet."))
        session_ids = (session.pk,)
        labels.append(f"《{session.title}》")
        params["session"] = session.pk
        picked = True
    else:
        in_period = sessions.filter(started_at__gte=_start(since), started_at__lt=_start(until + timedelta(days=1)))
        if series_id is not None:
            series = for_staff(LiveSeries.objects.all(), user=viewer).filter(pk=series_id).first()
            if series is None:
                raise ScopeRefused(_("That series does not exist."))
            in_period = in_period.filter(series=series)
            labels.append(_("Series %(title)s") % {"title": series.title})
            params["series"] = series.pk
            picked = True
        session_ids = tuple(in_period.order_by("started_at", "pk").values_list("pk", flat=True).distinct())
    if not labels:
        if visible is None:
            labels.append(str(_ALL))
        elif viewer.is_operator:  # a brand's operator: all of their brand's communities
            labels.append(" · ".join(b.name for b in staff_brands(viewer)))
        elif len(visible) == 1:
            labels.append(Community.objects.get(pk=visible[0]).name)
        else:
            labels.append(_("My communities"))
    return Scope(
        since=since,
        until=until,
        community_ids=None if communities is None else tuple(sorted(communities)),
        session_ids=session_ids,
        session_picked=picked,
        label=" · ".join(labels),
        params=params,
    )


_ALL = gettext_lazy("All communities")


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
