"""Member pages of a jielong (mobile, 375 px): the campaign page, join / change / cancel, share poster.

Views parse the form and call one service; every refusal is a ``DomainError`` whose message is
shown on the re-rendered page, with nothing changed.
"""

from __future__ import annotations

import re
import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from community import services as community_services
from community.models import Membership
from groupbuy import clock, posters
from groupbuy.access import member_required
from groupbuy.errors import DomainError
from groupbuy.money import format_fen

from . import access, hooks, page_parts, payments, selectors, services
from .join import rules
from .models import Campaign, CampaignItem, Order

PAGE_JOINERS = 50  # entries shown on the campaign page; the full list has pages of its own
JOINERS_PER_PAGE = 200


def progress_line(*, joined: int, still_needed: int, max_orders: int | None = None) -> str:
    """The line a leader pastes into the WeChat group: "已接龙 30 人，还差 20 人成团". It counts people,
    never what is left of an order cap (that read like stock)."""
    if still_needed:
        return _("%(joined)s joined, %(needed)s more to form the group") % {"joined": joined, "needed": still_needed}
    return _("%(joined)s joined — the group is formed!") % {"joined": joined}


def member_status_label(campaign: Campaign) -> str:
    """The words members use: 进行中 / 已成团 / 已结束 (a draft seen in the preview reads as open)."""
    if campaign.status in (Campaign.Status.DRAFT, Campaign.Status.OPEN):
        return _("In progress")
    if campaign.status == Campaign.Status.FORMED:
        return _("Formed")
    return _("Ended")


def perk_title(campaign: Campaign) -> str:
    """The perk as one phrase: "前30名：签名绘本", or the description alone when it already names the
    places ("前30名接龙享9折"), so the number is never said twice."""
    description = campaign.perk_description.strip()
    if not description:
        return _("First %(limit)s") % {"limit": campaign.perk_limit}
    if re.search(rf"(?<!\d){campaign.perk_limit}(?!\d)", description):
        return description
    return _("First %(limit)s: %(perk)s") % {"limit": campaign.perk_limit, "perk": description}


def _campaign_for_member(request: HttpRequest, pk: int) -> tuple[Campaign, Membership]:
    """The campaign and the membership a join would use, if this member may see it
    (``access.member_campaign_access``): 404 for unknown or draft campaigns, 403 for outsiders; the page
    itself is for members, so staff need a membership too."""
    try:
        return access.member_campaign_access(campaign_id=pk, user=request.user)
    except access.CampaignNotFound as exc:
        raise Http404(exc.message) from None
    except access.CampaignForbidden as exc:
        raise PermissionDenied(exc.message) from None


def _share_url(request: HttpRequest, campaign: Campaign, membership: Membership) -> str:
    path = reverse("jielong:member-campaign", args=[campaign.pk])
    code = community_services.referral_code(user=request.user, community=membership.community)
    return request.build_absolute_uri(f"{path}?ref={code}" if code else path)


def _items(campaign: Campaign, items: list[CampaignItem] | None = None) -> list[CampaignItem]:
    """The campaign's items with what the page and the poster show of each; ``items``: already read."""
    if items is None:
        items = list(campaign.items.select_related("sku__product").prefetch_related("price_tiers"))
    for item in items:
        # Today's community price (lowered by any tier already reached), and the first-N price.
        item.current_price_fen = item.unit_price_fen(joined=campaign.joined_count, is_perk=False)
        item.show_perk_price = (
            item.perk_price_fen is not None and campaign.perk_left > 0 and item.perk_price_fen < item.current_price_fen
        )
        item.is_sold_out = item.sku.stock <= 0
        # The product's cover (its first photo) stands for the item on the page and the poster.
        item.photo = item.sku.product.image if item.sku.product.image else None
    return items


def _quantity_or_zero(value) -> int:
    """A shown quantity for the running total: whatever was typed, or 0 where it is no number."""
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


