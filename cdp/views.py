"""The customer data platform's operator pages: models (RFM, KOC, LTV curves), segments, member 360."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from community.access import for_staff, staff_brands
from community.models import Brand, Membership, User
from groupbuy.access import operator_required
from groupbuy.db import replica_reads
from groupbuy.errors import DomainError
from livestream.models import LiveSession, WarmupRound

from . import audiences, cohorts, koc, member360, rfm, segments, snapshots
from .models import Segment

KOC_LIST = 30
MEMBERS_PAGE = 50


def _brand(request: HttpRequest) -> Brand | None:
    """The brand the page is about: one this operator may see (another brand's id falls back to their own)."""
    brands = staff_brands(request.user)
    raw = request.GET.get("brand") or request.POST.get("brand")
    if raw and raw.isdigit():
        return brands.filter(pk=int(raw)).first() or brands.first()
    return brands.first()


def _segments(request: HttpRequest):
    """Segments of the brands this operator may see: another brand's answers 404."""
    return for_staff(Segment.objects.all(), user=request.user)


def _user_rows(ids, details: dict | None = None) -> list[dict]:
    users = User.objects.in_bulk(list(ids))
    return [{"user": users[pk], "detail": (details or {}).get(pk, "")} for pk in ids if pk in users]


@operator_required
def ops_home(request: HttpRequest) -> HttpResponse:
    """The models of one brand: RFM cells, the KOC ranking with reasons, LTV and cohort curves (read from the
    read replica when there is one)."""
    brand = _brand(request)
    context: dict = {"brand": brand, "brands": list(staff_brands(request.user))}
    if brand is not None:
        with replica_reads():
            context.update(_models(brand))
    return render(request, "ops/cdp/home.html", context)


def _models(brand: Brand) -> dict:
    snapshot = snapshots.brand_snapshot(brand_id=brand.pk)  # cached per brand; the page says how fresh
    cells = snapshot.cells
    scores = snapshot.scores[:KOC_LIST]
    users = User.objects.in_bulk([s.user_id for s in scores])
    plain = {}
    for m in Membership.objects.filter(
        user_id__in=list(users), community__brand=brand, status=Membership.Status.ACTIVE
    ).select_related("community"):
        plain.setdefault(m.user_id, []).append(m)
    return {
        "cells": rfm.cell_counts(cells),
        "customers": len(cells),
        "kocs": [(rank, s, users[s.user_id], plain.get(s.user_id, [])) for rank, s in enumerate(scores, start=1)],
        "weights": koc.WEIGHTS,
        "models": snapshot.models,
        "snapshot": snapshot,
        "months": range(cohorts.MONTHS),
    }


@operator_required
def ops_rfm_cell(request: HttpRequest, cell: str) -> HttpResponse:
    brand = _brand(request)
    if brand is None or cell not in rfm.CELL_LABELS:
        return redirect("cdp:home")
    with replica_reads():
        cells = snapshots.brand_snapshot(brand_id=brand.pk).cells
    picked = sorted((c for c in cells.values() if c.key == cell), key=lambda c: (-c.monetary_fen, c.user_id))
    page = Paginator(picked, MEMBERS_PAGE).get_page(request.GET.get("page"))
    users = User.objects.in_bulk([c.user_id for c in page])
    return render(
        request,
        "ops/cdp/rfm_cell.html",
        {"brand": brand, "label": rfm.CELL_LABELS[cell], "page": page, "rows": [(c, users[c.user_id]) for c in page]},
    )


@operator_required
@require_POST
def ops_koc_designate(request: HttpRequest) -> HttpResponse:
    membership = get_object_or_404(
        for_staff(Membership.objects.select_related("community", "user"), user=request.user, via="community__brand"),
        pk=request.POST.get("membership") or 0,
    )
    try:
        koc.koc_designate(by=request.user, membership=membership)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(name)s is now a KOC of %(community)s.")
            % {"name": membership.user.display_name, "community": membership.community.name},
        )
    return redirect(f"{reverse('cdp:home')}?brand={membership.community.brand_id}#koc")


# --- segments ----------------------------------------------------------------------------------------------


