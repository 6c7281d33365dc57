"""Pages: a member's "my data & privacy" (download, deletion, notice), the privacy notice, sign out everywhere,
and the operator's privacy console (deletion requests, downloads, the log)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import select_template
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from community import services as community_services
from community.access import staff_brand_ids
from community.models import ConsentRecord, Membership, User
from groupbuy import audit, clock
from groupbuy.access import member_required, operator_required
from groupbuy.audit import actions
from groupbuy.errors import DomainError
from jielong.models import Order

from . import export, services
from .models import DataExport, DeletionRequest

# --- the member's page -----------------------------------------------------------------------------------------


@member_required
def member_privacy(request: HttpRequest) -> HttpResponse:
    user = request.user
    pending = services.deletion_pending(user)
    context = {
        "pending": pending,
        "blockers": [] if pending else services.deletion_blockers(user),
        "cooling_off_days": settings.PRIVACY_DELETION_COOLING_OFF_DAYS,
        "consents": ConsentRecord.objects.filter(user=user)[:10],
        "current_version": settings.PRIVACY_NOTICE_VERSION,
        "downloads": DataExport.objects.filter(user=user)[:5],
    }
    return render(request, "member/privacy/home.html", context)


@member_required
@require_POST
def member_download(request: HttpRequest) -> HttpResponse:
    content, record = services.data_export_make(user=request.user)
    response = HttpResponse(content, content_type="application/json; charset=utf-8")
    filename = f"my-data-{record.created_at:%Y%m%d-%H%M%S}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@member_required
@require_POST
def member_delete(request: HttpRequest) -> HttpResponse:
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the box to confirm that you want your account deleted."))
        return redirect("privacy:member")
    try:
        made = services.deletion_request(user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Deletion requested. Your account will be anonymised on %(date)s unless you cancel before then.")
            % {"date": clock.localtime(made.due_at).strftime("%Y-%m-%d %H:%M")},
        )
    return redirect("privacy:member")


@member_required
@require_POST
def member_delete_cancel(request: HttpRequest) -> HttpResponse:
    try:
        services.deletion_cancel(user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Deletion cancelled. Your account stays as it is."))
    return redirect("privacy:member")


# --- the notice and consent ------------------------------------------------------------------------------------


def notice(request: HttpRequest, version: str | None = None) -> HttpResponse:
    """The privacy notice (隐私政策), the current version or an earlier one; anyone may read it."""
    version = version or settings.PRIVACY_NOTICE_VERSION
    if not version.isalnum() or len(version) > 32:
        raise Http404
    try:
        template = select_template([f"member/privacy/notice_{version}.html"])
    except Exception:
        raise Http404 from None
    context = {
        "version": version,
        "current_version": settings.PRIVACY_NOTICE_VERSION,
        "is_current": version == settings.PRIVACY_NOTICE_VERSION,
        "on_privacy_notice": True,  # the page itself has the accept button: no banner above it
        "next": _next_url(request),
    }
    return HttpResponse(template.render(context, request))


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


@member_required
@require_POST
def consent(request: HttpRequest) -> HttpResponse:
    """The member accepts the current notice (from the banner shown after a new version)."""
    community_services.privacy_consent_record(user=request.user, source=ConsentRecord.Source.RENEWAL)
    messages.success(request, _("Thank you: you accepted the current privacy notice."))
    return redirect(_next_url(request) or "community:member-home")


# --- sign out everywhere (members and staff) -------------------------------------------------------------------


@login_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """GET: the confirmation, in the member's or the staff's shell. POST: every session ends, this one too."""
    user = request.user
    is_member = user.role == User.Role.MEMBER
    if request.method == "POST":
        services.sign_out_everywhere(user=user)
        logout(request)
        messages.success(request, _("You are signed out on every device. Sign in again to continue."))
        return redirect("community:member-login" if is_member else "web:staff-login")
    if is_member:
        return render(request, "member/privacy/sign_out_everywhere.html", {})
    # staff: in the shell they came from (a host or assistant has the host panel, not the console)
    shell = "ops/base.html" if user.is_operator else "host/base.html"
    return render(request, "ops/privacy/sign_out_everywhere.html", {"shell": shell})


# --- the operator's console ------------------------------------------------------------------------------------


def _visible_users(user: User) -> Q | None:
    """Members whose requests this operator may see: of their brand's communities or orders (None: all)."""
    allowed = staff_brand_ids(user)
    if allowed is None:
        return None
    return Q(user_id__in=_visible_user_ids(allowed)[0]) | Q(user_id__in=_visible_user_ids(allowed)[1])


def _visible_user_ids(allowed: frozenset[int]):
    brands = sorted(allowed)
    return (
        Membership.objects.filter(community__brand__in=brands).values("user_id"),
        Order.objects.filter(campaign__brand__in=brands).values("user_id"),
    )


def _requests_for(user: User):
    queryset = DeletionRequest.objects.select_related("user", "processed_by")
    visible = _visible_users(user)
    return queryset if visible is None else queryset.filter(visible)


@operator_required
def ops_home(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    requests_qs = _requests_for(request.user)
    if status in DeletionRequest.Status.values:
        requests_qs = requests_qs.filter(status=status)
    page = Paginator(requests_qs.order_by("-requested_at", "-pk"), 30).get_page(request.GET.get("page"))
    visible = _visible_users(request.user)
    exports = DataExport.objects.select_related("user")
    if visible is not None:
        exports = exports.filter(visible)
    log = audit.Entry.objects.filter(action__startswith="privacy.").order_by("-at", "-pk")
    allowed = staff_brand_ids(request.user)
    if allowed is not None:
        members, buyers = _visible_user_ids(allowed)
        log = log.filter(Q(actor_id__in=members) | Q(actor_id__in=buyers) | Q(brand_id__in=sorted(allowed)))
    now = clock.now()
    rows = [{"request": r, "blockers": services.deletion_blockers(r.user) if r.status == "pending" else []}
            for r in page]  # fmt: skip
    return render(
        request,
        "ops/privacy/home.html",
        {
            "page": page,
            "rows": rows,
            "status": status,
            "statuses": DeletionRequest.Status.choices,
            "exports": _with_sections(exports.order_by("-created_at", "-pk")[:30]),
            "log": [(entry, actions.label(entry.action)) for entry in log[:50]],
            "now": now,
            "cooling_off_days": settings.PRIVACY_DELETION_COOLING_OFF_DAYS,
            "query": f"status={status}" if status else "",
        },
    )


def _with_sections(exports) -> list[DataExport]:
    rows = list(exports)
    for row in rows:
        row.sections = export.labelled_counts(row.counts)
    return rows


@operator_required
@require_POST
def ops_process(request: HttpRequest, pk: int) -> HttpResponse:
    """Anonymise now, without waiting for the cooling-off (the member asked the operator directly)."""
    found = get_object_or_404(_requests_for(request.user), pk=pk)
    if staff_brand_ids(request.user) is not None and _touches_other_brands(found.user, staff_brand_ids(request.user)):
        messages.error(
            request, _("This member also belongs to another brand: the installation's operator processes it.")
        )
        return redirect("privacy:ops-home")
    try:
        services.deletion_process(request_id=found.pk, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Request %(reference)s processed: the account is anonymised.") % {"reference": found.reference}
        )
    return redirect("privacy:ops-home")


def _touches_other_brands(user: User, allowed: frozenset[int]) -> bool:
    brands = set(Membership.objects.filter(user=user).values_list("community__brand_id", flat=True))
    brands |= set(Order.objects.filter(user=user).values_list("campaign__brand_id", flat=True))
    return bool(brands - set(allowed))
