"""Operator pages for jielong campaigns: list, builder, campaign page, preview, orders, export."""

from __future__ import annotations

from csp.decorators import csp_replace
from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils.html import linebreaks
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST, require_safe

from catalogue import selectors as catalogue_selectors
from catalogue.models import SKU
from community.access import for_staff
from community.models import Membership
from groupbuy import audit, clock, events
from groupbuy.access import operator_required
from groupbuy.errors import DomainError

from . import builder, hooks, member_views, selectors, services
from . import events as jielong_events
from .exports import all_orders_xlsx, campaign_orders_xlsx
from .forms import (
    AllOrdersFilterForm,
    CampaignForm,
    ImageForm,
    ItemForm,
    ItemFormSet,
    OpenForm,
    OrderFilterForm,
    campaign_input,
)
from .models import Campaign, CampaignImage, Order
from .payments import PROVIDERS

ORDERS_PER_PAGE = 50
MEMBER_PAGE = "member/jielong/campaign.html"


def _campaign_or_404(campaign_id: int, request: HttpRequest) -> Campaign:
    """The campaign in the URL, if it is of a brand this operator may see (404 otherwise, as if none)."""
    campaign = selectors.ops_campaign_detail(campaign_id=campaign_id, viewer=request.user)
    if campaign is None:
        raise Http404
    return campaign


@operator_required
def ops_campaign_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    return render(
        request,
        "ops/campaigns.html",
        {
            "campaigns": selectors.ops_campaigns(status=status, viewer=request.user),
            "statuses": Campaign.Status.choices,
            "status": status if status in Campaign.Status.values else "",
        },
    )


def _builder_page(request: HttpRequest, *, campaign: Campaign | None) -> HttpResponse:
    if request.method == "POST":
        form = CampaignForm(request.POST, viewer=request.user)
        items = ItemFormSet(request.POST, prefix="items", form_kwargs={"viewer": request.user})
        item_errors: list[str] = []
        if form.is_valid() and items.is_valid():
            data = campaign_input(form, items, campaign=campaign)
            try:
                if campaign is None:
                    saved = builder.campaign_create(data=data, by=request.user)
                else:
                    saved = builder.campaign_update(campaign_id=campaign.pk, data=data, by=request.user)
            except builder.CampaignInvalid as exc:
                for key, errors in exc.errors.items():
                    for error in errors:
                        if key in form.fields:
                            form.add_error(key, error)
                        elif key == "items":
                            item_errors.append(error)
                        else:
                            form.add_error(None, error)
            else:
                messages.success(request, _("Campaign saved."))
                return redirect("jielong:ops-campaign", saved.pk)
        messages.error(request, _("Please correct the marked fields; nothing was saved."))
    else:
        item_errors = []
        if campaign is None:
            initial = {"payment_method": next(iter(PROVIDERS))}
            if request.GET.get("live_session", "").isdigit():
                initial["live_session"] = int(request.GET["live_session"])
            form = CampaignForm(initial=initial, viewer=request.user)
            items = ItemFormSet(prefix="items", form_kwargs={"viewer": request.user})
        else:
            form = CampaignForm(initial=CampaignForm.initial_for(campaign), viewer=request.user)
            items = ItemFormSet(
                prefix="items", initial=ItemForm.initial_for(campaign), form_kwargs={"viewer": request.user}
            )
    return render(
        request,
        "ops/jielong/builder.html",
        {
            "campaign": campaign,
            "form": form,
            "items": items,
            "item_errors": item_errors,
            **_builder_catalogue(items, viewer=request.user),
        },
    )


def _builder_catalogue(items, *, viewer) -> dict:
    """What the builder shows from the catalogue: each SKU's product cover (an item's photo is its
    product's), and the suppliers a product can be created for without leaving the page."""
    photos = {
        str(sku_id): default_storage.url(image)
        for sku_id, image in for_staff(SKU.objects.filter(is_active=True), user=viewer, via="product__supplier__brand")
        .exclude(product__image="")
        .values_list("pk", "product__image")
    }
    for item in items.forms:
        value = item["sku"].value()
        item.photo_url = photos.get(str(value or ""), "")
        item.tier_list = item.tier_rows() or [("", "")]
    return {
        "sku_photos": photos,
        "suppliers": list(catalogue_selectors.suppliers(viewer=viewer)),
        "empty_tiers": [("", "")],
    }


@operator_required
def ops_campaign_new(request: HttpRequest) -> HttpResponse:
    return _builder_page(request, campaign=None)


@operator_required
def ops_campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_or_404(campaign_id, request)
    if campaign.status not in builder.EDITABLE:
        messages.error(request, _("A closed campaign can no longer be changed."))
        return redirect("jielong:ops-campaign", campaign.pk)
    return _builder_page(request, campaign=campaign)


