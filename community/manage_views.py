"""Roster import and questionnaire editing pages, for operators (/ops/) and a community's own leaders (/m/lead/).

Both shells share one implementation; the leader variant checks leadership of that community first.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from groupbuy.access import member_required, operator_required
from groupbuy.errors import DomainError

from . import roster, selectors
from .access import communities_for_staff, may_manage_community
from .inputs import parse_id
from .models import Community, Question
from .questionnaire_editor import (
    ChoiceDraft,
    QuestionDraft,
    QuestionnaireDraft,
    QuestionnaireInvalid,
    questionnaire_draft,
    questionnaire_save,
)

OPS, LEADER = "ops", "leader"
PREVIEW_ROWS = 100
RESULTS_SESSION_KEY = "roster_import_results"
EXTRA_CHOICES = 2


def _community(request: HttpRequest, slug: str, shell: str) -> Community:
    base = Community.objects if shell == LEADER else communities_for_staff(request.user)
    community = get_object_or_404(base.select_related("brand"), slug=slug)
    if shell == LEADER and not may_manage_community(user=request.user, community=community):
        raise PermissionDenied
    return community


def _shell_context(shell: str, community: Community) -> dict:
    if shell == OPS:
        return {
            "base_template": "ops/base.html",
            "shell": shell,
            "back_url": reverse("community:ops-community", args=[community.slug]),
            "import_url": reverse("community:ops-roster-import", args=[community.slug]),
            "template_url": "community:ops-roster-template",
            "questionnaire_url": reverse("community:ops-questionnaire", args=[community.slug]),
        }
    return {
        "base_template": "member/base.html",
        "shell": shell,
        "back_url": reverse("community:leader-members", args=[community.slug]),
        "import_url": reverse("community:leader-roster-import", args=[community.slug]),
        "template_url": "community:leader-roster-template",
        "questionnaire_url": reverse("community:leader-questionnaire", args=[community.slug]),
    }


# --- Roster import (导入群成员) ------------------------------------------------------------------------------


def _remember_result(request: HttpRequest, token: str, result: roster.RosterImportResult) -> None:
    results = dict(request.session.get(RESULTS_SESSION_KEY, {}))
    results[token] = {
        "new_members": result.new_members,
        "merged_users": result.merged_users,
        "already_members": result.already_members,
        "duplicates": result.duplicates,
        "bad_rows": result.bad_rows,
        "imported": result.imported,
    }
    # Only the last few imports are needed to answer a double submit.
    request.session[RESULTS_SESSION_KEY] = dict(list(results.items())[-5:])


def _roster_post(request: HttpRequest, community: Community, url: str) -> HttpResponse:
    action = request.POST.get("action", "")
    token = request.POST.get("token", "")
    try:
        if action == "upload":
            upload = request.FILES.get("file")
            if upload is None:
                raise roster.RosterFileInvalid(_("Choose the roster file to upload."), code="no_file")
            if upload.size > roster.MAX_FILE_BYTES:
                raise roster.RosterFileInvalid(
                    _("The file is larger than %(size)s MB. Split it into smaller files.")
                    % {"size": roster.MAX_FILE_BYTES // 2**20},
                    code="too_large",
                )
            staged = roster.roster_upload_stage(
                by=request.user, community=community, content=upload.read(), filename=upload.name
            )
            return redirect(f"{url}?token={staged.token}")
        if action == "discard":
            roster.roster_import_discard(by=request.user, community=community, token=token)
            messages.info(request, _("The import was cancelled; nothing was changed."))
            return redirect(url)
        if action == "confirm":
            result = roster.roster_import_confirm(by=request.user, community=community, token=token)
            _remember_result(request, token, result)
            messages.success(
                request,
                _("Imported %(count)s members. Rows with problems were skipped.") % {"count": result.imported},
            )
            return redirect(f"{url}?done={token}")
    except DomainError as exc:
        if action == "confirm" and token in request.session.get(RESULTS_SESSION_KEY, {}):
            messages.info(request, _("This import was already confirmed; it was not imported twice."))
            return redirect(f"{url}?done={token}")
        messages.error(request, exc.message)
        if action == "confirm" and exc.code == "conflict":
            return redirect(f"{url}?token={token}")
        return redirect(url)
    return redirect(url)


def _roster_import(request: HttpRequest, slug: str, shell: str) -> HttpResponse:
    community = _community(request, slug, shell)
    context = {"community": community, **_shell_context(shell, community)}
    if request.method == "POST":
        return _roster_post(request, community, context["import_url"])
    token = request.GET.get("token", "")
    done = request.GET.get("done", "")
    context.update(
        max_rows=roster.MAX_ROWS,
        max_megabytes=roster.MAX_FILE_BYTES // 2**20,
        overview=selectors.community_overview(community=community),
        pickup_points=selectors.pickup_points(community=community, open_only=True),
    )
    if done:
        context["result"] = request.session.get(RESULTS_SESSION_KEY, {}).get(done)
    if token:
        try:
            staged = roster.roster_staged(by=request.user, community=community, token=token)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(context["import_url"])
        plan = roster.roster_plan(community=community, rows=staged.rows)
        importable = plan.importable
        context.update(
            staged=staged,
            plan=plan,
            token=token,
            summary=plan.summary,
            problems=plan.problems,
            unchanged=plan.unchanged,
            preview=importable[:PREVIEW_ROWS],
            preview_more=max(len(importable) - PREVIEW_ROWS, 0),
            importable_count=len(importable),
        )
    return render(request, "ops/community/roster_import.html", context)


def _roster_template(request: HttpRequest, slug: str, shell: str, fmt: str) -> HttpResponse:
    _community(request, slug, shell)
    if fmt not in ("csv", "xlsx"):
        raise Http404
    if fmt == "xlsx":
        response = HttpResponse(
            roster.roster_template_xlsx(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = HttpResponse(roster.roster_template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="roster-template.{fmt}"'
    return response


@operator_required
@require_http_methods(["GET", "POST"])
def ops_roster_import(request: HttpRequest, slug: str) -> HttpResponse:
    return _roster_import(request, slug, OPS)


@member_required
@require_http_methods(["GET", "POST"])
def leader_roster_import(request: HttpRequest, slug: str) -> HttpResponse:
    return _roster_import(request, slug, LEADER)


@operator_required
def ops_roster_template(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    return _roster_template(request, slug, OPS, fmt)


@member_required
def leader_roster_template(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    return _roster_template(request, slug, LEADER, fmt)


# --- Questionnaire editor (入群问卷) --------------------------------------------------------------------------


def _pk(value: str) -> int | None:
    return parse_id(value)


def _indices(data, prefix: str) -> list[int]:
    """The row numbers present in the POST for ``prefix`` (``q-3-text`` → 3), in the order posted."""
    found: list[int] = []
    for key in data:
        if key.startswith(prefix):
            head = key[len(prefix) :].split("-", 1)[0]
            index = parse_id(head)
            if index is not None and index not in found:
                found.append(index)
    return found


def _posted_draft(data) -> QuestionnaireDraft:
    questions = []
    for i in _indices(data, "q-"):
        p = f"q-{i}-"
        choices = [
            ChoiceDraft(
                pk=_pk(data.get(f"{p}c-{j}-pk", "")),
                text=data.get(f"{p}c-{j}-text", ""),
                score=data.get(f"{p}c-{j}-score", ""),
            )
            for j in _indices(data, f"{p}c-")
        ]
        questions.append(
            QuestionDraft(
                pk=_pk(data.get(f"{p}pk", "")),
                text=data.get(f"{p}text", ""),
                kind=data.get(f"{p}kind", ""),
                position=data.get(f"{p}position", ""),
                is_required=data.get(f"{p}required") == "on",
                text_min_length=data.get(f"{p}text_min_length", ""),
                text_points=data.get(f"{p}text_points", ""),
                delete=data.get(f"{p}delete") == "on",
                choices=choices,
            )
        )
    return QuestionnaireDraft(
        intro=data.get("intro", ""),
        threshold=data.get("threshold", ""),
        auto_approve=data.get("auto_approve") == "on",
        questions=questions,
    )


def _editor_rows(draft: QuestionnaireDraft) -> list[dict]:
    """Each question with blank choice rows to fill in, and one blank question at the end to add."""
    rows = []
    questions = [*draft.questions]
    if not any(question.is_blank for question in questions):
        questions.append(QuestionDraft(position=str(len(questions) + 1)))
    for index, question in enumerate(questions):
        blanks = max(EXTRA_CHOICES, 4 - len(question.choices))
        rows.append(
            {
                "index": index,
                "question": question,
                "choices": [*question.choices, *(ChoiceDraft() for _ in range(blanks))],
                "is_new": question.pk is None,
            }
        )
    return rows


def _questionnaire(request: HttpRequest, slug: str, shell: str) -> HttpResponse:
    community = _community(request, slug, shell)
    context = {"community": community, **_shell_context(shell, community)}
    errors: list[str] = []
    if request.method == "POST":
        draft = _posted_draft(request.POST)
        try:
            questionnaire_save(by=request.user, community=community, draft=draft)
        except QuestionnaireInvalid as exc:
            errors = exc.errors
        else:
            messages.success(request, _("The questionnaire was saved."))
            return redirect(context["questionnaire_url"])
    else:
        draft = questionnaire_draft(community=community)
    context.update(
        draft=draft,
        rows=_editor_rows(draft),
        blank_row={
            "index": "__Q__",
            "question": QuestionDraft(),
            "choices": [ChoiceDraft() for _ in range(4)],
            "is_new": True,
        },
        errors=errors,
        kinds=Question.Kind.choices,
        is_gate=community.join_gate == Community.JoinGate.QUESTIONNAIRE,
        has_questionnaire=bool(draft.questions and any(q.pk for q in draft.questions)),
    )
    return render(request, "ops/community/questionnaire.html", context, status=400 if errors else 200)


@operator_required
@require_http_methods(["GET", "POST"])
def ops_questionnaire(request: HttpRequest, slug: str) -> HttpResponse:
    return _questionnaire(request, slug, OPS)


@member_required
@require_http_methods(["GET", "POST"])
def leader_questionnaire(request: HttpRequest, slug: str) -> HttpResponse:
    return _questionnaire(request, slug, LEADER)
