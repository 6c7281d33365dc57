"""Reads for live sessions: lists, who may run a session, and its live metrics."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Avg, Count, Exists, FloatField, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from community.access import for_staff, may_see_brand, staff_brand_ids
from community.models import User
from groupbuy import clock

from . import hooks
from .models import (
    Comment,
    Delivery,
    LiveSeries,
    LiveSession,
    Mute,
    Notification,
    Reservation,
    WarmupRound,
    WatchRecord,
)

UPCOMING = (LiveSession.Status.SCHEDULED, LiveSession.Status.LIVE)


def sessions_of_staff_brands(user: User) -> QuerySet[LiveSession]:
    """The live sessions of the brands staff ``user`` (operator, host, assistant) may see (their series' brand)."""
    return for_staff(LiveSession.objects.all(), user=user, via="series__brand")


def upcoming_session_count(*, viewer=None) -> int:
    """Sessions that are live now or scheduled and not yet past their end (of ``viewer``'s brands, when given)."""
    qs = LiveSession.objects.all() if viewer is None else sessions_of_staff_brands(viewer)
    return (
        qs.filter(
            Q(status=LiveSession.Status.LIVE) | Q(status=LiveSession.Status.SCHEDULED, scheduled_end__gte=clock.now())
        )
        .distinct()
        .count()
    )


def last_ended_session(*, viewer=None) -> LiveSession | None:
    qs = LiveSession.objects.all() if viewer is None else sessions_of_staff_brands(viewer)
    return qs.filter(status=LiveSession.Status.ENDED).order_by("-ended_at", "-pk").first()


def session_metrics(*, session_id: int) -> dict[str, int]:
    """Reservations (预约) and viewers (members who watched at all) of one session."""
    return {
        "reservations": Reservation.objects.filter(session_id=session_id).count(),
        "viewers": WatchRecord.objects.filter(session_id=session_id).count(),
    }


def _with_counts(queryset: QuerySet[LiveSession]) -> QuerySet[LiveSession]:
    return queryset.select_related("series").annotate(
        reservation_count=Count("reservations", distinct=True),
        viewer_count=Count("watch_records", distinct=True),
    )


def ops_session_list(*, viewer: User | None = None) -> QuerySet[LiveSession]:
    """Every session (of staff ``viewer``'s brands) for the operator, upcoming ones first, with counts, hosts and average watch time."""
    average = (
        WatchRecord.objects.filter(session_id=OuterRef("pk"))
        .values("session_id")
        .annotate(avg=Avg("seconds_watched"))
        .values("avg")
    )
    reserved_viewers = (
        WatchRecord.objects.filter(
            session_id=OuterRef("pk"),
            user_id__in=Reservation.objects.filter(session_id=OuterRef(OuterRef("pk"))).values("user_id"),
        )
        .values("session_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        _with_counts(LiveSession.objects.all() if viewer is None else sessions_of_staff_brands(viewer))
        .annotate(
            average_watch_seconds=Subquery(average, output_field=FloatField()),
            reserved_viewer_count=Subquery(reserved_viewers, output_field=IntegerField()),
        )
        .prefetch_related("hosts")
        .order_by("-scheduled_start")
    )


def series_list(*, viewer: User | None = None) -> QuerySet[LiveSeries]:
    qs = LiveSeries.objects.all() if viewer is None else for_staff(LiveSeries.objects.all(), user=viewer)
    return qs.annotate(session_count=Count("sessions")).order_by("title")


def sessions_for_staff(*, user: User) -> QuerySet[LiveSession]:
    """Sessions the user hosts or assists; operators see every session of their brands."""
    sessions = sessions_of_staff_brands(user)
    if not user.is_operator:
        hosting = LiveSession.hosts.through.objects.filter(livesession_id=OuterRef("pk"), user_id=user.pk)
        assisting = LiveSession.assistants.through.objects.filter(livesession_id=OuterRef("pk"), user_id=user.pk)
        sessions = sessions.filter(Exists(hosting) | Exists(assisting))
    return _with_counts(sessions).order_by("-scheduled_start")


def _may_see_session_brand(*, user: User, session: LiveSession) -> bool:
    if staff_brand_ids(user) is None:
        return True
    return may_see_brand(
        user=user, brand=LiveSeries.objects.filter(pk=session.series_id).values_list("brand_id", flat=True).first()
    )


def user_may_open_panel(*, user: User, session: LiveSession) -> bool:
    """Operators of its brand, and the session's own hosts and assistants, may open its control panel."""
    if not _may_see_session_brand(user=user, session=session):
        return False
    if user.is_operator:
        return True
    if not user.is_host:
        return False
    return session.hosts.filter(pk=user.pk).exists() or session.assistants.filter(pk=user.pk).exists()


def user_may_control(*, user: User, session: LiveSession) -> bool:
    """Going live and ending are the host's call (or an operator's of its brand); assistants triage questions."""
    if not _may_see_session_brand(user=user, session=session):
        return False
    if user.is_operator:
        return True
    return user.is_host and session.hosts.filter(pk=user.pk).exists()


def member_upcoming_sessions(*, user: User, community_ids: Iterable[int], limit: int = 10) -> list[LiveSession]:
    """Live and scheduled sessions aimed at the member's communities, soonest first, with ``is_reserved``."""
    reserved = Reservation.objects.filter(session_id=OuterRef("pk"), user_id=user.pk)
    sessions = (
        LiveSession.objects.filter(
            Q(status=LiveSession.Status.LIVE) | Q(status=LiveSession.Status.SCHEDULED, scheduled_end__gte=clock.now()),
            communities__in=list(community_ids),
        )
        .distinct()
        .select_related("series")
        .annotate(is_reserved=Exists(reserved), reservation_count=Count("reservations", distinct=True))
        .order_by("scheduled_start")
    )
    return list(sessions[:limit])


def member_session(*, user: User, session_id: int, community_ids: Iterable[int]) -> LiveSession | None:
    """A session the member may see (aimed at one of their communities), or ``None``."""
    return LiveSession.objects.filter(pk=session_id, communities__in=list(community_ids)).distinct().first()


def session_reservation_count(*, session_id: int) -> int:
    return Reservation.objects.filter(session_id=session_id).count()


def is_reserved(*, session_id: int, user: User) -> bool:
    return Reservation.objects.filter(session_id=session_id, user=user).exists()


def warmup_rounds(*, session_id: int) -> list[WarmupRound]:
    """The session's warm-up rounds with delivery counts per status."""
    return list(
        WarmupRound.objects.filter(session_id=session_id)
        .annotate(
            delivery_count=Count("deliveries"),
            sent_count=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.SENT)),
            failed_count=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
        )
        .order_by("send_at", "pk")
    )


