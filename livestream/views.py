from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from community import selectors as community_selectors
from groupbuy.errors import DomainError
from groupbuy.web.access import host_required, member_required, operator_required

from . import selectors, services
from .models import LiveSession


@operator_required
def ops_session_list(request: HttpRequest) -> HttpResponse:
    return render(request, "ops/sessions.html", {"sessions": selectors.ops_session_list()})


@host_required
def host_sessions(request: HttpRequest) -> HttpResponse:
    return render(request, "host/sessions.html", {"sessions": selectors.sessions_for_staff(user=request.user)})


def _panel_session(request: HttpRequest, pk: int) -> LiveSession:
    session = get_object_or_404(LiveSession.objects.select_related("series"), pk=pk)
    if not selectors.user_may_open_panel(user=request.user, session=session):
        raise PermissionDenied
    return session


@host_required
def host_panel(request: HttpRequest, pk: int) -> HttpResponse:
    session = _panel_session(request, pk)
    return render(
        request,
        "host/panel.html",
        {
            "session": session,
            "metrics": selectors.session_metrics(session_id=session.pk),
            "may_control": selectors.user_may_control(user=request.user, session=session),
            "hosts": list(session.hosts.all()),
            "assistants": list(session.assistants.all()),
        },
    )


def _control(request: HttpRequest, pk: int, action, done_message: str) -> HttpResponse:
    session = _panel_session(request, pk)
    if not selectors.user_may_control(user=request.user, session=session):
        raise PermissionDenied
    try:
        action(session=session, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done_message)
    return redirect("livestream:host-panel", pk=session.pk)


@require_POST
@host_required
def host_go_live(request: HttpRequest, pk: int) -> HttpResponse:
    return _control(request, pk, services.session_go_live, _("You are live."))


@require_POST
@host_required
def host_end(request: HttpRequest, pk: int) -> HttpResponse:
    return _control(request, pk, services.session_end, _("The session has ended."))


@require_POST
@member_required
def member_reserve(request: HttpRequest, pk: int) -> HttpResponse:
    community_ids = community_selectors.member_active_community_ids(user=request.user)
    session = selectors.member_session(user=request.user, session_id=pk, community_ids=community_ids)
    if session is None:
        raise Http404
    try:
        services.reservation_create(session=session, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Reserved. We will remind you before the live starts."))
    return redirect(reverse("community:member-home") + "#live")