@operator_required
def ops_campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_or_404(campaign_id, request)
    return render(
        request,
        "ops/jielong/campaign.html",
        {
            "campaign": campaign,
            "stats": selectors.campaign_stats(campaign=campaign),
            "changes": selectors.campaign_changes(campaign_id=campaign.pk),
            # A planned opening time set in the builder is offered again here; empty means "now".
            "open_form": OpenForm(initial={"opens_at": campaign.opens_at} if campaign.opens_at else None),
            "image_form": ImageForm(),
            "is_editable": campaign.status in builder.EDITABLE,
            "payment": PROVIDERS.get(campaign.payment_method),
            # Panels of the apps above jielong (fulfilment: the campaign's delivery day).
            "panels": hooks.ops_campaign_panels(request, campaign),
        },
    )


@operator_required
@require_POST
def ops_campaign_copy(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_or_404(campaign_id, request)
    copy = builder.campaign_copy(campaign_id=campaign.pk, by=request.user)
    messages.success(request, _("Copied into a new draft. Check the times before opening it."))
    return redirect("jielong:ops-campaign-edit", copy.pk)


@operator_required
@require_POST
def ops_campaign_open(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_or_404(campaign_id, request)
    form = OpenForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("jielong:ops-campaign", campaign.pk)
    try:
        services.campaign_open(campaign=campaign, opens_at=form.cleaned_data.get("opens_at"))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The jielong is open."))
    return redirect("jielong:ops-campaign", campaign.pk)


@operator_required
@require_POST
def ops_campaign_image_add(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_or_404(campaign_id, request)
    form = ImageForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a picture to upload."))
        return redirect("jielong:ops-campaign", campaign.pk)
    try:
        builder.campaign_image_add(campaign_id=campaign.pk, upload=form.cleaned_data["image"], by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Picture added."))
    return redirect("jielong:ops-campaign", campaign.pk)


@operator_required
@require_POST
def ops_campaign_image_remove(request: HttpRequest, campaign_id: int, image_id: int) -> HttpResponse:
    if not CampaignImage.objects.filter(pk=image_id, campaign=_campaign_or_404(campaign_id, request)).exists():
        raise Http404
    try:
        builder.campaign_image_remove(image_id=image_id, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Picture removed."))
    return redirect("jielong:ops-campaign", campaign_id)


@operator_required
def ops_campaign_preview(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The member page at phone width (in a frame), or a simple stand-in while that page does not exist."""
    campaign = _campaign_or_404(campaign_id, request)
    return render(
        request,
        "ops/jielong/preview.html",
        {
            "campaign": campaign,
            "member_page": _member_page_exists(),
            "snapshot": selectors.campaign_snapshot(campaign_id=campaign.pk),
            "payment": PROVIDERS.get(campaign.payment_method),
            "story_html": _story_html(campaign.story),
        },
    )


@operator_required
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": ["'self'"]})  # framed by the preview page of the console (the policy's default: none)
def ops_campaign_preview_frame(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The member page itself, rendered by the member views for a stand-in member of the first target
    community (nothing is saved), so the operator sees exactly what members will see."""
    campaign = _campaign_or_404(campaign_id, request)
    community = campaign.communities.order_by("pk").first()
    if community is None or not _member_page_exists():
        raise Http404
    membership = Membership(user=request.user, community=community, role=Membership.Role.MEMBER)
    return member_views._render_page(request, campaign, membership, is_preview=True)


def _member_page_exists() -> bool:
    try:
        get_template(MEMBER_PAGE)
    except TemplateDoesNotExist:
        return False
    return True


def _story_html(story: str) -> str:
    # Stories saved by the builder are sanitised already; ones typed elsewhere (admin, demo data) may be
    # plain text or unchecked HTML, so clean again on the way out.
    if not story.strip():
        return ""
    return builder.sanitize_story(story if "<" in story else linebreaks(story))


@operator_required
def ops_campaign_orders(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_or_404(campaign_id, request)
    filters = OrderFilterForm(request.GET or None, campaign=campaign)
    cleaned = filters.cleaned_data if filters.is_valid() else {}
    point = cleaned.get("pickup_point")
    orders = selectors.ops_campaign_orders(
        campaign=campaign,
        q=cleaned.get("q") or "",
        status=cleaned.get("status") or "",
        payment=cleaned.get("payment") or "",
        pickup_point_id=point.pk if point else None,
        perk=cleaned.get("perk") or "",
    )
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    _with_summaries(request, page)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "ops/jielong/orders.html",
        {"campaign": campaign, "filters": filters, "page": page, "query": query.urlencode()},
    )


def _with_summaries(request: HttpRequest, page) -> None:
    """Each order of the page gets ``hook_summary``: what higher apps say of it (the help-seller it came through)."""
    page.object_list = list(page.object_list)
    summaries = hooks.ops_order_summaries(request, page.object_list)
    for order in page.object_list:
        order.hook_summary = summaries.get(order.pk, "")


@operator_required
@require_POST
def ops_order_mark_paid(request: HttpRequest, campaign_id: int, order_id: int) -> HttpResponse:
    if not Order.objects.filter(pk=order_id, campaign=_campaign_or_404(campaign_id, request)).exists():
        raise Http404
    try:
        order = services.order_mark_paid(order_id=order_id, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Order #%(seq)s marked paid.") % {"seq": order.seq})
    url = reverse("jielong:ops-campaign-orders", args=[campaign_id])
    # Only the list's filters are carried back, re-encoded, so this cannot redirect anywhere else.
    query = QueryDict(request.POST.get("query", "")).urlencode()
    return redirect(f"{url}?{query}" if query else url)


@operator_required
@require_safe
def ops_campaign_export(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The orders as xlsx, phone numbers masked (names and addresses still leave: an audit entry)."""
    campaign = _campaign_or_404(campaign_id, request)
    response = _xlsx_response(campaign, full_phones=False)
    audit.record("jielong.orders_exported", actor=request.user, target=campaign, brand_id=campaign.brand_id)
    return response


@operator_required
@require_POST
def ops_campaign_export_full_phones(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The orders as xlsx with full phone numbers. A POST (a button with a CSRF token), because it
    writes: full numbers leave the platform, so who took them, and when, is recorded."""
    campaign = _campaign_or_404(campaign_id, request)
    response = _xlsx_response(campaign, full_phones=True)
    with transaction.atomic():
        events.publish(jielong_events.FullPhonesExported(campaign_id=campaign.pk, user_id=request.user.pk))
        audit.record(
            "jielong.orders_exported_full_phones", actor=request.user, target=campaign, brand_id=campaign.brand_id
        )
    return response


def _xlsx_response(campaign: Campaign, *, full_phones: bool) -> HttpResponse:
    content = campaign_orders_xlsx(campaign=campaign, full_phones=full_phones)
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="jielong-{campaign.pk}.xlsx"'
    return response


# --- Orders across campaigns (issue 11 item 6) ----------------------------------------------------


def _all_orders(request: HttpRequest):
    """The filter form and the orders it selects; filters that do not hold select nothing."""
    filters = AllOrdersFilterForm(request.GET or None, viewer=request.user)
    if filters.is_bound and not filters.is_valid():
        return filters, Order.objects.none()
    return filters, selectors.ops_orders(**filters.criteria(), viewer=request.user)


@operator_required
@require_safe
def ops_all_orders(request: HttpRequest) -> HttpResponse:
    """One order list for every campaign: filters, mark paid (one or the ticked ones), xlsx export."""
    filters, orders = _all_orders(request)
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    _with_summaries(request, page)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "ops/jielong/all_orders.html",
        {"filters": filters, "page": page, "query": query.urlencode()},
    )


@operator_required
@require_POST
def ops_all_orders_mark_paid(request: HttpRequest) -> HttpResponse:
    """Mark the ticked orders paid, one service call each; each refusal is named, the rest go on."""
    ids = [int(value) for value in request.POST.getlist("order") if value.isdigit()]
    if not ids:
        messages.error(request, _("Tick the orders to mark paid."))
    done, refused = 0, []
    for order_id in ids:
        if not selectors.orders_for_staff(request.user).filter(pk=order_id).exists():
            continue  # another brand's order: skipped like one that does not exist
        try:
            services.order_mark_paid(order_id=order_id, by=request.user)
        except Order.DoesNotExist:
            continue
        except DomainError as exc:
            refused.append(exc.message)
        else:
            done += 1
    if done:
        messages.success(
            request,
            ngettext("%(count)s order marked paid.", "%(count)s orders marked paid.", done) % {"count": done},
        )
    for message in dict.fromkeys(refused):
        messages.error(request, message)
    url = reverse("jielong:ops-orders")
    query = QueryDict(request.POST.get("query", "")).urlencode()
    return redirect(f"{url}?{query}" if query else url)


@operator_required
@require_safe
def ops_all_orders_export(request: HttpRequest) -> HttpResponse:
    """The list as xlsx, with the same filters (an audit entry: names and phones leave the platform)."""
    filters, orders = _all_orders(request)
    if filters.is_bound and not filters.is_valid():
        messages.error(request, _("Please correct the filters; nothing was exported."))
        return redirect(f"{reverse('jielong:ops-orders')}?{request.GET.urlencode()}")
    response = HttpResponse(
        all_orders_xlsx(orders=orders),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.xlsx"'
    audit.record(
        "jielong.all_orders_exported",
        actor=request.user,
        target=audit.Target(type="jielong.order", label=_("All orders")),
        brand_id=request.user.brand_id,
        after={"filters": {key: value for key, value in request.GET.items() if value}},
    )
    return response