def rule_from_post(data) -> dict:
    """The builder's rows (or the advanced JSON box) as a rule; checked by the service."""
    raw = (data.get("rule_json") or "").strip()
    if raw:
        return segments.rule_parse(raw)
    conditions = []
    for i in range(segments.MAX_CONDITIONS + 1):
        field = data.get(f"field_{i}")
        if not field:
            continue
        spec = segments.FIELDS.get(field)
        condition = {"field": field, "op": data.get(f"op_{i}", "")}
        window = (data.get(f"window_{i}") or "").strip()
        if window:
            condition["window"] = window
        if spec is not None and spec.value == "choice":
            condition["value"] = data.get(f"choice_{i}", "")
        else:
            condition["value"] = (data.get(f"value_{i}") or "").strip()
        if field == "event_count":
            condition["event"] = (data.get(f"event_{i}") or "").strip()
        conditions.append(condition)
    return {"match": data.get("match", "all"), "conditions": conditions}


def _rows_for(rule: dict) -> list[dict]:
    rows = list(rule.get("conditions", []))
    return rows + [{}] * max(0, 3 - len(rows))


def _builder_context(brand: Brand, *, rule: dict, name: str = "", segment: Segment | None = None) -> dict:
    fields = [(key, spec) for key, spec in segments.FIELDS.items()]
    return {
        "brand": brand,
        "fields": fields,
        "ops": list(segments.OP_LABELS.items()),
        "rule": rule,
        "rows": _rows_for(rule),
        "match": rule.get("match", "all"),
        "name": name,
        "segment": segment,
        "examples": EXAMPLES,
    }


EXAMPLES = [
    {
        "name": gettext_lazy("watched ≥ 30 min of the last two lives and no order in 30 days"),
        "rule": {
            "match": "all",
            "conditions": [
                {"field": "watched_last_lives", "window": 2, "op": "gte", "value": 30},
                {"field": "orders_in_days", "window": 30, "op": "eq", "value": 0},
            ],
        },
    },
    {
        "name": gettext_lazy("KOC score top 20"),
        "rule": {"match": "all", "conditions": [{"field": "koc_rank", "op": "top", "value": 20}]},
    },
    {
        "name": gettext_lazy("new members via referral this month"),
        "rule": {
            "match": "all",
            "conditions": [{"field": "joined_in_days", "window": "month", "op": "is", "value": "referral"}],
        },
    },
]


@operator_required
def ops_segments(request: HttpRequest) -> HttpResponse:
    """The brand's segments with their live counts, and the builder for a new one."""
    brand = _brand(request)
    if brand is None:
        return render(request, "ops/cdp/segments.html", {"brand": None})
    rule: dict = {"match": "all", "conditions": []}
    name = ""
    status = 200
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            rule = rule_from_post(request.POST)
            segment = segments.segment_save(by=request.user, brand=brand, name=name, rule=rule)
        except DomainError as exc:
            messages.error(request, exc.message)
            status = 400
            if not request.POST.get("rule_json"):
                rule = {"match": request.POST.get("match", "all"), "conditions": _posted_rows(request.POST)}
        else:
            messages.success(request, _("Segment “%(name)s” saved.") % {"name": segment.name})
            return redirect("cdp:segment", pk=segment.pk)
    elif request.GET.get("example", "").isdigit() and int(request.GET["example"]) < len(EXAMPLES):
        example = EXAMPLES[int(request.GET["example"])]
        rule, name = example["rule"], str(example["name"])
    saved = []
    for s in Segment.objects.filter(brand=brand).order_by("name", "pk"):
        try:
            saved.append((s, segments.count(brand_id=brand.pk, rule=s.rule), segments.describe(s.rule)))
        except DomainError as exc:  # a community named in the rule was deleted since
            saved.append((s, None, [exc.message]))
    context = _builder_context(brand, rule=rule, name=name)
    context["saved"] = saved
    return render(request, "ops/cdp/segments.html", context, status=status)


def _posted_rows(data) -> list[dict]:
    rows = []
    for i in range(segments.MAX_CONDITIONS + 1):
        if data.get(f"field_{i}"):
            spec = segments.FIELDS.get(data.get(f"field_{i}"))
            rows.append(
                {
                    "field": data.get(f"field_{i}"),
                    "op": data.get(f"op_{i}"),
                    "window": data.get(f"window_{i}", ""),
                    "value": data.get(f"choice_{i}") if spec and spec.value == "choice" else data.get(f"value_{i}", ""),
                    "event": data.get(f"event_{i}", ""),
                }
            )
    return rows


