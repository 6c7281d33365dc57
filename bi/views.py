"""The boards: the operator's (laptop) and a leader's own (phone), the drill-down lists, the glossary, exports.

Views parse the pickers, resolve the scope (which refuses what the viewer may not see, with a message) and
render; nothing here writes.
"""

from __future__ import annotations

import contextlib

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from groupbuy import audit, clock
from groupbuy.access import member_required, operator_required
from groupbuy.db import replica_reads
from groupbuy.errors import DomainError

from . import charts, exports, metrics, rollups
from .forms import ScopeForm
from .scope import Scope, ScopeRefused, scope_resolve, visible_community_ids

PEOPLE_PER_PAGE = 50
OPS, LEADER = "ops", "leader"


def _scope(request: HttpRequest) -> tuple[ScopeForm, Scope]:
    """The form and the scope it picks; raises DomainError (a clear message) when it cannot be seen."""
    form = ScopeForm(request.GET or None, viewer=request.user)
    if form.is_bound and not form.is_valid():
        errors = [str(e) for field in form.errors.values() for e in field]
        raise ScopeRefused(_("Please correct the pickers: %(errors)s") % {"errors": " ".join(errors)})
    pickers = form.pickers() if form.is_bound else {}
    scope = scope_resolve(viewer=request.user, **pickers)
    if not form.is_bound:
        form.initial.update(since=scope.since, until=scope.until)
    elif not (form.data.get("since") and form.data.get("until")):
        # The period the board fell back to shows in the pickers.
        form.data = form.data.copy()
        form.data["since"], form.data["until"] = scope.since.isoformat(), scope.until.isoformat()
    return form, scope


def _refused(request: HttpRequest, shell: str, message: str, *, status: int = 400) -> HttpResponse:
    template = "ops/bi/refused.html" if shell == OPS else "member/bi/refused.html"
    form = None
    with contextlib.suppress(DomainError):
        form = ScopeForm(request.GET or None, viewer=request.user)
    return render(request, template, {"message": message, "form": form}, status=status)


def _board_context(scope: Scope, shell: str) -> dict:
    """The board's figures, read from the read replica when there is one (a board may lag by its delay)."""
    with replica_reads(), rollups.one_tail():  # tiles and charts from one fold of the stream's unfolded tail
        return _board_figures(scope, shell)


def _board_figures(scope: Scope, shell: str) -> dict:
    figures = metrics.figures(scope)
    return {
        "scope": scope,
        "query": urlencode(scope.params),
        "tiles": [(metrics.METRICS[key], figures[key]) for key in metrics.METRICS],
        "headline": [(metrics.METRICS[key], figures[key]) for key in metrics.HEADLINE],
        "funnel": charts.funnel(scope),
        "charts": charts.board_charts(scope),
        "shell": shell,
    }


@operator_required
@require_safe
def ops_board(request: HttpRequest) -> HttpResponse:
    try:
        form, scope = _scope(request)
    except DomainError as exc:
        return _refused(request, OPS, exc.message)
    return render(request, "ops/bi/board.html", {"form": form, **_board_context(scope, OPS)})


@member_required
@require_safe
def leader_board(request: HttpRequest) -> HttpResponse:
    """A leader's own board, on the phone: their communities only."""
    try:
        form, scope = _scope(request)
    except DomainError as exc:
        return _refused(request, LEADER, exc.message, status=403 if isinstance(exc, ScopeRefused) else 400)
    return render(request, "member/bi/board.html", {"form": form, **_board_context(scope, LEADER)})


def _parcels_behind(key: str, scope: Scope, part: str) -> int | None:
    """How many parcels a per-parcel figure's part counts (its list has each person once), else None."""
    metric = metrics.METRICS.get(key)
    if metric is None or not metric.per_parcel:
        return None
    with replica_reads():
        figure = metric.compute(scope)
    return figure.numerator if part == "numerator" else figure.denominator


def _people(request: HttpRequest, key: str) -> tuple[Scope, str, str, list[metrics.PersonRow]]:
    """The people behind one number: a metric's numerator or denominator, a funnel step or a cohort cell."""
    _form, scope = _scope(request)
    part = request.GET.get("part", "numerator")
    if key in metrics.METRICS:
        metric = metrics.METRICS[key]
        if part not in ("numerator", "denominator") or (part == "denominator" and not metric.has_denominator):
            raise Http404
        title = str(metric.label)
        with replica_reads():
            rows = metric.people(scope, part)
        if metric.has_denominator:
            title += " · " + (_("who count") if part == "numerator" else _("measured against"))
    elif key == "funnel" and part in charts.FUNNEL_STEPS:
        title = _("Funnel: %(step)s") % {"step": charts.funnel_label(part)}
        with replica_reads():
            rows = charts.funnel_people(scope, part)
    elif key == "cohort":
        cohort, offset = request.GET.get("cohort", ""), request.GET.get("offset", "")
        if not (len(cohort) == 7 and cohort[4] == "-" and cohort.replace("-", "").isdigit() and offset.isdigit()):
            raise Http404
        title = _("Cohort %(cohort)s, month +%(offset)s") % {"cohort": cohort, "offset": offset}
        with replica_reads():
            rows = charts.cohort_people(scope, cohort, int(offset))
    else:
        raise Http404
    return scope, part, title, rows


