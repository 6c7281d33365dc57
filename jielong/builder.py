"""Building jielong campaigns (operator side): create, update, copy (复制团), pictures, change log (操作记录).

Every function validates first and raises ``CampaignInvalid`` (with a message per field) before it
writes anything; the writes of one call happen in one transaction. Counters and status are never set
here — joining, opening and closing belong to ``jielong.services``. Changes to a campaign that is
open or formed are written to ``CampaignChange`` in the same transaction as the change itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial

import nh3
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalogue.models import SKU
from community.models import Brand, Community, User
from groupbuy import audit, clock, events
from groupbuy.errors import DomainError
from groupbuy.images import ImageRejected, clean_image
from groupbuy.money import format_fen
from livestream.models import LiveSession

from . import broadcast
from . import events as jielong_events
from .models import Campaign, CampaignChange, CampaignImage, CampaignItem, OrderLine, PriceTier
from .payments import PROVIDERS

LIVE = (Campaign.Status.OPEN, Campaign.Status.FORMED)
EDITABLE = (Campaign.Status.DRAFT, *LIVE)

MAX_IMAGE_SIDE = 1280
MAX_IMAGES = 9
MAX_UPLOAD_BYTES = 15 * 1024 * 1024

# Rich text the story may keep; everything else (scripts, styles, event handlers) is stripped.
STORY_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "s", "ul", "ol", "li", "h3", "h4", "blockquote", "a"}
STORY_ATTRIBUTES = {"a": {"href"}}


class CampaignInvalid(DomainError):
    """The campaign as entered breaks a rule. ``errors`` maps a field name to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        first = next(iter(errors.values()))[0]
        super().__init__(first, code="invalid")
        self.errors = errors


@dataclass(frozen=True)
class TierInput:
    min_joins: int
    price_fen: int


@dataclass(frozen=True)
class ItemInput:
    sku_id: int
    price_fen: int
    perk_price_fen: int | None = None
    per_member_limit: int = 10
    tiers: tuple[TierInput, ...] = ()


@dataclass(frozen=True)
class CampaignInput:
    """Everything an operator sets on a campaign. Money in fen, times aware."""

    title: str
    closes_at: datetime
    community_ids: tuple[int, ...]
    items: tuple[ItemInput, ...]
    story: str = ""
    opens_at: datetime | None = None
    perk_limit: int = 0
    perk_description: str = ""
    group_threshold: int = 1
    max_orders: int | None = None
    min_spend_fen: int = 0
    koc_early_minutes: int = 0
    delivery_note: str = ""
    replay_url: str = ""
    payment_method: str = "pay_at_pickup"
    live_session_id: int | None = None
    # Filled in by validation: the SKUs by pk, so writes need not read them again.
    skus: dict[int, SKU] = field(default_factory=dict, compare=False, repr=False)


# Plain fields copied from the input onto the campaign, in the order the change log lists them.
SCALAR_FIELDS = (
    "title",
    "story",
    "live_session_id",
    "opens_at",
    "closes_at",
    "koc_early_minutes",
    "group_threshold",
    "max_orders",
    "perk_limit",
    "perk_description",
    "min_spend_fen",
    "delivery_note",
    "replay_url",
    "payment_method",
)


def sanitize_story(html: str) -> str:
    """Keep simple formatting (paragraphs, bold, lists, links); drop anything that could run or restyle."""
    return nh3.clean(
        html or "",
        tags=STORY_TAGS,
        attributes=STORY_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
    ).strip()