def _render_page(
    request: HttpRequest,
    campaign: Campaign,
    membership: Membership,
    *,
    error: str = "",
    posted=None,
    status: int = 200,
    is_preview: bool = False,
) -> HttpResponse:
    """The member page. ``is_preview``: the operator's look at a draft, shown as members will see it
    once open (items, prices, steppers), with nothing that can be sent."""
    # Items, pictures and pickup points are cached across views (page_parts); the stock is read fresh.
    cached_items, pictures, pickup_points = page_parts.page_parts(
        campaign=campaign, community_id=membership.community_id
    )
    items = _items(campaign, cached_items)
    # The member's order lines take their items from the page's own list (no second read of items,
    # SKUs and products: the page is opened again and again during the join storm).
    my_order = selectors.member_campaign_order(campaign_id=campaign.pk, user=request.user, items=items)
    if posted is not None:
        values = {item.pk: posted.get(f"qty_{item.pk}", "") for item in items}
        chosen_point = posted.get("pickup_point", "")
        note = posted.get("note", "")
    elif my_order is not None:
        quantities = {line.item_id: line.quantity for line in my_order.lines.all()}
        values = {item.pk: quantities.get(item.pk, 0) for item in items}
        chosen_point = my_order.pickup_point_id or ""
        note = my_order.note
    else:
        values = {item.pk: 0 for item in items}
        chosen_point = membership.default_pickup_point_id or ""
        note = ""
    mine = {line.item_id: line.quantity for line in my_order.lines.all()} if my_order is not None else {}
    total_fen = 0
    for item in items:
        item.form_value = values[item.pk]
        # What the stepper may reach: the per-member limit, and no more than the stock left plus
        # what this member already holds (the service judges again; this only spares a refusal).
        item.max_quantity = max(min(item.per_member_limit, max(item.sku.stock, 0) + mine.get(item.pk, 0)), 0)
        total_fen += _quantity_or_zero(item.form_value) * item.current_price_fen
    share_url = _share_url(request, campaign, membership)
    is_joinable = is_preview or campaign.is_joinable(at=clock.now(), is_koc=membership.role == Membership.Role.KOC)
    try:
        provider = payments.get_provider(campaign.payment_method)
    except LookupError:
        provider = None
    line = progress_line(joined=campaign.joined_count, still_needed=campaign.still_needed)
    context = {
        "campaign": campaign,
        "membership": membership,
        "is_leader": membership.role == Membership.Role.LEADER,
        "items": items,
        "cover": pictures[0] if pictures else None,
        "pictures": pictures,
        "status_label": member_status_label(campaign),
        "perk_title": perk_title(campaign) if campaign.perk_limit else "",
        "perk_names_limit": bool(campaign.perk_limit) and perk_title(campaign) == campaign.perk_description.strip(),
        "total_fen": total_fen,
        "is_preview": is_preview,
        # The latest entries only: a campaign of 2,000 joiners rendered whole cost ~300 ms a page view in
        # the storm after 发布接龙. The rest is one tap away, on the full list's pages.
        "joiners": selectors.campaign_joiners(campaign_id=campaign.pk, limit=PAGE_JOINERS, items=items),
        "page_joiners": PAGE_JOINERS,
        "my_order": my_order,
        "is_joinable": is_joinable,
        "pickup_points": pickup_points,
        "chosen_point": str(chosen_point),
        "note": note,
        "idempotency_key": request.POST.get("idempotency_key") if posted is not None else uuid.uuid4().hex,
        "error": error,
        "provider": provider,
        "progress_line": line,
        "share_url": share_url,
        "share_text": _share_text(campaign, items, line, share_url),
        "ws_path": f"/ws/jielong/{campaign.pk}/",
        # Reviews of this and earlier jielongs of the same products (registered by the feedback app).
        "campaign_panels": hooks.member_campaign_panels(request, campaign),
    }
    return render(request, "member/jielong/campaign.html", context, status=status)