def _people_page(request: HttpRequest, key: str, shell: str) -> HttpResponse:
    try:
        scope, part, title, rows = _people(request, key)
        parcels = _parcels_behind(key, scope, part)
    except DomainError as exc:
        return _refused(request, shell, exc.message, status=403 if isinstance(exc, ScopeRefused) else 400)
    page = Paginator(rows, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    template = "ops/bi/people.html" if shell == OPS else "member/bi/people.html"
    return render(
        request,
        template,
        {
            "scope": scope,
            "title": title,
            "key": key,
            "page": page,
            "total": len(rows),
            "parcels": parcels,
            "query": query.urlencode(),
            "board_query": urlencode(scope.params),
        },
    )


@operator_required
@require_safe
def ops_people(request: HttpRequest, key: str) -> HttpResponse:
    return _people_page(request, key, OPS)


@member_required
@require_safe
def leader_people(request: HttpRequest, key: str) -> HttpResponse:
    return _people_page(request, key, LEADER)


def _download(content: bytes, fmt: str, name: str) -> HttpResponse:
    types = {"csv": "text/csv; charset=utf-8", "xlsx": exports.XLSX_TYPE}
    response = HttpResponse(content, content_type=types[fmt])
    stamp = clock.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    return response


@operator_required
@require_safe
def ops_board_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The board's figures (no people), as CSV or xlsx."""
    try:
        _form, scope = _scope(request)
    except DomainError as exc:
        messages.error(request, exc.message + " " + _("Nothing was exported."))
        return redirect(reverse("bi:board"))
    with replica_reads():
        content = exports.board(scope, fmt=fmt)
    return _download(content, fmt, "board")


@member_required
@require_safe
def leader_board_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """A leader may take their own board's figures: counts and amounts, no one's name or number."""
    try:
        _form, scope = _scope(request)
    except DomainError as exc:
        return _refused(request, LEADER, exc.message, status=403 if isinstance(exc, ScopeRefused) else 400)
    with replica_reads():
        content = exports.board(scope, fmt=fmt)
    return _download(content, fmt, "board")


@operator_required
@require_safe
def ops_people_export(request: HttpRequest, key: str, fmt: str) -> HttpResponse:
    """The people behind a number, phones masked (the full number is on the member's page, for operators)."""
    try:
        _unused, _part, title, rows = _people(request, key)
    except DomainError as exc:
        messages.error(request, exc.message + " " + _("Nothing was exported."))
        return redirect(reverse("bi:board"))
    response = _download(exports.people(title, rows, fmt=fmt), fmt, f"people-{key}")
    audit.record(
        "bi.people_exported",
        actor=request.user,
        target=audit.Target(type="bi.people", id=key, label=title),
        brand_id=request.user.brand_id,
        after={"rows": len(rows), "format": fmt},
    )
    return response


@member_required
@require_safe
def leader_people_export(request: HttpRequest, key: str, fmt: str) -> HttpResponse:
    """Refused: a list of people is personal information, and only operators may take it off the platform."""
    try:
        visible_community_ids(user=request.user)
    except DomainError as exc:
        return _refused(request, LEADER, exc.message, status=403)
    return _refused(
        request,
        LEADER,
        _(
            "Lists of people can only be exported by an operator (they hold members' personal information). "
            "You can look at the list here, or export your board's figures."
        ),
        status=403,
    )


@require_safe
def glossary(request: HttpRequest) -> HttpResponse:
    """Every metric, its formula and what counts — for operators (laptop) and leaders (phone)."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('web:staff-login')}?next={request.path}")
    if request.user.is_operator:
        template = "ops/bi/glossary.html"
    else:
        try:
            visible_community_ids(user=request.user)
        except DomainError as exc:
            return _refused(request, LEADER, exc.message, status=403)
        template = "member/bi/glossary.html"
    return render(request, template, {"metrics": list(metrics.METRICS.values()), "funnel_steps": charts.FUNNEL_STEPS})
