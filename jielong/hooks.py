"""What jielong pages show from the fulfilment app, without importing it.

``fulfillment`` sits above ``jielong`` in the layering, yet a member's order page shows where the order is
(its pickup code and QR, its state) and the operator's campaign page links to the campaign's delivery day.
The fulfillment app registers panel providers here in its ``AppConfig.ready``; each returns an HTML
fragment (already rendered, already escaped) or "" when it has nothing to show. Until one registers, the
pages simply show no panel.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

# (request, order) -> HTML for the member's order page
MemberOrderPanel = Callable[[HttpRequest, object], str]
# (request, campaign) -> HTML for the operator's campaign page
OpsCampaignPanel = Callable[[HttpRequest, object], str]
# (request, orders) -> {order pk: HTML} for the member's order list (我的订单): one call for the whole list
MemberOrderSummaries = Callable[[HttpRequest, list], dict[int, str]]

_member_order_panels: list[MemberOrderPanel] = []
_ops_campaign_panels: list[OpsCampaignPanel] = []
_member_order_summaries: list[MemberOrderSummaries] = []
# (request, campaign) -> HTML for the member's campaign page (the feedback app's reviews, as social proof;
# the highlights app's replays). The same for every member who may open the page: it is cached.
MemberCampaignPanel = Callable[[HttpRequest, object], str]
_member_campaign_panels: list[MemberCampaignPanel] = []

# The member campaign page's panels are kept this long (per campaign and language): the page is opened
# again and again in the join storm after 发布接龙, and the reviews' two queries were a third of its reads.
PANELS_SECONDS = 60
_PANELS_GENERATION = "jielong:campaign-panels:generation"


def register_member_campaign_panel(provider: MemberCampaignPanel, *, changes_with: tuple = ()) -> None:
    """``changes_with``: the models whose saves and deletions change what the provider shows (a review
    posted or hidden, a clip published): every cached panel is dropped once such a change commits."""
    if provider not in _member_campaign_panels:
        _member_campaign_panels.append(provider)
    for model in changes_with:
        post_save.connect(_panels_changed, sender=model, dispatch_uid=f"jielong.panels.save.{model._meta.label}")
        post_delete.connect(_panels_changed, sender=model, dispatch_uid=f"jielong.panels.delete.{model._meta.label}")


def member_campaign_panels(request: HttpRequest, campaign) -> SafeString:
    """The registered panels of the member campaign page, from the cache when there (not for a draft's
    preview; Redis down: rendered every time)."""
    from .models import Campaign
    from .page_parts import _cache_call

    def render() -> str:
        return "".join(provider(request, campaign) for provider in _member_campaign_panels)

    if campaign.status == Campaign.Status.DRAFT or not _member_campaign_panels:
        return mark_safe(render())
    generation = _cache_call(cache.get, _PANELS_GENERATION)
    stamp = campaign.created_at.isoformat() if campaign.created_at else ""
    key = f"jielong:campaign-panels:{campaign.pk}:{stamp}:{get_language()}:{generation or 0}"
    html = _cache_call(cache.get, key)
    if html is None:
        html = render()
        _cache_call(cache.set, key, html, PANELS_SECONDS)
    return mark_safe(html)


def _panels_changed(sender, **kwargs) -> None:
    """A new generation of every campaign's panels (the old entries expire): now, and again once the change
    commits (a page rendered in between may have cached the old)."""
    from .page_parts import _cache_call

    def bump() -> None:
        if _cache_call(cache.add, _PANELS_GENERATION, 1, None) is False:
            _cache_call(cache.incr, _PANELS_GENERATION)

    bump()
    transaction.on_commit(bump)


def register_member_order_panel(provider: MemberOrderPanel) -> None:
    if provider not in _member_order_panels:
        _member_order_panels.append(provider)


def register_ops_campaign_panel(provider: OpsCampaignPanel) -> None:
    if provider not in _ops_campaign_panels:
        _ops_campaign_panels.append(provider)


def register_member_order_summaries(provider: MemberOrderSummaries) -> None:
    if provider not in _member_order_summaries:
        _member_order_summaries.append(provider)


def member_order_panels(request: HttpRequest, order) -> SafeString:
    return mark_safe("".join(provider(request, order) for provider in _member_order_panels))


def ops_campaign_panels(request: HttpRequest, campaign) -> SafeString:
    return mark_safe("".join(provider(request, campaign) for provider in _ops_campaign_panels))


def member_order_summaries(request: HttpRequest, orders: list) -> dict[int, SafeString]:
    """A line per order for the member's order list (where it is, the pickup code), keyed by order pk."""
    merged: dict[int, str] = {}
    for provider in _member_order_summaries:
        for pk, html in provider(request, orders).items():
            merged[pk] = merged.get(pk, "") + html
    return {pk: mark_safe(html) for pk, html in merged.items()}


# --- the campaign page and the operator's order lists ---------------------------------------------------

# (request, campaign) -> None, when a member opens a campaign page (GET): the fission app records a touch when
# the page was opened through a help-seller's link (its ``?hs=`` / ``?ref=``). It must be cheap without them.
CampaignPageOpened = Callable[[HttpRequest, object], None]
_campaign_page_opened: list[CampaignPageOpened] = []
# (request, orders) -> {order pk: HTML} for the operator's order lists (the help-seller an order came through)
OpsOrderSummaries = Callable[[HttpRequest, list], dict[int, str]]
_ops_order_summaries: list[OpsOrderSummaries] = []


def register_campaign_page_opened(handler: CampaignPageOpened) -> None:
    if handler not in _campaign_page_opened:
        _campaign_page_opened.append(handler)


def campaign_page_opened(request: HttpRequest, campaign) -> None:
    for handler in _campaign_page_opened:
        handler(request, campaign)


def register_ops_order_summaries(provider: OpsOrderSummaries) -> None:
    if provider not in _ops_order_summaries:
        _ops_order_summaries.append(provider)


def ops_order_summaries(request: HttpRequest, orders: list) -> dict[int, SafeString]:
    merged: dict[int, str] = {}
    for provider in _ops_order_summaries:
        for pk, html in provider(request, orders).items():
            merged[pk] = merged.get(pk, "") + html
    return {pk: mark_safe(html) for pk, html in merged.items()}


# --- the ledger ---------------------------------------------------------------------------------------

# (refund entries just written) -> None, called inside ``ledger.refund_issue``'s transaction, holding the
# order's lock: the fission app takes back the commissions earned on the refunded lines (clawback).
RefundWritten = Callable[[list], None]
_refund_written: list[RefundWritten] = []


def register_refund_written(handler: RefundWritten) -> None:
    if handler not in _refund_written:
        _refund_written.append(handler)


def refund_written(entries: list) -> None:
    if entries:
        for handler in _refund_written:
            handler(entries)
