"""Reads for live sessions: lists, who may run a session, and its live metrics."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from community.models import User

from .models import LiveSession, Reservation, WatchRecord

UPCOMING = (LiveSession.Status.SCHEDULED, LiveSession.Status.LIVE)


def upcoming_session_count() -> int:
    """Sessions that are live now or scheduled and not yet past their end."""
    return (
        LiveSession.objects.filter(
            Q(status=LiveSession.Status.LIVE)
            | Q(status=LiveSession.Status.SCHEDULED, scheduled_end__gte=timezone.now())
        )
        .distinct()
        .count()
    )


def last_ended_session() -> LiveSession | None:
    return LiveSession.objects.filter(status=LiveSession.Status.ENDED).order_by("-ended_at", "-pk").first()


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


def ops_session_list() -> QuerySet[LiveSession]:
    """Every session for the operator, upcoming ones first, with counts and hosts."""
    return _with_counts(LiveSession.objects.all()).prefetch_related("hosts").order_by("-scheduled_start")


def sessions_for_staff(*, user: User) -> QuerySet[LiveSession]:
    """Sessions the user hosts or assists; operators see every session."""
    sessions = LiveSession.objects.all()
    if not user.is_operator:
        hosting = LiveSession.hosts.through.objects.filter(livesession_id=OuterRef("pk"), user_id=user.pk)
        assisting = LiveSession.assistants.through.objects.filter(livesession_id=OuterRef("pk"), user_id=user.pk)
        sessions = sessions.filter(Exists(hosting) | Exists(assisting))
    return _with_counts(sessions).order_by("-scheduled_start")


def user_may_open_panel(*, user: User, session: LiveSession) -> bool:
    """Operators, and the session's own hosts and assistants, may open its control panel."""
    if user.is_operator:
        return True
    if not user.is_host:
        return False
    return session.hosts.filter(pk=user.pk).exists() or session.assistants.filter(pk=user.pk).exists()


def user_may_control(*, user: User, session: LiveSession) -> bool:
    """Going live and ending are the host's call (or an operator's); assistants triage questions."""
    if user.is_operator:
        return True
    return user.is_host and session.hosts.filter(pk=user.pk).exists()


def member_upcoming_sessions(*, user: User, community_ids: Iterable[int], limit: int = 10) -> list[LiveSession]:
    """Live and scheduled sessions aimed at the member's communities, soonest first, with ``is_reserved``."""
    reserved = Reservation.objects.filter(session_id=OuterRef("pk"), user_id=user.pk)
    sessions = (
        LiveSession.objects.filter(
            Q(status=LiveSession.Status.LIVE)
            | Q(status=LiveSession.Status.SCHEDULED, scheduled_end__gte=timezone.now()),
            communities__in=list(community_ids),
        )
        .distinct()
        .select_related("series")
        .annotate(is_reserved=Exists(reserved))
        .order_by("scheduled_start")
    )
    return list(sessions[:limit])


def member_session(*, user: User, session_id: int, community_ids: Iterable[int]) -> LiveSession | None:
    """A session the member may see (aimed at one of their communities), or ``None``."""
    return LiveSession.objects.filter(pk=session_id, communities__in=list(community_ids)).distinct().first()
