"""A member's own pages: home, profile with invitation links, leaving, the default pickup point."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from groupbuy import member_home as home_sections
from groupbuy.access import member_required
from groupbuy.errors import DomainError

from .. import selectors, services
from ..inputs import parse_id
from ..models import Community, PickupPoint


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


@member_required
def member_pickup_point(request: HttpRequest, slug: str) -> HttpResponse:
    community = get_object_or_404(Community, slug=slug)
    if request.method == "POST":
        point_pk = parse_id(request.POST.get("point"))
        point = PickupPoint.objects.filter(pk=point_pk).first() if point_pk else None
        try:
            services.membership_pickup_point_set(user=request.user, community=community, point=point)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your pickup point was saved."))
    return redirect("community:member-profile")