def _add(errors: dict[str, list[str]], key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def _validate(*, data: CampaignInput, campaign: Campaign | None, now: datetime) -> dict[str, list[str]]:
    """Check every rule; return the messages per field (empty when the input is good)."""
    errors: dict[str, list[str]] = {}
    if not data.title.strip():
        _add(errors, "title", _("Give the campaign a title."))
    elif len(data.title.strip()) > 100:
        _add(errors, "title", _("The title can be at most 100 characters."))

    if not data.community_ids:
        _add(errors, "communities", _("Choose at least one target community."))
    elif Community.objects.filter(pk__in=set(data.community_ids), is_active=True).count() != len(
        set(data.community_ids)
    ):
        _add(errors, "communities", _("One of the chosen communities does not exist or is inactive."))

    # One brand per campaign: its communities, its live session and its items' catalogue.
    brand_ids = set(Community.objects.filter(pk__in=set(data.community_ids)).values_list("brand_id", flat=True))
    brand_id = campaign.brand_id if campaign is not None else next(iter(brand_ids), None)
    if brand_ids - {brand_id}:
        _add(errors, "communities", _("Choose communities of one brand only: the campaign's brand."))

    session = LiveSession.objects.filter(pk=data.live_session_id).values("series__brand_id").first()
    if data.live_session_id is not None and session is None:
        _add(errors, "live_session", _("That live session does not exist."))
    elif session is not None and brand_id is not None and session["series__brand_id"] != brand_id:
        _add(errors, "live_session", _("That live session belongs to another brand."))

    if data.payment_method not in PROVIDERS:
        _add(errors, "payment_method", _("Choose a payment method."))

    if data.opens_at is not None and data.closes_at <= data.opens_at:
        _add(errors, "closes_at", _("The closing time must be after the opening time."))
    elif data.closes_at <= now and (campaign is None or campaign.closes_at != data.closes_at):
        _add(errors, "closes_at", _("The closing time must be in the future."))

    if data.group_threshold < 1:
        _add(errors, "group_threshold", _("At least one member is needed to form the group."))
    if data.max_orders is not None and data.max_orders < data.group_threshold:
        _add(errors, "max_orders", _("The maximum cannot be lower than the group threshold."))
    if data.perk_limit < 0:
        _add(errors, "perk_limit", _("The number of perk places cannot be negative."))
    if data.min_spend_fen < 0:
        _add(errors, "min_spend", _("The minimum spend cannot be negative."))
    if not 0 <= data.koc_early_minutes <= 24 * 60:
        _add(errors, "koc_early_minutes", _("The KOC early window must be between 0 and 1440 minutes."))
    if data.replay_url and not data.replay_url.startswith(("http://", "https://")):
        _add(errors, "replay_url", _("The replay link must start with http:// or https://."))

    if campaign is not None and campaign.status in LIVE:
        if data.perk_limit < campaign.perk_taken:
            _add(
                errors,
                "perk_limit",
                _("%(taken)s perk places are already taken; the limit cannot go below that.")
                % {"taken": campaign.perk_taken},
            )
        if data.max_orders is not None and data.max_orders < campaign.joined_count:
            _add(
                errors,
                "max_orders",
                _("%(joined)s members have already joined; the maximum cannot go below that.")
                % {"joined": campaign.joined_count},
            )

    _validate_items(data=data, campaign=campaign, brand_id=brand_id, errors=errors)
    return errors


def _validate_items(
    *, data: CampaignInput, campaign: Campaign | None, brand_id: int | None, errors: dict[str, list[str]]
) -> None:
    if not data.items:
        _add(errors, "items", _("Add at least one item."))
        return
    sku_ids = [item.sku_id for item in data.items]
    if len(set(sku_ids)) != len(sku_ids):
        _add(errors, "items", _("Each SKU can be offered only once per campaign."))
    skus = SKU.objects.select_related("product__supplier").in_bulk(set(sku_ids))
    data.skus.clear()
    data.skus.update(skus)
    for item in data.items:
        sku = skus.get(item.sku_id)
        if sku is None or not sku.is_active:
            _add(errors, "items", _("One of the chosen SKUs does not exist or is inactive."))
            continue
        label = {"item": str(sku)}
        if brand_id is not None and sku.product.supplier.brand_id != brand_id:
            _add(errors, "items", _("%(item)s is in another brand's catalogue.") % label)
        if item.price_fen < 1:
            _add(errors, "items", _("%(item)s: the community price must be more than 0.") % label)
        if item.perk_price_fen is not None:
            if item.perk_price_fen < 1:
                _add(errors, "items", _("%(item)s: the first-N price must be more than 0.") % label)
            elif item.perk_price_fen > item.price_fen:
                _add(
                    errors, "items", _("%(item)s: the first-N price cannot be higher than the community price.") % label
                )
        if item.per_member_limit < 1:
            _add(errors, "items", _("%(item)s: the limit per member must be at least 1.") % label)
        previous_joins, previous_price = 0, item.price_fen
        for tier in sorted(item.tiers, key=lambda t: t.min_joins):
            if tier.min_joins < 1 or tier.min_joins == previous_joins:
                _add(errors, "items", _("%(item)s: each price tier needs its own number of joins (1 or more).") % label)
                break
            if tier.price_fen < 1 or tier.price_fen >= previous_price:
                _add(
                    errors,
                    "items",
                    _("%(item)s: tier prices must fall as the number of joins rises, below the community price.")
                    % label,
                )
                break
            previous_joins, previous_price = tier.min_joins, tier.price_fen
    if campaign is not None:
        kept = set(sku_ids)
        sold = (
            OrderLine.objects.filter(item__campaign=campaign)
            .exclude(item__sku_id__in=kept)
            .values_list("item__sku__product__name", flat=True)
            .distinct()
        )
        for name in sold:
            _add(errors, "items", _("%(item)s already has orders and cannot be removed.") % {"item": name})


# --- Writes ------------------------------------------------------------------------------


def campaign_create(*, data: CampaignInput, by: User, brand: Brand | None = None) -> Campaign:
    """Create a draft campaign with its items, price tiers and target communities.

    Without ``brand`` the campaign belongs to the brand of its first target community."""
    data = _cleaned(data)
    errors = _validate(data=data, campaign=None, now=clock.now())
    if errors:
        raise CampaignInvalid(errors)
    if brand is None:
        brand = Community.objects.select_related("brand").get(pk=min(data.community_ids)).brand
    with transaction.atomic():
        campaign = Campaign.objects.create(
            brand=brand, status=Campaign.Status.DRAFT, **{name: getattr(data, name) for name in SCALAR_FIELDS}
        )
        campaign.communities.set(sorted(set(data.community_ids)))
        _write_items(campaign=campaign, data=data)
    return campaign


def campaign_update(*, campaign_id: int, data: CampaignInput, by: User) -> Campaign:
    """Change a draft, open or formed campaign. On an open or formed one every change is logged;
    lowering the threshold to the joins already in forms the group at once (成团)."""
    data = _cleaned(data)
    now = clock.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status not in EDITABLE:
            raise CampaignInvalid({"__all__": [_("A closed campaign can no longer be changed.")]})
        errors = _validate(data=data, campaign=campaign, now=now)
        if errors:
            raise CampaignInvalid(errors)
        changes = _scalar_changes(campaign=campaign, data=data)
        changes += _community_changes(campaign=campaign, data=data)
        changes += _item_changes(campaign=campaign, data=data)
        is_live = campaign.status in LIVE
        for name in SCALAR_FIELDS:
            setattr(campaign, name, getattr(data, name))
        update_fields = list(SCALAR_FIELDS)
        forms_now = campaign.status == Campaign.Status.OPEN and campaign.joined_count >= campaign.group_threshold
        if forms_now:
            campaign.status = Campaign.Status.FORMED
            campaign.formed_at = now
            update_fields += ["status", "formed_at"]
        if changes and is_live:
            campaign.version += 1
            update_fields.append("version")
        campaign.save(update_fields=update_fields)
        campaign.communities.set(sorted(set(data.community_ids)))
        _write_items(campaign=campaign, data=data)
        _audit_prices(campaign=campaign, changes=changes, by=by)
        if is_live and changes:
            CampaignChange.objects.bulk_create(
                CampaignChange(
                    campaign=campaign, changed_by=by, changed_at=now, field=key, old_value=old, new_value=new
                )
                for key, old, new in changes
            )
            events.publish(
                jielong_events.CampaignChanged(
                    campaign_id=campaign.pk,
                    user_id=by.pk,
                    fields=len(changes),
                    live_session_id=campaign.live_session_id,
                )
            )
            transaction.on_commit(partial(broadcast.snapshot_changed, campaign.pk))
        if forms_now:
            events.publish(jielong_events.GroupFormed(campaign_id=campaign.pk, joined=campaign.joined_count))
    return campaign


def campaign_copy(*, campaign_id: int, by: User) -> Campaign:
    """Copy a campaign (复制团) into a new draft: same offer, items, tiers, pictures and communities;
    no orders, no live session, counters at zero. A deadline already past moves to the same length from now."""
    source = Campaign.objects.get(pk=campaign_id)
    now = clock.now()
    closes_at = source.closes_at
    if closes_at <= now:
        length = closes_at - source.opens_at if source.opens_at and source.opens_at < closes_at else timedelta(days=1)
        closes_at = now + length
    with transaction.atomic():
        copy = Campaign.objects.create(
            brand_id=source.brand_id,
            status=Campaign.Status.DRAFT,
            **{name: getattr(source, name) for name in SCALAR_FIELDS if name not in ("live_session_id", "opens_at")},
        )
        copy.title = (_("Copy of %(title)s") % {"title": source.title})[:100]
        copy.closes_at = closes_at
        copy.save(update_fields=["title", "closes_at"])
        copy.communities.set(source.communities.all())
        for item in source.items.prefetch_related("price_tiers"):
            new_item = CampaignItem.objects.create(
                campaign=copy,
                sku_id=item.sku_id,
                price_fen=item.price_fen,
                perk_price_fen=item.perk_price_fen,
                per_member_limit=item.per_member_limit,
                position=item.position,
            )
            PriceTier.objects.bulk_create(
                PriceTier(item=new_item, min_joins=tier.min_joins, price_fen=tier.price_fen)
                for tier in item.price_tiers.all()
            )
        # The stored files are immutable (a removed picture is deleted only from its own row), so they can be shared.
        CampaignImage.objects.bulk_create(
            CampaignImage(campaign=copy, image=image.image.name, width=image.width, height=image.height, position=i)
            for i, image in enumerate(source.images.all())
        )
        events.publish(jielong_events.CampaignCopied(campaign_id=copy.pk, user_id=by.pk, source_id=source.pk))
    return copy


def campaign_image_add(*, campaign_id: int, upload, by: User) -> CampaignImage:
    """Add a picture: rotated upright, shrunk to at most 1280 px and saved without EXIF (GPS, camera)."""
    try:
        cleaned = clean_image(upload, max_side=MAX_IMAGE_SIDE, max_bytes=MAX_UPLOAD_BYTES)
    except ImageRejected as exc:
        raise CampaignInvalid({"image": [exc.message]}) from None
    content, extension, width, height = cleaned.content, cleaned.extension, cleaned.width, cleaned.height
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status not in EDITABLE:
            raise CampaignInvalid({"image": [_("A closed campaign can no longer be changed.")]})
        count = campaign.images.count()
        if count >= MAX_IMAGES:
            raise CampaignInvalid(
                {"image": [_("A campaign can have at most %(count)s pictures.") % {"count": MAX_IMAGES}]}
            )
        image = CampaignImage(campaign=campaign, position=count, width=width, height=height)
        image.image.save(f"{campaign.pk}-{uuid.uuid4().hex[:16]}.{extension}", ContentFile(content), save=False)
        image.save()
        if campaign.status in LIVE:
            CampaignChange.objects.create(
                campaign=campaign, changed_by=by, field="images", old_value="", new_value=image.image.name
            )
    return image


def campaign_image_remove(*, image_id: int, by: User) -> None:
    """Remove a picture from its campaign (the file is shared with copies, so it stays in storage)."""
    with transaction.atomic():
        image = CampaignImage.objects.select_related("campaign").get(pk=image_id)
        campaign = Campaign.objects.select_for_update().get(pk=image.campaign_id)
        if campaign.status not in EDITABLE:
            raise CampaignInvalid({"image": [_("A closed campaign can no longer be changed.")]})
        if campaign.status in LIVE:
            CampaignChange.objects.create(
                campaign=campaign, changed_by=by, field="images", old_value=image.image.name, new_value=""
            )
        image.delete()


# --- Helpers ------------------------------------------------------------------------------


def _cleaned(data: CampaignInput) -> CampaignInput:
    return replace(
        data,
        title=data.title.strip(),
        story=sanitize_story(data.story),
        perk_description=data.perk_description.strip(),
        delivery_note=data.delivery_note.strip(),
        replay_url=data.replay_url.strip(),
        community_ids=tuple(data.community_ids),
        items=tuple(data.items),
        skus={},
    )


def _write_items(*, campaign: Campaign, data: CampaignInput) -> None:
    existing = {item.sku_id: item for item in CampaignItem.objects.filter(campaign=campaign)}
    wanted = {item.sku_id for item in data.items}
    CampaignItem.objects.filter(campaign=campaign).exclude(sku_id__in=wanted).delete()
    for position, entry in enumerate(data.items):
        item = existing.get(entry.sku_id) or CampaignItem(campaign=campaign, sku_id=entry.sku_id)
        item.price_fen = entry.price_fen
        item.perk_price_fen = entry.perk_price_fen
        item.per_member_limit = entry.per_member_limit
        item.position = position
        item.save()
        current = sorted((t.min_joins, t.price_fen) for t in item.price_tiers.all()) if item.pk else []
        target = sorted((t.min_joins, t.price_fen) for t in entry.tiers)
        if current != target:
            PriceTier.objects.filter(item=item).delete()
            PriceTier.objects.bulk_create(PriceTier(item=item, min_joins=j, price_fen=p) for j, p in target)


_PRICE_FIELDS = {"price_fen": "price", "perk_price_fen": "perk price", "price_tiers": "tiers"}


def _audit_prices(*, campaign: Campaign, changes: list[tuple[str, str, str]], by: User) -> None:
    """A change to an item's prices (community price, first-N price, tiers) is an audit entry for the campaign."""
    before, after = {}, {}
    for key, old, new in changes:
        parts = key.split("|")
        if len(parts) == 3 and parts[0] == "items" and parts[2] in _PRICE_FIELDS:
            name = f"{parts[1]} · {_PRICE_FIELDS[parts[2]]}"
            before[name], after[name] = old, new
    if before:
        audit.record(
            "jielong.item_price_changed",
            actor=by,
            target=campaign,
            brand_id=campaign.brand_id,
            before=before,
            after=after,
        )


def _show(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def _yuan(fen: int | None) -> str:
    return format_fen(fen, empty="—")


def _scalar_changes(*, campaign: Campaign, data: CampaignInput) -> list[tuple[str, str, str]]:
    changes = []
    for name in SCALAR_FIELDS:
        old, new = getattr(campaign, name), getattr(data, name)
        if old == new:
            continue
        if name == "min_spend_fen":
            changes.append((name, _yuan(old), _yuan(new)))
        elif name == "live_session_id":
            titles = dict(LiveSession.objects.filter(pk__in=[old or 0, new or 0]).values_list("pk", "title"))
            changes.append((name, _show(titles.get(old)), _show(titles.get(new))))
        else:
            changes.append((name, _show(old), _show(new)))
    return changes


def _community_changes(*, campaign: Campaign, data: CampaignInput) -> list[tuple[str, str, str]]:
    old = sorted(campaign.communities.values_list("name", flat=True))
    new = sorted(Community.objects.filter(pk__in=data.community_ids).values_list("name", flat=True))
    return [] if old == new else [("communities", "、".join(old), "、".join(new))]


def _tiers_text(tiers: Sequence[tuple[int, int]]) -> str:
    return "; ".join(f"≥{joins}: {_yuan(price)}" for joins, price in sorted(tiers)) or "—"


def _item_changes(*, campaign: Campaign, data: CampaignInput) -> list[tuple[str, str, str]]:
    existing = {
        item.sku_id: item
        for item in CampaignItem.objects.filter(campaign=campaign)
        .select_related("sku__product")
        .prefetch_related("price_tiers")
    }
    changes = []
    for entry in data.items:
        item = existing.pop(entry.sku_id, None)
        label = str(item.sku if item else data.skus[entry.sku_id])
        if item is None:
            changes.append((f"items|{label}|added", "—", _yuan(entry.price_fen)))
            continue
        if item.price_fen != entry.price_fen:
            changes.append((f"items|{label}|price_fen", _yuan(item.price_fen), _yuan(entry.price_fen)))
        if item.perk_price_fen != entry.perk_price_fen:
            changes.append((f"items|{label}|perk_price_fen", _yuan(item.perk_price_fen), _yuan(entry.perk_price_fen)))
        if item.per_member_limit != entry.per_member_limit:
            changes.append((f"items|{label}|per_member_limit", str(item.per_member_limit), str(entry.per_member_limit)))
        old_tiers = [(t.min_joins, t.price_fen) for t in item.price_tiers.all()]
        new_tiers = [(t.min_joins, t.price_fen) for t in entry.tiers]
        if sorted(old_tiers) != sorted(new_tiers):
            changes.append((f"items|{label}|price_tiers", _tiers_text(old_tiers), _tiers_text(new_tiers)))
    for item in existing.values():
        changes.append((f"items|{item.sku}|removed", _yuan(item.price_fen), "—"))
    return changes
