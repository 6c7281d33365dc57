from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from groupbuy import member_home as home_sections
from groupbuy.access import member_required, operator_required
from groupbuy.clientip import client_ip
from groupbuy.errors import DomainError

from . import selectors, services
from .access import may_manage_community
from .forms import MemberFilterForm
from .models import Application, Community, Membership, PickupPoint, Question, User
from .phones import mask_phone


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=gettext_lazy("Mobile number"),
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "138 1234 5678"}),
    )


class CodeForm(PhoneForm):
    code = forms.CharField(
        label=gettext_lazy("Verification code"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}),
    )
    consent = forms.BooleanField(
        label=gettext_lazy("I have read and agree to the privacy notice"),
        error_messages={"required": gettext_lazy("Please accept the privacy notice to continue.")},
    )


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def member_login(request: HttpRequest) -> HttpResponse:
    """Sign in with a phone number and a one-time code (手机号 + 验证码). Step 1 sends, step 2 verifies."""
    if request.user.is_authenticated and request.user.role == User.Role.MEMBER:
        return redirect(_next_url(request) or "community:member-home")
    context = {"next": _next_url(request), "step": "phone", "form": PhoneForm(), "dev_code": ""}
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "verify":
            form = CodeForm(request.POST)
            context.update(step="code", form=form)
            if form.is_valid():
                try:
                    user = services.phone_code_verify(
                        phone=form.cleaned_data["phone"],
                        code=form.cleaned_data["code"],
                        consent=form.cleaned_data["consent"],
                    )
                except DomainError as exc:
                    form.add_error("code", exc.message)
                else:
                    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                    return redirect(context["next"] or "community:member-home")
        else:
            form = PhoneForm(request.POST)
            context["form"] = form
            if form.is_valid():
                try:
                    sent = services.phone_code_send(phone=form.cleaned_data["phone"], ip=client_ip(request))
                except DomainError as exc:
                    form.add_error("phone", exc.message)
                else:
                    context.update(step="code", form=CodeForm(initial={"phone": sent.phone}), sent_to=sent.phone)
                    if getattr(settings, "SMS_SHOW_CODE", False):
                        context["dev_code"] = sent.code
    if context["step"] == "code":
        phone = context["form"]["phone"].value() or ""
        context["masked_phone"] = _masked(phone)
    return render(request, "member/login.html", context)


def _masked(phone: str) -> str:
    return mask_phone(phone) if phone.startswith("+") else ""


@member_required
def member_home(request: HttpRequest) -> HttpResponse:
    memberships = list(selectors.member_memberships(user=request.user))
    community_ids = [m.community_id for m in memberships if m.status == m.Status.ACTIVE]
    return render(
        request,
        "member/home.html",
        {
            "memberships": memberships,
            "sections": home_sections.render_sections(request, community_ids),
        },
    )


