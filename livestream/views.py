from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from community import selectors as community_selectors
from community.access import staff_brands
from groupbuy import health, posters
from groupbuy.access import host_required, member_required, operator_required
from groupbuy.csp import allow_media_from
from groupbuy.errors import DomainError

from . import actions, chat, hooks, panel, selectors, services, warmup, watch
from .models import BannedWord, Comment, LiveSession, WarmupRound


@operator_required
def ops_session_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "ops/sessions.html",
        {
            "sessions": selectors.ops_session_list(viewer=request.user),
            "series_list": selectors.series_list(viewer=request.user),
        },
    )


@operator_required
def ops_moderation(request: HttpRequest) -> HttpResponse:
    """The operator's blocked-word list (违禁词) per brand, and who is muted where."""
    brands = list(staff_brands(request.user).order_by("name"))
    brand = next((b for b in brands if str(b.pk) == request.GET.get("brand", "")), brands[0] if brands else None)
    if request.method == "POST" and brand is not None:
        try:
            if request.POST.get("remove"):
                chat.banned_word_remove(brand=brand, word_id=int(request.POST["remove"]), by=request.user)
                messages.success(request, _("The word is no longer blocked."))
            else:
                word = chat.banned_word_add(brand=brand, word=request.POST.get("word", ""), by=request.user)
                messages.success(request, _("“%(word)s” is blocked in live comments.") % {"word": word.word})
        except (DomainError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", _("That request is incomplete.")))
        return redirect(f"{reverse('livestream:ops-moderation')}?brand={brand.pk}")
    return render(
        request,
        "ops/live_moderation.html",
        {
            "brands": brands,
            "brand": brand,
            "words": list(BannedWord.objects.filter(brand=brand)) if brand else [],
            "mutes": selectors.recent_mutes(viewer=request.user),
        },
    )


@host_required
def host_sessions(request: HttpRequest) -> HttpResponse:
    return render(request, "host/sessions.html", {"sessions": selectors.sessions_for_staff(user=request.user)})


def _panel_session(request: HttpRequest, pk: int) -> LiveSession:
    session = get_object_or_404(selectors.sessions_of_staff_brands(request.user).select_related("series"), pk=pk)
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
            "rounds": selectors.warmup_rounds(session_id=session.pk),
            "leader_copies": selectors.leader_copies(session_id=session.pk),
            "summary": selectors.session_summary(session=session) if session.status == "ended" else None,
            "room": panel.room_snapshot(session_id=session.pk),
            "pin_choices": panel.pin_choices(session=session) if session.status == "live" else [],
            "reminder_due": panel.is_reminder_due(session=session),
            "remind_at_ms": panel.reminder_at_ms(session=session),
            "ws_path": f"/ws/live/{session.pk}/",
            "realtime_up": health.redis_is_up(),
            # The stream card (encoder key, preview, push destinations), rendered by the media app when installed.
            "media_panel": hooks.panel_media(request, session),
        },
    )


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_POST
@host_required
def host_action(request: HttpRequest, pk: int) -> HttpResponse:
    """One panel action (pin, publish the jielong, triage, hide, mute) from a form or the panel's script."""
    session = _panel_session(request, pk)
    try:
        result = actions.perform(
            session=session, user=request.user, action=request.POST.get("action", ""), payload=request.POST.dict()
        )
    except DomainError as exc:
        if _wants_json(request):
            return JsonResponse({"error": exc.message, "code": exc.code}, status=400)
        messages.error(request, exc.message)
    else:
        if _wants_json(request):
            return JsonResponse({"ok": True, **result})
        messages.success(request, result.get("message") or _("Done."))
    return redirect("livestream:host-panel", pk=session.pk)


@require_POST
@host_required
def host_replay(request: HttpRequest, pk: int) -> HttpResponse:
    def save(*, session, by):
        services.session_set_replay(session=session, by=by, replay_url=request.POST.get("replay_url", ""))

    return _control(request, pk, save, _("The replay link is saved."))


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
@host_required
def host_warmup_standard(request: HttpRequest, pk: int) -> HttpResponse:
    def apply(*, session, by):
        services.warmup_plan_apply_standard(session=session, by=by)

    return _control(request, pk, apply, _("The standard warm-up plan is in place."))


@require_POST
@host_required
def host_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _control(request, pk, services.session_cancel, _("The session is cancelled; members who reserved are told."))


@require_POST
@host_required
def host_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        starts_at = timezone.make_aware(datetime.fromisoformat(request.POST.get("starts_at", "")))
    except ValueError:
        session = _panel_session(request, pk)
        messages.error(request, _("Enter the new start as a date and time."))
        return redirect("livestream:host-panel", pk=session.pk)

    def move(*, session, by):
        services.session_reschedule(session=session, by=by, starts_at=starts_at)

    return _control(request, pk, move, _("The session is moved; its pending warm-up rounds moved with it."))


def _member_session(request: HttpRequest, pk: int) -> LiveSession:
    community_ids = community_selectors.member_active_community_ids(user=request.user)
    session = selectors.member_session(user=request.user, session_id=pk, community_ids=community_ids)
    if session is None:
        raise Http404
    return session


def _back(request: HttpRequest, session: LiveSession) -> HttpResponse:
    if request.POST.get("next") == "room":
        return redirect("livestream:member-live", pk=session.pk)
    return redirect(reverse("community:member-home") + "#live")


