"""The operator's pages (laptop): help-sellers and rules per campaign; everyone's earnings; settlement."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from community.access import for_staff, staff_brand_ids, staff_brands
from community.models import Membership, User
from groupbuy import audit, clock
from groupbuy.access import operator_required
from groupbuy.errors import DomainError
from jielong.models import Campaign

from . import panels, selectors, sellers
from .forms import DefaultsForm, PeriodForm, RuleForm, SellerRuleForm
from .models import HelpSeller, RuleKind, Statement
from .settlement import statement_settle
from .views import statement_response

CANDIDATES = 30


def _campaign_or_404(request: HttpRequest, pk: int) -> Campaign:
    """The campaign in the URL, if it is of a brand this operator may see (404 otherwise, as if none)."""
    return get_object_or_404(for_staff(Campaign.objects.select_related("brand"), user=request.user), pk=pk)


def _settles_statements(request: HttpRequest) -> bool:
    """Commission statements are per person across every brand (one statement settles all of a payee's
    commissions), so only installation-wide operators see, download and settle them; a brand's operator
    sees their brand's earnings and rules."""
    return staff_brand_ids(request.user) is None


def _bp_text(bp: int | None) -> str:
    return "" if bp is None else f"{bp / 100:g}"


def _yuan_text(fen: int | None) -> str:
    return "" if fen is None else f"{fen / 100:g}"