@operator_required
def ops_segment(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(_segments(request).select_related("brand"), pk=pk)
    brand = segment.brand
    rule, name, status = segment.rule, segment.name, 200
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            rule = rule_from_post(request.POST)
            segments.segment_save(by=request.user, brand=brand, name=name, rule=rule, segment=segment)
        except DomainError as exc:
            messages.error(request, exc.message)
            segment.refresh_from_db()
            status = 400
            if not request.POST.get("rule_json"):
                rule = {"match": request.POST.get("match", "all"), "conditions": _posted_rows(request.POST)}
        else:
            messages.success(request, _("Segment “%(name)s” saved.") % {"name": segment.name})
            return redirect("cdp:segment", pk=segment.pk)
    context = _builder_context(brand, rule=rule, name=name, segment=segment)
    try:
        people = segments.members(brand_id=brand.pk, rule=segment.rule)
        context["total"] = people.count()
        context["page"] = Paginator(people, MEMBERS_PAGE).get_page(request.GET.get("page"))
    except DomainError as exc:
        context["rule_error"] = exc.message
    context["description"] = segments.describe(segment.rule)
    context["audiences"] = list(segment.audiences.select_related("round__session").order_by("-set_at")[:20])
    context["sessions"] = list(
        LiveSession.objects.filter(series__brand=brand, status=LiveSession.Status.SCHEDULED).order_by(
            "scheduled_start"
        )[:20]
    )
    return render(request, "ops/cdp/segment.html", context, status=status)


@operator_required
@require_POST
def ops_segment_count(request: HttpRequest) -> JsonResponse:
    """The builder's live count: how many people the rule on the form selects now."""
    brand = _brand(request)
    if brand is None:
        return JsonResponse({"error": _("There is no brand yet.")}, status=400)
    try:
        n = segments.count(brand_id=brand.pk, rule=rule_from_post(request.POST))
    except DomainError as exc:
        return JsonResponse({"error": exc.message}, status=400)
    return JsonResponse({"count": n, "text": _("%(n)s people now") % {"n": n}})


# --- audiences ---------------------------------------------------------------------------------------------


@operator_required
@require_POST
def ops_round_target(request: HttpRequest, round_pk: int) -> HttpResponse:
    round_ = get_object_or_404(
        for_staff(WarmupRound.objects.all(), user=request.user, via="session__series__brand"), pk=round_pk
    )
    raw = request.POST.get("segment", "")
    segment = get_object_or_404(_segments(request), pk=int(raw)) if raw.isdigit() else None
    try:
        audiences.round_target_segment(by=request.user, round_=round_, segment=segment)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The round now reaches the segment “%(name)s”.") % {"name": segment.name}
            if segment
            else _("The round reaches its own audience again."),
        )
    return redirect(reverse("livestream:ops-session", args=[round_.session_id]) + "#cdp-audience")


@operator_required
@require_POST
def ops_session_invite(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(for_staff(LiveSession.objects.all(), user=request.user, via="series__brand"), pk=pk)
    raw = request.POST.get("segment", "")
    segment = get_object_or_404(_segments(request), pk=int(raw)) if raw.isdigit() else None
    back = request.POST.get("back") or reverse("livestream:ops-session", args=[pk]) + "#cdp-audience"
    if not back.startswith("/"):
        back = reverse("livestream:ops-session", args=[pk])
    if segment is None:
        messages.error(request, _("Choose a segment."))
        return redirect(back)
    title = (request.POST.get("title") or "").strip() or _("You are invited: %(title)s") % {"title": session.title}
    try:
        audiences.segment_invite(
            by=request.user, segment=segment, session=session, title=title, body=request.POST.get("body", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The invitation goes out to “%(name)s” within a minute.") % {"name": segment.name})
    return redirect(back)


# --- member 360 --------------------------------------------------------------------------------------------


def ops_member(request: HttpRequest, user_id: int) -> HttpResponse:
    """One page per person. Operators only (refused with a message otherwise); the full phone on request,
    logged."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("web:staff-login"))
    people = User.objects.all()
    if request.user.is_operator:  # a brand's operator: someone of no community of theirs answers 404
        people = for_staff(people, user=request.user, via="memberships__community__brand").distinct()
    member = get_object_or_404(people, pk=user_id)
    full_phone = ""
    try:
        if request.method == "POST" and request.POST.get("action") == "unmask":
            full_phone = member360.phone_unmask(viewer=request.user, member=member)
        page = member360.member_360(viewer=request.user, member=member)
    except member360.MemberViewRefused as exc:
        if exc.code != "no_phone":
            return render(request, "ops/cdp/refused.html", {"message": exc.message}, status=403)
        messages.error(request, exc.message)
        page = member360.member_360(viewer=request.user, member=member)
    return render(request, "ops/cdp/member.html", {"p": page, "member": member, "full_phone": full_phone})
