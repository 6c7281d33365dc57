from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from community.access import for_staff
from community.models import User
from groupbuy.access import operator_required
from groupbuy.errors import DomainError

from . import identity, selectors


@operator_required
def ops_dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "ops/dashboard.html", {"headline": selectors.ops_headline(viewer=request.user)})


@operator_required
def ops_identity(request: HttpRequest, user_id: int) -> HttpResponse:
    """A member's person (CDP): their ids, their events in the stream, merges — and the operator's merge
    of another account into this one (two identified persons are never merged automatically)."""
    # a member of another brand's communities only answers 404 (cross-brand isolation)
    user = get_object_or_404(
        for_staff(User.objects.all(), user=request.user, via="memberships__community__brand").distinct(), pk=user_id
    )
    if request.method == "POST":
        try:
            merge = identity.operator_merge(
                kept_user=user,
                absorbed_phone=request.POST.get("phone", ""),
                by=request.user,
                reason=request.POST.get("reason", ""),
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return render(request, "ops/analytics/identity.html", _identity_context(user, request.POST), status=400)
        messages.success(request, identity.merged_message(merge))
        return redirect("analytics:ops-identity", user_id=user.pk)
    return render(request, "ops/analytics/identity.html", _identity_context(user, {}))


def _identity_context(user: User, posted) -> dict:
    return {
        "member": user,
        "summary": identity.person_summary_of_user(user),
        "posted": posted,
        # the member's page in the console, to go back to
        "membership": user.memberships.select_related("community").order_by("pk").first(),
    }