@require_POST
@member_required
def member_reserve(request: HttpRequest, pk: int) -> HttpResponse:
    session = _member_session(request, pk)
    try:
        services.reservation_create(session=session, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Reserved. We will remind you before the live starts."))
    return _back(request, session)


@require_POST
@member_required
def member_unreserve(request: HttpRequest, pk: int) -> HttpResponse:
    session = _member_session(request, pk)
    try:
        services.reservation_cancel(session=session, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your reservation is cancelled."))
    return _back(request, session)


@member_required
def member_live(request: HttpRequest, pk: int) -> HttpResponse:
    session = _member_session(request, pk)
    response = render(
        request,
        "member/live/room.html",
        {
            "session": session,
            "is_reserved": selectors.is_reserved(session_id=session.pk, user=request.user),
            "reservation_count": selectors.session_reservation_count(session_id=session.pk),
            "heartbeat_seconds": watch.HEARTBEAT_SECONDS,
            "share_link": request.build_absolute_uri(warmup.session_link(session, sharer=request.user)),
            "room": panel.room_snapshot(session_id=session.pk),
            "comments": panel.recent_comments(session_id=session.pk),
            "is_muted": session.status == "live" and chat.is_muted(session=session, user=request.user),
            "comment_max": Comment.MAX_LENGTH,
            "starts_at_ms": int(session.scheduled_start.timestamp() * 1000),
            "poster_round": session.warmup_rounds.filter(has_poster=True)
            .exclude(status=WarmupRound.Status.CANCELLED)
            .order_by("send_at", "pk")
            .first(),
            "ws_path": f"/ws/live/{session.pk}/",
            "realtime_up": health.redis_is_up(),
        },
    )
    return allow_media_from(response, session.hls_url)


@require_POST
@member_required
def member_comment(request: HttpRequest, pk: int) -> HttpResponse:
    """Comment or ask without the socket (the room's script uses the socket when it is connected)."""
    session = _member_session(request, pk)
    kind = Comment.Kind.QUESTION if request.POST.get("kind") == Comment.Kind.QUESTION else Comment.Kind.COMMENT
    try:
        comment = chat.comment_post(session=session, user=request.user, text=request.POST.get("text", ""), kind=kind)
    except DomainError as exc:
        if _wants_json(request):
            return JsonResponse({"error": exc.message, "code": exc.code}, status=400)
        messages.error(request, exc.message)
    else:
        if _wants_json(request):
            return JsonResponse({"ok": True, "comment": chat.comment_data(comment)})
        if kind == Comment.Kind.QUESTION:
            messages.success(request, _("Your question is with the host."))
    return redirect("livestream:member-live", pk=session.pk)


@require_POST
@member_required
def member_heartbeat(request: HttpRequest, pk: int) -> HttpResponse:
    session = _member_session(request, pk)
    try:
        result = watch.heartbeat_record(session=session, user=request.user)
    except DomainError as exc:
        return JsonResponse({"error": exc.message, "status": session.status}, status=409)
    return JsonResponse(result)


@member_required
def member_poster(request: HttpRequest, pk: int) -> HttpResponse:
    """A warm-up round's poster, its QR code carrying this member's referral link."""
    round_ = get_object_or_404(WarmupRound.objects.select_related("session__series"), pk=pk, has_poster=True)
    session = _member_session(request, round_.session_id)
    return round_poster_response(request, round_=round_, session=session, sharer=request.user)


def round_poster_response(request: HttpRequest, *, round_: WarmupRound, session: LiveSession, sharer) -> FileResponse:
    """The PNG of a warm-up round's poster; its QR code opens the live, carrying ``sharer``'s referral (if any)."""
    when = timezone.localtime(session.scheduled_start).strftime("%m-%d %H:%M")
    hosts = "、".join(u.display_name for u in session.hosts.all())
    poster = posters.Poster(
        title=session.title,
        subtitle=when,
        lines=tuple(line for line in (hosts, session.perk_summary) if line),
        footer=f"{session.series.title} · {round_.title}",
        qr_url=request.build_absolute_uri(warmup.session_link(session, sharer=sharer)),
        cover_path=session.cover.path if session.cover else "",
    )
    return FileResponse(open(posters.render_cached(poster), "rb"), content_type="image/png")


@member_required
def member_inbox(request: HttpRequest) -> HttpResponse:
    """The inbox shows unread messages marked; the page's script then posts ``member_inbox_read``."""
    notifications = selectors.member_notifications(user=request.user)
    return render(
        request,
        "member/live/inbox.html",
        {"notifications": notifications, "newest_pk": max((n.pk for n in notifications), default=0)},
    )


@require_POST
@member_required
def member_inbox_read(request: HttpRequest) -> HttpResponse:
    """Mark the messages the inbox page showed as read (up to ``up_to``, the newest one shown)."""
    try:
        up_to_pk = int(request.POST.get("up_to", ""))
    except ValueError:
        return JsonResponse({"error": _("That request is incomplete.")}, status=400)
    marked = services.notifications_mark_read(user=request.user, up_to_pk=up_to_pk)
    if _wants_json(request):
        return JsonResponse({"ok": True, "marked": marked})
    return redirect("livestream:member-inbox")
