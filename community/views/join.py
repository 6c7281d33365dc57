"""The join landing page (/m/join/<slug>/?ref=CODE), its status page, and the review of applications."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from groupbuy.access import member_required, operator_required
from groupbuy.errors import DomainError

from .. import selectors, services
from ..access import communities_for_staff, may_manage_community
from ..inputs import parse_id
from ..models import Application, Community, Question, User


def _join_community_or_404(slug: str) -> Community:
    community = selectors.community_for_join(slug=slug)
    if community is None or not community.is_active:
        raise Http404
    return community


def _posted_answers(request: HttpRequest, questionnaire) -> dict:
    answers: dict[str, object] = {}
    if questionnaire is None:
        return answers
    for question in questionnaire.questions.all():
        name = f"q{question.pk}"
        if question.kind == Question.Kind.MULTIPLE:
            answers[str(question.pk)] = request.POST.getlist(name)
        else:
            answers[str(question.pk)] = request.POST.get(name, "")
    return answers


def _question_rows(questionnaire, answers: dict) -> list[dict]:
    """Questions with what the member already picked or typed, so a refused form keeps its answers."""
    rows = []
    if questionnaire is None:
        return rows
    for question in questionnaire.questions.all():
        given = answers.get(str(question.pk))
        picked = {str(v) for v in given} if isinstance(given, list) else ({str(given)} if given else set())
        rows.append(
            {
                "question": question,
                "name": f"q{question.pk}",
                "text": given if question.kind == Question.Kind.TEXT else "",
                "choices": [{"choice": c, "checked": str(c.pk) in picked} for c in question.choices.all()],
            }
        )
    return rows


def _login_url(request: HttpRequest) -> str:
    return f"{reverse('community:member-login')}?{urlencode({'next': request.get_full_path()})}"


def member_join(request: HttpRequest, slug: str) -> HttpResponse:
    """The invitation landing page (/m/join/<slug>/?ref=CODE): positioning, the gate, and the form to pass it."""
    community = _join_community_or_404(slug)
    questionnaire = (
        selectors.questionnaire_with_questions(community=community)
        if community.join_gate == Community.JoinGate.QUESTIONNAIRE
        else None
    )
    user = request.user
    is_member_account = user.is_authenticated and user.role == User.Role.MEMBER
    code = (request.POST.get("code") if request.method == "POST" else request.GET.get("ref")) or ""
    answers: dict = {}
    error = ""
    if request.method == "POST":
        if not is_member_account:
            return redirect(_login_url(request))
        answers = _posted_answers(request, questionnaire)
        try:
            result = services.community_join(user=user, community=community, invitation_code=code, answers=answers)
        except DomainError as exc:
            error = exc.message
        else:
            if result.joined:
                messages.success(request, _("Welcome to %(community)s!") % {"community": community.name})
                return redirect("community:member-home")
            return redirect("community:member-join-status", slug=community.slug)
    invitation = selectors.invitation_by_code(code=code)
    membership = None
    application = None
    if is_member_account:
        membership = user.memberships.filter(community=community).first()
        application = selectors.latest_application(user=user, community=community)
    context = {
        "community": community,
        "questionnaire": questionnaire,
        "questions": _question_rows(questionnaire, answers),
        "code": code.strip().upper(),
        "inviter": invitation.inviter if invitation and invitation.community_id == community.pk else None,
        "membership": membership,
        "application": application,
        "is_member_account": is_member_account,
        "error": error,
        "login_url": _login_url(request),
        "member_count": selectors.community_member_count(community=community),
    }
    return render(request, "member/join.html", context)


@member_required
def member_join_status(request: HttpRequest, slug: str) -> HttpResponse:
    community = _join_community_or_404(slug)
    application = selectors.latest_application(user=request.user, community=community)
    if application is None:
        return redirect("community:member-join", slug=community.slug)
    return render(request, "member/join_status.html", {"community": community, "application": application})


def _review(request: HttpRequest, community: Community) -> HttpResponse | None:
    """Handle an approve/reject POST; returns the redirect, or None for a GET."""
    if request.method != "POST":
        return None
    application = get_object_or_404(Application, pk=parse_id(request.POST.get("application")), community=community)
    try:
        services.application_review(
            application=application,
            reviewer=request.user,
            approve=request.POST.get("decision") == "approve",
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The application was reviewed."))
    return redirect(request.path)


@operator_required
def ops_community_applications(request: HttpRequest, slug: str) -> HttpResponse:
    community = get_object_or_404(communities_for_staff(request.user), slug=slug)
    response = _review(request, community)
    if response is not None:
        return response
    applications = selectors.pending_applications(reviewer=request.user, community=community)
    return render(request, "ops/community/applications.html", {"community": community, "applications": applications})


@member_required
def leader_community_applications(request: HttpRequest, slug: str) -> HttpResponse:
    community = get_object_or_404(Community, slug=slug)
    if not may_manage_community(user=request.user, community=community):
        raise PermissionDenied
    response = _review(request, community)
    if response is not None:
        return response
    applications = selectors.pending_applications(reviewer=request.user, community=community)
    return render(request, "member/lead_applications.html", {"community": community, "applications": applications})