def _share_text(campaign: Campaign, items: list[CampaignItem], line: str, url: str) -> str:
    """The text a member pastes into the WeChat group: title, prices, perk, progress, link."""
    parts = [f"【{campaign.title}】"]
    for item in items:
        price = _("%(item)s community price %(price)s") % {
            "item": item.sku,
            "price": format_fen(item.current_price_fen),
        }
        parts.append(price)
    if campaign.perk_left and campaign.perk_description:
        parts.append(_("%(perk)s (%(left)s left)") % {"perk": perk_title(campaign), "left": campaign.perk_left})
    parts.append(line)
    parts.append(url)
    return "\n".join(parts)


@member_required
@require_GET
def campaign_page(request: HttpRequest, pk: int) -> HttpResponse:
    campaign, membership = _campaign_for_member(request, pk)
    hooks.campaign_page_opened(request, campaign)  # a help-seller's link (?hs=) counts as a touch (fission)
    return _render_page(request, campaign, membership)


@member_required
def campaign_joiners_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Every entry of the jielong, in pages (接龙名单), for the member who wants more than the latest."""
    campaign, _membership = _campaign_for_member(request, pk)
    page = Paginator(selectors.campaign_joiner_orders(campaign_id=campaign.pk), JOINERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "member/jielong/joiners.html",
        {"campaign": campaign, "page": page, "rows": selectors.joiner_rows(page.object_list)},
    )


@member_required
@require_POST
def campaign_join(request: HttpRequest, pk: int) -> HttpResponse:
    """The join form. Its hidden idempotency key makes a double tap (or a resent form) one order.

    A join is the join call and the redirect: the join itself refuses outsiders, drafts and closed
    jielongs, so the page's access check (and the page) is only read for a refusal. A refusal that says
    the jielong moved on (``rules.MOVED_ON``: sold out, closed…) goes back to the page with its message;
    one of the member's input is shown on the form (400). On PostgreSQL the ASGI fast path
    (``jielong.join.asgi``) answers a successful join and a members' moved-on refusal itself, in the group
    commit of the storm; any other refusal comes on here to be shown, not tried again."""
    try:
        refused = rules.refusal_from_gateway(request)
        if refused is not None:
            raise refused
        result = services.order_join(
            campaign_id=pk,
            user=request.user,
            quantities=rules.quantities_from_form(request.POST),
            pickup_point_id=rules.pickup_point_from_form(request.POST),
            note=request.POST.get("note", ""),
            idempotency_key=request.POST.get("idempotency_key", ""),
        )
    except DomainError as exc:
        campaign, membership = _campaign_for_member(request, pk)  # 404 / 403 as the page answers
        if exc.code in rules.MOVED_ON:
            messages.error(request, exc.message)
            return redirect("jielong:member-campaign", pk)
        return _render_page(request, campaign, membership, error=exc.message, posted=request.POST, status=400)
    messages.success(request, _("You are in! Your jielong number is %(seq)s.") % {"seq": result.order.seq})
    return redirect(reverse("jielong:member-campaign", args=[pk]) + "#my-order")


@member_required
@require_POST
def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign, membership = _campaign_for_member(request, pk)
    order = selectors.member_campaign_order(campaign_id=campaign.pk, user=request.user)
    try:
        if order is None:
            raise services.JoinRefused(_("You have no order in this jielong."), code="no_order")
        services.order_update(
            order_id=order.pk,
            user=request.user,
            quantities=rules.quantities_from_form(request.POST),
            pickup_point_id=rules.pickup_point_from_form(request.POST),
            note=request.POST.get("note", ""),
        )
    except DomainError as exc:
        campaign.refresh_from_db()
        return _render_page(request, campaign, membership, error=exc.message, posted=request.POST, status=400)
    messages.success(request, _("Your order was changed."))
    return redirect(reverse("jielong:member-campaign", args=[campaign.pk]) + "#my-order")


@member_required
@require_POST
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    campaign, membership = _campaign_for_member(request, pk)
    order = selectors.member_campaign_order(campaign_id=campaign.pk, user=request.user)
    try:
        if order is None:
            raise services.JoinRefused(_("You have no order in this jielong."), code="no_order")
        services.order_cancel(order_id=order.pk, user=request.user)
    except DomainError as exc:
        campaign.refresh_from_db()
        return _render_page(request, campaign, membership, error=exc.message, status=400)
    messages.success(request, _("Your order was cancelled."))
    return redirect("jielong:member-campaign", pk=campaign.pk)


def poster_for(campaign: Campaign, items: list[CampaignItem], *, qr_url: str) -> posters.Poster:
    """The share poster's content: the campaign's cover, else the first item's product photo (a
    headline on the brand band only when there is neither); every item with its price, the poster
    saying "等 N 件" for those that do not fit."""
    cover = campaign.images.first()
    cover_path = cover.image.path if cover else ""
    if not cover_path:
        photo = next((item.photo for item in items if item.photo), None)
        cover_path = photo.path if photo else ""
    lines = tuple(
        _("%(item)s community price %(price)s") % {"item": item.sku, "price": format_fen(item.current_price_fen)}
        for item in items
    )
    footer = _("Scan to join the jielong")
    if campaign.delivery_note:
        footer = f"{campaign.delivery_note}\n{footer}"
    still = progress_line(joined=campaign.joined_count, still_needed=campaign.still_needed)
    return posters.Poster(
        title=campaign.title,
        qr_url=qr_url,
        subtitle=perk_title(campaign) if campaign.perk_limit and campaign.perk_description else "",
        lines=lines,
        footer=footer,
        cover_path=cover_path,
        headline=_("Community jielong") + "\n" + still,
        more_format=_("…and %(count)s more items"),
    )


def share_poster(campaign: Campaign, *, qr_url: str) -> posters.Poster:
    """The campaign's share poster with a QR code opening ``qr_url`` (a help-seller's link, say)."""
    return poster_for(campaign, _items(campaign), qr_url=qr_url)


@member_required
@require_GET
def campaign_poster(request: HttpRequest, pk: int) -> HttpResponse:
    """A share poster (海报) whose QR code opens the page with this member's referral code."""
    campaign, membership = _campaign_for_member(request, pk)
    poster = poster_for(campaign, _items(campaign), qr_url=_share_url(request, campaign, membership))
    response = FileResponse(posters.render_cached(poster).open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- My order (from "我的订单") ---------------------------------------------------------


def _member_order_or_404(request: HttpRequest, order_id: int):
    order = selectors.member_order(order_id=order_id, user=request.user)
    if order is None:
        raise Http404(_("This order does not exist."))
    return order


def _render_order(request: HttpRequest, order, *, error: str = "", status: int = 200) -> HttpResponse:
    campaign = order.campaign
    is_open = campaign.status in (Campaign.Status.OPEN, Campaign.Status.FORMED) and clock.now() < campaign.closes_at
    is_live = order.status == Order.Status.JOINED
    lines = list(order.lines.all())
    for line in lines:
        line.subtotal_fen = line.unit_price_fen * line.quantity
        line.photo = line.item.sku.product.image or None
    try:
        provider = payments.get_provider(campaign.payment_method)
    except LookupError:
        provider = None
    context = {
        "order": order,
        "campaign": campaign,
        "lines": lines,
        "provider": provider,
        "error": error,
        # The same rules the services apply (order_cancel, order_update); they judge again on POST.
        "may_cancel": is_live and is_open,
        "may_edit": is_live and is_open and order.payment_status == Order.PaymentStatus.UNPAID,
        # Where the order is, its pickup code and QR: registered by the fulfillment app (jielong cannot import it).
        "panels": hooks.member_order_panels(request, order),
    }
    return render(request, "member/jielong/order.html", context, status=status)


@member_required
@require_GET
def order_page(request: HttpRequest, order_id: int) -> HttpResponse:
    """A member's order: items, total, pickup point and its address, payment, and cancel / change
    while the jielong is open."""
    return _render_order(request, _member_order_or_404(request, order_id))


@member_required
@require_POST
def order_page_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _member_order_or_404(request, order_id)
    try:
        services.order_cancel(order_id=order.pk, user=request.user)
    except DomainError as exc:
        order = _member_order_or_404(request, order_id)
        return _render_order(request, order, error=exc.message, status=400)
    messages.success(request, _("Your order was cancelled."))
    return redirect("jielong:member-order", order_id=order.pk)
