"""The operators' live console (/ops/live/): plan series and sessions, move or cancel them, and set up the
warm-up plan with a preview of what members will receive. No daily task needs the Django admin."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from community.access import for_staff, staff_brands
from community.models import Brand
from groupbuy import clock
from groupbuy.access import operator_required
from groupbuy.errors import DomainError

from . import console, hooks, selectors, services, views, warmup
from .forms import RescheduleForm, RoundForm, SeriesForm, SessionForm
from .models import Delivery, LiveSeries, LiveSession, WarmupRound


def _add_error(form, exc: console.LiveInvalid) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _brands(request: HttpRequest) -> list[Brand]:
    """The brands this operator may create series and sessions in (a brand's operator: their own)."""
    return list(staff_brands(request.user))


def _chosen_brand(request: HttpRequest, brands: list[Brand]) -> Brand | None:
    if len(brands) == 1:
        return brands[0]
    return next((b for b in brands if str(b.pk) == request.POST.get("brand")), None)


# --- series ------------------------------------------------------------------------------------------------


def _series_page(request: HttpRequest, *, series: LiveSeries | None) -> HttpResponse:
    brands = _brands(request)
    if request.method == "POST":
        form = SeriesForm(request.POST)
        brand = series.brand if series else _chosen_brand(request, brands)
        if brand is None:
            form.add_error(None, _("Choose the brand of this series."))
        elif form.is_valid():
            try:
                saved = console.series_save(by=request.user, brand=brand, data=form.to_input(), series=series)
            except console.LiveInvalid as exc:
                _add_error(form, exc)
            else:
                messages.success(request, _("Series “%(title)s” saved.") % {"title": saved.title})
                return redirect("livestream:ops-sessions")
    else:
        form = SeriesForm.for_series(series) if series else SeriesForm()
    return render(
        request,
        "ops/live/series_form.html",
        {"form": form, "series": series, "brands": brands if len(brands) > 1 and series is None else []},
    )


@operator_required
def ops_series_new(request: HttpRequest) -> HttpResponse:
    return _series_page(request, series=None)


@operator_required
def ops_series_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _series_page(
        request,
        series=get_object_or_404(for_staff(LiveSeries.objects.select_related("brand"), user=request.user), pk=pk),
    )


# --- sessions ----------------------------------------------------------------------------------------------


def _session_form_page(request: HttpRequest, *, session: LiveSession | None) -> HttpResponse:
    brands = _brands(request)
    brand_ids = [b.pk for b in brands]
    if session is not None and session.status != LiveSession.Status.SCHEDULED:
        messages.error(request, _("Only a scheduled session can be changed."))
        return redirect("livestream:ops-session", pk=session.pk)
    if request.method == "POST":
        form = SessionForm(request.POST, request.FILES, brand_ids=brand_ids)
        if form.is_valid():
            series = form.cleaned_data["series"]
            try:
                saved = console.session_save(
                    by=request.user,
                    data=form.to_input(),
                    series=series,
                    new_series=form.new_series(),
                    brand=series.brand if series else _chosen_brand(request, brands),
                    session=session,
                    cover=form.cleaned_data.get("cover"),
                )
            except console.LiveInvalid as exc:
                _add_error(form, exc)
            else:
                messages.success(request, _("Session “%(title)s” saved.") % {"title": saved.title})
                return redirect("livestream:ops-session", pk=saved.pk)
    elif session is not None:
        form = SessionForm(initial=SessionForm.initial_for(session), brand_ids=brand_ids)
    else:
        form = SessionForm(initial={"series": request.GET.get("series")}, brand_ids=brand_ids)
    return render(
        request,
        "ops/live/session_form.html",
        {"form": form, "session": session, "brands": brands if len(brands) > 1 else []},
    )


@operator_required
def ops_session_new(request: HttpRequest) -> HttpResponse:
    return _session_form_page(request, session=None)


@operator_required
def ops_session_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _session_form_page(
        request, session=get_object_or_404(selectors.sessions_of_staff_brands(request.user), pk=pk)
    )


def _previews(session: LiveSession, rounds: list[WarmupRound], viewer_id: int) -> list[dict]:
    """Each round's text as members will receive it: inbox, and SMS / leader copy when the round uses them."""
    previews = []
    audiences = hooks.round_audience_labels([r.pk for r in rounds])  # a segment instead of the round's own
    for round_ in rounds:
        round_.session = session
        texts = [(_("In-app inbox"), f"{round_.title}\n{warmup.texts.message(round_, Delivery.Channel.INBOX, 0)}")]
        if round_.send_sms:
            texts.append((_("SMS"), warmup.texts.message(round_, Delivery.Channel.SMS, 0)))
        if round_.leader_copy:
            texts.append(
                (_("Leader's group copy"), warmup.texts.message(round_, Delivery.Channel.LEADER_COPY, viewer_id))
            )
        previews.append(
            {"round": round_, "texts": texts, "audience": audiences.get(round_.pk) or round_.get_audience_display()}
        )
    return previews


def _session_page(request: HttpRequest, session: LiveSession, *, round_form=None, reschedule_form=None):
    rounds = list(session.warmup_rounds.order_by("send_at", "pk"))
    campaign_url = hooks.campaign_url(session.jielong_campaign_id) if session.jielong_campaign_id else None
    return render(
        request,
        "ops/live/session.html",
        {
            "session": session,
            "hosts": list(session.hosts.all()),
            "assistants": list(session.assistants.all()),
            "communities": list(session.communities.order_by("name")),
            "previews": _previews(session, rounds, request.user.pk),
            "round_form": round_form or RoundForm(initial={"audience": WarmupRound.Audience.COMMUNITIES}),
            "reschedule_form": reschedule_form
            or RescheduleForm(
                initial={"scheduled_start": session.scheduled_start, "scheduled_end": session.scheduled_end}
            ),
            "is_scheduled": session.status == LiveSession.Status.SCHEDULED,
            "campaigns": hooks.session_campaigns(session.pk),
            "campaign_url": campaign_url,
            "builder_url": hooks.campaign_builder_url(session.pk),
            "reservation_count": selectors.session_reservation_count(session_id=session.pk),
            "panels": mark_safe(hooks.ops_session_panels(request, session)),  # providers render escaped HTML
        },
    )


def _ops_session(request: HttpRequest, pk: int) -> LiveSession:
    """The session in the URL, if it is of a brand this operator may see (404 otherwise, as if none)."""
    return get_object_or_404(selectors.sessions_of_staff_brands(request.user).select_related("series"), pk=pk)


@operator_required
def ops_session(request: HttpRequest, pk: int) -> HttpResponse:
    return _session_page(request, _ops_session(request, pk))


@require_POST
@operator_required
def ops_session_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    session = _ops_session(request, pk)
    form = RescheduleForm(request.POST)
    if form.is_valid():
        try:
            services.session_reschedule(
                session=session,
                by=request.user,
                starts_at=form.cleaned_data["scheduled_start"],
                ends_at=form.cleaned_data["scheduled_end"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The session is moved; its pending warm-up rounds moved with it."))
            return redirect("livestream:ops-session", pk=session.pk)
    return _session_page(request, session, reschedule_form=form)


@require_POST
@operator_required
def ops_session_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    session = _ops_session(request, pk)
    try:
        services.session_cancel(session=session, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The session is cancelled; members who reserved are told."))
    return redirect("livestream:ops-session", pk=session.pk)


@require_POST
@operator_required
def ops_warmup_standard(request: HttpRequest, pk: int) -> HttpResponse:
    session = _ops_session(request, pk)
    try:
        services.warmup_plan_apply_standard(session=session, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The standard warm-up plan is in place."))
    return redirect("livestream:ops-session", pk=session.pk)


@require_POST
@operator_required
def ops_round_add(request: HttpRequest, pk: int) -> HttpResponse:
    session = _ops_session(request, pk)
    form = RoundForm(request.POST)
    if form.is_valid():
        with translation.override(settings.LANGUAGE_CODE):  # what members receive is in the site's language
            title, body = warmup.default_text(session, form.cleaned_data["kind"])
        try:
            console.warmup_round_add(
                by=request.user, session=session, data=form.to_input(default_title=title, default_body=body)
            )
        except console.LiveInvalid as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("The warm-up round is planned."))
            return redirect("livestream:ops-session", pk=session.pk)
    return _session_page(request, session, round_form=form)


@require_POST
@operator_required
def ops_round_remove(request: HttpRequest, pk: int, round_pk: int) -> HttpResponse:
    session = _ops_session(request, pk)
    round_ = get_object_or_404(WarmupRound, pk=round_pk, session=session)
    try:
        console.warmup_round_remove(by=request.user, round_=round_)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The warm-up round is removed."))
    return redirect("livestream:ops-session", pk=session.pk)


# --- calendar ----------------------------------------------------------------------------------------------


def _parse_date(raw: str | None) -> date | None:
    try:
        parsed = date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    return parsed if parsed is not None and 2000 <= parsed.year <= 2100 else None


@operator_required
def ops_live_calendar(request: HttpRequest) -> HttpResponse:
    """Lives by week (default) or month, beside the communities' content calendars."""
    view = "month" if request.GET.get("view") == "month" else "week"
    anchor = _parse_date(request.GET.get("date")) or clock.localdate()
    if view == "month":
        first = anchor.replace(day=1)
        start = first - timedelta(days=first.isoweekday() - 1)
        next_month = (first + timedelta(days=32)).replace(day=1)
        end = next_month + timedelta(days=(8 - next_month.isoweekday()) % 7)
        previous, following, label, month = (first - timedelta(days=1)).replace(day=1), next_month, first, first.month
    else:
        start = anchor - timedelta(days=anchor.isoweekday() - 1)
        end = start + timedelta(days=7)
        previous, following, label, month = start - timedelta(days=7), end, start, None
    return render(
        request,
        "ops/live/calendar.html",
        {
            "view": view,
            "days": selectors.live_calendar(start=start, end=end, month=month, viewer=request.user),
            "label": label,
            "week_end": end - timedelta(days=1),
            "previous": previous.isoformat(),
            "next": following.isoformat(),
        },
    )


@operator_required
def ops_round_poster(request: HttpRequest, pk: int, round_pk: int) -> HttpResponse:
    """The round's poster as members will get it (its QR code without a member's referral)."""
    round_ = get_object_or_404(
        WarmupRound.objects.select_related("session__series"),
        pk=round_pk,
        session=_ops_session(request, pk),
        has_poster=True,
    )
    return views.round_poster_response(request, round_=round_, session=round_.session, sharer=None)