@operator_required
def campaign_sellers(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """A campaign's help-sellers: invite, rules, each one's link, sales and earnings."""
    campaign = _campaign_or_404(request, campaign_id)
    rule = sellers.campaign_rule(campaign.pk)
    defaults = sellers.brand_defaults(campaign.brand_id)
    rule_form = RuleForm(
        initial={
            "kind": rule.kind,
            "rate": _bp_text(rule.rate_bp),
            "fixed": _yuan_text(rule.fixed_fen),
            "leader_rate": _bp_text(rule.leader_rate_bp),
        }
    )
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "rule":
                rule_form = RuleForm(request.POST)
                if rule_form.is_valid():
                    data = rule_form.cleaned_data
                    sellers.rule_set(
                        campaign=campaign,
                        kind=data["kind"],
                        rate_bp=data["rate"] or 0,
                        fixed_fen=data["fixed"] or 0,
                        leader_rate_bp=data["leader_rate"],
                        by=request.user,
                    )
                    messages.success(request, _("Commission rule saved."))
                    return redirect("fission:ops-campaign", campaign_id=campaign.pk)
                error = _("Please correct the rule; nothing was saved.")
            elif action == "invite":
                user = None
                if request.POST.get("user", "").isdigit():
                    user = User.objects.filter(pk=int(request.POST["user"])).first()
                seller = sellers.help_seller_invite(
                    campaign=campaign, by=request.user, user=user, phone=request.POST.get("phone", "")
                )
                messages.success(request, _("%(name)s can now sell this jielong.") % {"name": seller.user.display_name})
                return redirect("fission:ops-campaign", campaign_id=campaign.pk)
            elif action in ("seller-rule", "deactivate"):
                seller = get_object_or_404(HelpSeller, pk=request.POST.get("seller", "0") or 0, campaign=campaign)
                if action == "deactivate":
                    sellers.help_seller_deactivate(help_seller=seller, by=request.user)
                    messages.success(
                        request, _("%(name)s's link no longer counts.") % {"name": seller.user.display_name}
                    )
                    return redirect("fission:ops-campaign", campaign_id=campaign.pk)
                form = SellerRuleForm(request.POST)
                if form.is_valid():
                    data = form.cleaned_data
                    sellers.help_seller_rule_set(
                        help_seller=seller,
                        kind=data["kind"],
                        rate_bp=data["rate"],
                        fixed_fen=data["fixed"],
                        by=request.user,
                    )
                    messages.success(request, _("Commission rule saved."))
                    return redirect("fission:ops-campaign", campaign_id=campaign.pk)
                error = " ".join(str(e) for errors in form.errors.values() for e in errors)
            else:
                raise Http404
        except DomainError as exc:
            error = exc.message
    seller_list = list(HelpSeller.objects.filter(campaign=campaign).select_related("user").order_by("pk"))
    rows = selectors.seller_rows(seller_list)
    for row in rows:
        row.share_url = panels.share_url(request, row.seller)
        row.form = SellerRuleForm(
            initial={
                "kind": row.seller.kind,
                "rate": _bp_text(row.seller.rate_bp),
                "fixed": _yuan_text(row.seller.fixed_fen),
            },
            prefix=f"s{row.seller.pk}",
        )
    invited = {s.user_id for s in seller_list}
    candidates = (
        Membership.objects.filter(
            community__brand_id=campaign.brand_id,
            status=Membership.Status.ACTIVE,
            role__in=[Membership.Role.LEADER, Membership.Role.KOC],
        )
        .exclude(user_id__in=invited)
        .select_related("user", "community")
        .order_by("role", "community__name", "user_id")[:CANDIDATES]
    )
    return render(
        request,
        "ops/fission/campaign.html",
        {
            "campaign": campaign,
            "rule": rule,
            "rule_form": rule_form,
            "defaults": defaults,
            "leader_percent": f"{sellers.leader_rate_bp(rule, defaults) / 100:g}%",
            "rows": rows,
            "candidates": candidates,
            "error": error,
            "percent": RuleKind.PERCENT,
        },
        status=400 if error else 200,
    )


def _period(request: HttpRequest) -> tuple[PeriodForm, object, object]:
    today = clock.localtime(clock.now()).date()
    yesterday = today - timedelta(days=1)
    form = PeriodForm(request.GET or request.POST or None)
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data["start"], form.cleaned_data["end"]
    start = yesterday.replace(day=1) if yesterday.day > 1 else (yesterday - timedelta(days=1)).replace(day=1)
    return PeriodForm(initial={"start": start, "end": yesterday}), start, yesterday


@operator_required
@require_safe
def overview(request: HttpRequest) -> HttpResponse:
    """Everyone's earnings (help-sellers and leaders), what the period would settle, and the statements."""
    form, start, end = _period(request)
    brand = staff_brands(request.user).first()
    defaults = sellers.brand_defaults(brand.pk) if brand else None
    campaigns = (
        for_staff(Campaign.objects.all(), user=request.user)
        .filter(help_sellers__isnull=False)
        .distinct()
        .order_by("-closes_at")[:20]
    )
    rows = selectors.payee_rows(period_start=start, period_end=end, brand_ids=staff_brand_ids(request.user))
    return render(
        request,
        "ops/fission/overview.html",
        {
            "period_form": form,
            "start": start,
            "end": end,
            "rows": rows,
            "has_period_entries": any(row.in_period_entries for row in rows),
            "statements": Statement.objects.select_related("payee", "settled_by")[:50]
            if _settles_statements(request)
            else [],
            "settles_statements": _settles_statements(request),
            "brand": brand,
            "defaults_form": DefaultsForm(
                initial={
                    "attribution_days": defaults.attribution_days,
                    "leader_rate": _bp_text(defaults.leader_rate_bp),
                }
            )
            if defaults
            else None,
            "campaigns": campaigns,
        },
    )


@operator_required
@require_POST
def settle(request: HttpRequest) -> HttpResponse:
    """Settle the period for the chosen people (one statement each); each refusal is named, the rest go on."""
    form = PeriodForm(request.POST)
    url = reverse("fission:ops-overview")
    if not form.is_valid():
        messages.error(request, _("Choose the period to settle; nothing was settled."))
        return redirect(url)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    if not _settles_statements(request):
        messages.error(request, _("Statements cover every brand: an installation-wide operator settles them."))
        return redirect(url)
    ids = [int(v) for v in request.POST.getlist("payee") if v.isdigit()]
    made = 0
    for payee in User.objects.filter(pk__in=ids).order_by("pk"):
        try:
            result = statement_settle(payee=payee, period_start=start, period_end=end, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            continue
        made += result.is_new
    if made:
        messages.success(
            request, ngettext("%(count)s statement settled.", "%(count)s statements settled.", made) % {"count": made}
        )
    return redirect(f"{url}?start={start:%Y-%m-%d}&end={end:%Y-%m-%d}")


@operator_required
@require_POST
def defaults_save(request: HttpRequest) -> HttpResponse:
    form = DefaultsForm(request.POST)
    brand = staff_brands(request.user).first()
    if brand is None or not form.is_valid():
        messages.error(request, _("Please correct the defaults; nothing was saved."))
    else:
        try:
            sellers.brand_defaults_set(
                brand=brand,
                attribution_days=form.cleaned_data["attribution_days"],
                leader_rate_bp=form.cleaned_data["leader_rate"] or 0,
                by=request.user,
            )
            messages.success(request, _("Commission defaults saved."))
        except DomainError as exc:
            messages.error(request, exc.message)
    return redirect("fission:ops-overview")


@operator_required
@require_safe
def statement_download(request: HttpRequest, pk: int) -> HttpResponse:
    statements = Statement.objects.all() if _settles_statements(request) else Statement.objects.none()
    statement = get_object_or_404(statements.select_related("payee"), pk=pk)
    response = statement_response(statement)
    audit.record("fission.statement_exported", actor=request.user, target=statement, brand_id=request.user.brand_id)
    return response