def leader_copies(*, session_id: int) -> list[Delivery]:
    """Copy-ready texts for leaders to post in their WeChat groups, newest round first."""
    return list(
        Delivery.objects.filter(round__session_id=session_id, channel=Delivery.Channel.LEADER_COPY)
        .select_related("round", "community", "user")
        .order_by("-round__send_at", "community__name", "pk")
    )


def member_notifications(*, user: User, limit: int = 50) -> list[Notification]:
    return list(Notification.objects.filter(user=user).order_by("-created_at", "-pk")[:limit])


def session_summary(*, session: LiveSession) -> dict[str, int | None]:
    """After the session: viewers, average watch time, peak concurrency, comments, questions answered,
    reservations → viewers, and (when the jielong app provides them) joins and GMV."""
    records = WatchRecord.objects.filter(session=session)
    viewers = records.count()
    total = sum(records.values_list("seconds_watched", flat=True))
    reserved_ids = set(Reservation.objects.filter(session=session).values_list("user_id", flat=True))
    reserved_viewers = records.filter(user_id__in=reserved_ids).count() if reserved_ids else 0
    comments = Comment.objects.filter(session=session)
    questions = comments.filter(kind=Comment.Kind.QUESTION, merged_into__isnull=True)
    sales = hooks.sales(session.pk)
    return {
        "viewers": viewers,
        "average_seconds": round(total / viewers) if viewers else 0,
        "peak": session.peak_online,
        "reservations": len(reserved_ids),
        "reserved_viewers": reserved_viewers,
        "comments": comments.filter(kind=Comment.Kind.COMMENT).count(),
        "questions": questions.count(),
        "questions_answered": questions.filter(answered_at__isnull=False).count(),
        "joins": sales.joins if sales else None,
        "gmv_fen": sales.gmv_fen if sales else None,
    }


def recent_mutes(*, limit: int = 100, viewer: User | None = None) -> list[Mute]:
    """The newest mutes (of the sessions and communities of staff ``viewer``'s brands, when given)."""
    mutes = Mute.objects.all()
    allowed = None if viewer is None else staff_brand_ids(viewer)
    if allowed is not None:
        mutes = mutes.filter(Q(session__series__brand__in=allowed) | Q(community__brand__in=allowed))
    return list(mutes.select_related("user", "session", "community", "muted_by").order_by("-created_at", "-pk")[:limit])


@dataclass(frozen=True)
class CalendarDay:
    date: date
    sessions: list[LiveSession]
    is_today: bool
    in_month: bool
    campaigns: list[hooks.CalendarCampaign] = field(default_factory=list)  # jielongs closing that day


def live_calendar(*, start: date, end: date, month: int | None = None, viewer: User | None = None) -> list[CalendarDay]:
    """Days ``start`` ≤ d < ``end`` with the sessions scheduled on each (local time) and the jielongs closing
    on each (from the provider jielong registers), for the live calendar (of staff ``viewer``'s brands)."""
    tz = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=tz)
    until = datetime.combine(end, time.min, tzinfo=tz)
    by_day: dict[date, list[LiveSession]] = {}
    base = LiveSession.objects.all() if viewer is None else sessions_of_staff_brands(viewer)
    sessions = (
        base.filter(scheduled_start__gte=since, scheduled_start__lt=until)
        .select_related("series")
        .order_by("scheduled_start", "pk")
    )
    for session in sessions:
        by_day.setdefault(timezone.localtime(session.scheduled_start).date(), []).append(session)
    campaigns_by_day: dict[date, list[hooks.CalendarCampaign]] = {}
    brand_ids = None if viewer is None else staff_brand_ids(viewer)
    for campaign in hooks.calendar_campaigns(since, until, brand_ids):
        campaigns_by_day.setdefault(timezone.localtime(campaign.closes_at).date(), []).append(campaign)
    today = clock.localdate()
    days, day = [], start
    while day < end:
        days.append(
            CalendarDay(
                date=day,
                sessions=by_day.get(day, []),
                campaigns=campaigns_by_day.get(day, []),
                is_today=day == today,
                in_month=month is None or day.month == month,
            )
        )
        day += timedelta(days=1)
    return days
