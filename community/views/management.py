"""Managing a community: the operator's list, community and member pages, pickup points; the leader's member list."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from groupbuy.access import member_required, operator_required
from groupbuy.errors import DomainError

from .. import selectors, services
from ..access import communities_for_staff, may_manage_community, staff_brands
from ..forms import CommunityCreateForm, MemberFilterForm
from ..inputs import parse_id
from ..models import Community, Membership, PickupPoint, User


@operator_required
def ops_community_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "ops/communities.html", {"communities": selectors.community_list_with_counts(viewer=request.user)}
    )


@operator_required
def ops_community_new(request: HttpRequest) -> HttpResponse:
    """A new community with its settings, leaders and first pickup points (issue 11 item 1)."""
    brands = list(staff_brands(request.user))  # a brand's operator creates only in their own brand
    form = CommunityCreateForm(request.POST or None)
    if request.method == "POST":
        brand = (
            brands[0] if len(brands) == 1 else next((b for b in brands if str(b.pk) == request.POST.get("brand")), None)
        )
        if brand is None:
            form.add_error(None, _("Choose the brand this community belongs to."))
        elif form.is_valid():
            try:
                created = services.community_create(by=request.user, brand=brand, data=form.to_input())
            except services.CommunityInvalid as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                community = created.community
                if created.needs_questionnaire:
                    messages.success(
                        request,
                        _(
                            "Community “%(name)s” created. It stays invitation-only until its questionnaire is "
                            "written: write it here, then switch the join gate to questionnaire on the community page."
                        )
                        % {"name": community.name},
                    )
                    return redirect("community:ops-questionnaire", slug=community.slug)
                messages.success(request, _("Community “%(name)s” created.") % {"name": community.name})
                return redirect("community:ops-community", slug=community.slug)
    return render(
        request,
        "ops/community/new.html",
        {"form": form, "brands": brands if len(brands) > 1 else [], "has_brand": bool(brands)},
        status=400 if form.errors else 200,
    )


@operator_required
def ops_community_detail(request: HttpRequest, slug: str) -> HttpResponse:
    community = get_object_or_404(communities_for_staff(request.user).select_related("brand"), slug=slug)
    if request.method == "POST":
        capacity = request.POST.get("capacity", "")
        try:
            services.community_settings_update(
                by=request.user,
                community=community,
                positioning=request.POST.get("positioning", ""),
                capacity=parse_id(capacity),
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
    # Operators see whole numbers on the member page: a suffix search tells them nothing new.
    members = selectors.community_members(community=community, filters=form.filters(), sees_full_phones=True)
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
    community = get_object_or_404(communities_for_staff(request.user), slug=slug)
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


def _pickup_point_fields(request: HttpRequest, community: Community) -> dict:
    leader_id = parse_id(request.POST.get("leader"))
    leader = User.objects.filter(pk=leader_id).first() if leader_id else None
    capacity = request.POST.get("capacity", "")
    return {
        "name": request.POST.get("name", ""),
        "address": request.POST.get("address", ""),
        "opening_hours": request.POST.get("opening_hours", ""),
        "capacity": parse_id(capacity) or 0,
        "leader": leader,
        "is_active": request.POST.get("is_active") == "on",
    }


@operator_required
def ops_pickup_points(request: HttpRequest, slug: str) -> HttpResponse:
    community = get_object_or_404(communities_for_staff(request.user), slug=slug)
    if request.method == "POST":
        point = None
        if request.POST.get("point"):
            point = get_object_or_404(PickupPoint, pk=parse_id(request.POST["point"]), community=community)
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
def leader_community_members(request: HttpRequest, slug: str) -> HttpResponse:
    """A leader's member list for their own community (phones masked); they may remove members too."""
    community = get_object_or_404(Community, slug=slug)
    if not may_manage_community(user=request.user, community=community):
        raise PermissionDenied
    if request.method == "POST":
        membership = get_object_or_404(Membership, pk=parse_id(request.POST.get("membership")), community=community)
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