@member_required
def member_profile(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            services.member_profile_update(user=request.user, nickname=request.POST.get("nickname", ""))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your nickname was saved."))
        return redirect("community:member-profile")
    memberships = list(selectors.member_memberships(user=request.user))
    invitations = []
    for membership in memberships:
        if membership.status != membership.Status.ACTIVE:
            continue
        invitation = services.invitation_personal_get_or_create(user=request.user, community=membership.community)
        link = request.build_absolute_uri(
            f"{reverse('community:member-join', args=[membership.community.slug])}?ref={invitation.code}"
        )
        invitations.append(
            {
                "membership": membership,
                "invitation": invitation,
                "link": link,
                "points": selectors.pickup_points(community=membership.community, open_only=True),
            }
        )
    return render(
        request,
        "member/profile.html",
        {"memberships": memberships, "invitations": invitations},
    )


@operator_required
def ops_community_list(request: HttpRequest) -> HttpResponse:
    return render(request, "ops/communities.html", {"communities": selectors.community_list_with_counts()})


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
    application = get_object_or_404(Application, pk=request.POST.get("application"), community=community)
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
    community = get_object_or_404(Community, slug=slug)
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


@operator_required
def ops_community_detail(request: HttpRequest, slug: str) -> HttpResponse:
    community = get_object_or_404(Community.objects.select_related("brand"), slug=slug)
    if request.method == "POST":
        capacity = request.POST.get("capacity", "")
        try:
            services.community_settings_update(
                by=request.user,
                community=community,
                positioning=request.POST.get("positioning", ""),
                capacity=int(capacity) if capacity.isdigit() else None,
                join_gate=request.POST.get("join_gate", ""),
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The community settings were saved."))
        return redirect("community:ops-community", slug=community.slug)
    data = request.GET.copy()
    if "status" not in data:
        data["status"] = Membership.Status.ACTIVE
    form = MemberFilterForm(data)
    members = selectors.community_members(community=community, filters=form.filters())
    page = Paginator(members, selectors.MEMBER_PAGE_SIZE).get_page(request.GET.get("page"))
    query = data.copy()
    query.pop("page", None)
    return render(
        request,
        "ops/community/detail.html",
        {
            "community": community,
            "overview": selectors.community_overview(community=community),
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "gates": Community.JoinGate.choices,
        },
    )


@operator_required
def ops_member_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = get_object_or_404(Community, slug=slug)
    membership = get_object_or_404(
        Membership.objects.select_related("user", "invited_by", "default_pickup_point"), pk=pk, community=community
    )
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "remove":
                services.membership_remove(membership=membership, by=request.user)
                messages.success(request, _("The member was removed from the community."))
            elif action == "role":
                services.membership_role_set(by=request.user, membership=membership, role=request.POST.get("role", ""))
                messages.success(request, _("The community role was changed."))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("community:ops-member", slug=community.slug, pk=membership.pk)
    tree = selectors.referral_subtree(user=membership.user, community=community, max_depth=4, limit=500)
    return render(
        request,
        "ops/community/member.html",
        {"community": community, "membership": membership, "tree": tree, "roles": Membership.Role.choices},
    )


@member_required
def member_leave(request: HttpRequest, slug: str) -> HttpResponse:
    community = get_object_or_404(Community, slug=slug)
    if request.method == "POST":
        try:
            services.membership_leave(user=request.user, community=community)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("You left %(community)s.") % {"community": community.name})
    return redirect("community:member-profile")


def _pickup_point_fields(request: HttpRequest, community: Community) -> dict:
    leader_id = request.POST.get("leader") or ""
    leader = None
    if leader_id.isdigit():
        leader = User.objects.filter(pk=int(leader_id)).first()
    capacity = request.POST.get("capacity", "")
    return {
        "name": request.POST.get("name", ""),
        "address": request.POST.get("address", ""),
        "opening_hours": request.POST.get("opening_hours", ""),
        "capacity": int(capacity) if capacity.isdigit() else 0,
        "leader": leader,
        "is_active": request.POST.get("is_active") == "on",
    }


@operator_required
def ops_pickup_points(request: HttpRequest, slug: str) -> HttpResponse:
    community = get_object_or_404(Community, slug=slug)
    if request.method == "POST":
        point = None
        if request.POST.get("point"):
            point = get_object_or_404(PickupPoint, pk=request.POST["point"], community=community)
        try:
            services.pickup_point_save(
                by=request.user, community=community, point=point, **_pickup_point_fields(request, community)
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The pickup point was saved."))
        return redirect("community:ops-pickup-points", slug=community.slug)
    return render(
        request,
        "ops/community/pickup_points.html",
        {
            "community": community,
            "points": selectors.pickup_points(community=community),
            "leaders": selectors.community_leaders(community=community),
        },
    )


@member_required
def member_pickup_point(request: HttpRequest, slug: str) -> HttpResponse:
    community = get_object_or_404(Community, slug=slug)
    if request.method == "POST":
        raw = request.POST.get("point") or ""
        point = PickupPoint.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        try:
            services.membership_pickup_point_set(user=request.user, community=community, point=point)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your pickup point was saved."))
    return redirect("community:member-profile")


@member_required
def leader_community_members(request: HttpRequest, slug: str) -> HttpResponse:
    """A leader's member list for their own community (phones masked); they may remove members too."""
    community = get_object_or_404(Community, slug=slug)
    if not may_manage_community(user=request.user, community=community):
        raise PermissionDenied
    if request.method == "POST":
        membership = get_object_or_404(Membership, pk=request.POST.get("membership"), community=community)
        try:
            services.membership_remove(membership=membership, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The member was removed from the community."))
        return redirect("community:leader-members", slug=community.slug)
    form = MemberFilterForm(request.GET or None)
    members = selectors.community_members(
        community=community, filters=form.filters() if form.is_bound else selectors.MemberFilters()
    )
    page = Paginator(members, selectors.MEMBER_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "member/lead_members.html",
        {
            "community": community,
            "overview": selectors.community_overview(community=community),
            "form": form,
            "page": page,
            "query": query.urlencode(),
        },
    )
