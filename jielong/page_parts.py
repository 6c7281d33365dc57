"""What the member's campaign page shows that joins do not change, cached for every app process.

The page is opened again and again during the join storm after 发布接龙, while the database is busiest.
Its items (with SKU, product and price tiers), the campaign's pictures and the community's active pickup
points stay as they are while members join, so they come from the cache (Redis, shared by the processes)
for up to ``SECONDS``; the stock, which every join changes, is read fresh on every view.

A change saved through the models (the builder's items, tiers and pictures, a product or SKU saved, a
pickup point) forgets the affected entries at once and again after its commit (see ``connect``); a bulk
``update()`` (the catalogue's photo order, its SKU edits) shows within ``SECONDS``. Entries carry the
campaign's creation time, so a campaign number reused by another database never reads a stranger's entry.
Drafts (the operator's preview) are never cached.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from catalogue.models import SKU, Product
from community.models import PickupPoint

from .models import Campaign, CampaignImage, CampaignItem, PriceTier

SECONDS = 10

logger = logging.getLogger(__name__)


def _cache_call(method, *args):
    """The cache's answer, or None when Redis is unreachable: the page then reads the database (and a
    forgotten entry ends within ``SECONDS`` anyway)."""
    try:
        return method(*args)
    except Exception:
        logger.warning("the member page's cache is unavailable", exc_info=True)
        return None


def _parts_key(campaign_id: int) -> str:
    return f"jielong:page-parts:{campaign_id}"


def _points_key(campaign_id: int, community_id: int) -> str:
    return f"jielong:page-points:{campaign_id}:{community_id}"


def _stamp(campaign: Campaign) -> str:
    return campaign.created_at.isoformat() if campaign.created_at else ""


def _read_items(campaign: Campaign) -> list[CampaignItem]:
    return list(campaign.items.select_related("sku__product").prefetch_related("price_tiers"))


def _read_points(community_id: int) -> list[PickupPoint]:
    return list(PickupPoint.objects.filter(community_id=community_id, is_active=True).order_by("name"))


def page_parts(
    *, campaign: Campaign, community_id: int | None
) -> tuple[list[CampaignItem], list[CampaignImage], list[PickupPoint]]:
    """The campaign's items (each SKU's stock as of now), its pictures, and the active pickup points of
    ``community_id``: from the cache unless missing or the campaign is a draft."""
    if campaign.status == Campaign.Status.DRAFT or not campaign.pk:
        items, pictures = _read_items(campaign), list(campaign.images.all())
        return items, pictures, _read_points(community_id) if community_id else []
    stamp = _stamp(campaign)
    keys = [_parts_key(campaign.pk)] + ([_points_key(campaign.pk, community_id)] if community_id else [])
    found = _cache_call(cache.get_many, keys)
    reachable = found is not None  # no writes to a cache that did not answer (each try waits its timeout)
    found = found or {}
    parts = found.get(keys[0])
    if parts is not None and parts[0] == stamp:
        items, pictures = parts[1], parts[2]
        # The stock changes with every join: read it now (one small query instead of three).
        stock = dict(SKU.objects.filter(pk__in={item.sku_id for item in items}).values_list("pk", "stock"))
        for item in items:
            item.sku.stock = stock.get(item.sku_id, item.sku.stock)
    else:
        items, pictures = _read_items(campaign), list(campaign.images.all())
        if reachable:
            _cache_call(cache.set, keys[0], (stamp, items, pictures), SECONDS)
    points: list[PickupPoint] = []
    if community_id:
        cached = found.get(keys[1])
        if cached is not None and cached[0] == stamp:
            points = cached[1]
        else:
            points = _read_points(community_id)
            if reachable:
                _cache_call(cache.set, keys[1], (stamp, points), SECONDS)
    return items, pictures, points


def forget(*, campaign_ids, community_ids=None) -> None:
    """Drop the cached parts of these campaigns (and their pickup points of ``community_ids``, or of all
    their communities): now, and again once the change commits (a view in between may have cached the old)."""
    campaign_ids = list(campaign_ids)
    if not campaign_ids:
        return
    pairs = Campaign.communities.through.objects.filter(campaign_id__in=campaign_ids)
    if community_ids is not None:
        pairs = pairs.filter(community_id__in=list(community_ids))
    keys = [_parts_key(pk) for pk in campaign_ids] + [
        _points_key(campaign_id, community_id)
        for campaign_id, community_id in pairs.values_list("campaign_id", "community_id")
    ]

    def drop() -> None:
        _cache_call(cache.delete_many, keys)

    drop()
    transaction.on_commit(drop)


def _live_campaigns(**filters) -> list[int]:
    return list(
        Campaign.objects.filter(**filters).exclude(status=Campaign.Status.DRAFT).values_list("pk", flat=True).distinct()
    )


def _item_changed(sender, instance: CampaignItem, **kwargs) -> None:
    forget(campaign_ids=[instance.campaign_id])


def _tier_changed(sender, instance: PriceTier, **kwargs) -> None:
    campaign_id = CampaignItem.objects.filter(pk=instance.item_id).values_list("campaign_id", flat=True).first()
    if campaign_id:
        forget(campaign_ids=[campaign_id])


def _image_changed(sender, instance: CampaignImage, **kwargs) -> None:
    forget(campaign_ids=[instance.campaign_id])


def _sku_changed(sender, instance: SKU, **kwargs) -> None:
    forget(campaign_ids=_live_campaigns(items__sku_id=instance.pk))


def _product_changed(sender, instance: Product, **kwargs) -> None:
    forget(campaign_ids=_live_campaigns(items__sku__product_id=instance.pk))


def _point_changed(sender, instance: PickupPoint, **kwargs) -> None:
    forget(campaign_ids=_live_campaigns(communities__pk=instance.community_id), community_ids=[instance.community_id])


def connect() -> None:
    """Called from ``JielongConfig.ready``."""
    for model, handler in (
        (CampaignItem, _item_changed),
        (PriceTier, _tier_changed),
        (CampaignImage, _image_changed),
        (SKU, _sku_changed),
        (Product, _product_changed),
        (PickupPoint, _point_changed),
    ):
        post_save.connect(handler, sender=model, dispatch_uid=f"jielong.page_parts.{model.__name__}.save")
        post_delete.connect(handler, sender=model, dispatch_uid=f"jielong.page_parts.{model.__name__}.delete")
