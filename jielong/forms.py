"""Operator forms for jielong campaigns. They parse what was typed (yuan → fen, tiers text → tiers);
the rules themselves live in ``jielong.builder``, whose messages are put back on these forms."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from catalogue.models import SKU
from community.access import for_staff
from community.models import Community, PickupPoint
from groupbuy.money import fen_to_yuan, yuan_to_fen
from livestream.models import LiveSession

from .builder import CampaignInput, ItemInput, TierInput
from .models import Campaign, Order
from .payments import PROVIDERS

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
PRICE_ERRORS = {
    "min_value": _("Prices must be more than 0 yuan."),
    "max_decimal_places": _("Prices have at most 2 decimal places (fen)."),
    "invalid": _("Enter a price in yuan, e.g. 12.90."),
}


def _datetime_field(label, *, required: bool) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


def _price_field(label, *, required: bool = False) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=9,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages=PRICE_ERRORS,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
    )


class SKUChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: SKU) -> str:
        # Stock lives on the SKU and is shared by every campaign selling it (库存同步): show it where it is chosen.
        return _("%(sku)s (%(code)s) — stock: %(stock)s") % {"sku": obj, "code": obj.code, "stock": obj.stock}


class CampaignForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100)
    story = forms.CharField(
        label=_("Story and selling points"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Simple formatting is kept: <p>, <strong>, <em>, lists and links."),
    )
    live_session = forms.ModelChoiceField(label=_("Live session"), queryset=LiveSession.objects.none(), required=False)
    communities = forms.ModelMultipleChoiceField(
        label=_("Target communities"),
        queryset=Community.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    opens_at = _datetime_field(_("Opens at"), required=False)
    closes_at = _datetime_field(_("Closes at"), required=True)
    koc_early_minutes = forms.IntegerField(
        label=_("KOC early window (minutes)"), min_value=0, max_value=1440, initial=0
    )
    group_threshold = forms.IntegerField(label=_("Members needed to form the group"), min_value=1, initial=10)
    max_orders = forms.IntegerField(label=_("Maximum orders"), min_value=1, required=False)
    perk_limit = forms.IntegerField(label=_("First-N perk places"), min_value=0, initial=0)
    perk_description = forms.CharField(label=_("Perk (gift)"), max_length=200, required=False)
    min_spend = forms.DecimalField(
        label=_("Minimum spend (yuan)"),
        required=False,
        max_digits=9,
        decimal_places=2,
        min_value=Decimal("0"),
        error_messages=PRICE_ERRORS,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )
    delivery_note = forms.CharField(label=_("Delivery or pickup note"), max_length=100, required=False)
    replay_url = forms.URLField(label=_("Live replay link"), required=False, assume_scheme="https")
    payment_method = forms.ChoiceField(label=_("Payment"), choices=())

    def __init__(self, *args, viewer=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the brands staff ``viewer`` may see are offered (and accepted): the campaign's brand is its
        # communities' brand, so a brand's operator creates campaigns only in their own brand.
        sessions = LiveSession.objects.all()
        communities = Community.objects.filter(is_active=True)
        if viewer is not None:
            sessions = for_staff(sessions, user=viewer, via="series__brand")
            communities = for_staff(communities, user=viewer)
        self.fields["live_session"].queryset = sessions.order_by("-scheduled_start")
        self.fields["communities"].queryset = communities.order_by("name")
        self.fields["payment_method"].choices = [(code, p.label) for code, p in PROVIDERS.items()]

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict:
        return {
            "title": campaign.title,
            "story": campaign.story,
            "live_session": campaign.live_session_id,
            "communities": list(campaign.communities.values_list("pk", flat=True)),
            "opens_at": campaign.opens_at,
            "closes_at": campaign.closes_at,
            "koc_early_minutes": campaign.koc_early_minutes,
            "group_threshold": campaign.group_threshold,
            "max_orders": campaign.max_orders,
            "perk_limit": campaign.perk_limit,
            "perk_description": campaign.perk_description,
            "min_spend": fen_to_yuan(campaign.min_spend_fen),
            "delivery_note": campaign.delivery_note,
            "replay_url": campaign.replay_url,
            "payment_method": campaign.payment_method,
        }


class ItemForm(forms.Form):
    sku = SKUChoiceField(label=_("SKU"), queryset=SKU.objects.none(), required=False)
    price = _price_field(_("Community price (yuan)"))
    perk_price = _price_field(_("First-N price (yuan)"))
    per_member_limit = forms.IntegerField(label=_("Limit per member"), min_value=1, initial=10, required=False)
    tiers = forms.CharField(
        label=_("Price tiers"),
        required=False,
        help_text=_("joins=price, e.g. 50=12.90, 100=11.90"),
        widget=forms.HiddenInput,
    )

    def __init__(self, *args, viewer=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        skus = SKU.objects.filter(is_active=True)
        if viewer is not None:
            skus = for_staff(skus, user=viewer, via="product__supplier__brand")
        self.fields["sku"].queryset = skus.select_related("product").order_by("code")

    def tier_rows(self) -> list[tuple[str, str]]:
        """The tier rows the page shows ("从第 N 人起 ¥price"): as posted, else from the stored tiers."""
        if self.is_bound and self._posted_tier_rows() is not None:
            return self._posted_tier_rows()
        text = self.data.get(self.add_prefix("tiers"), "") if self.is_bound else self.initial.get("tiers", "")
        rows = []
        for part in filter(None, (p.strip() for p in (text or "").replace("，", ",").split(","))):
            joins, _sep, price = part.replace("＝", "=").partition("=")
            rows.append((joins.strip(), price.strip()))
        return rows

    def _posted_tier_rows(self) -> list[tuple[str, str]] | None:
        """Rows from the tier fields (``<prefix>-tier_joins`` / ``-tier_price``, one pair a row), or
        None when the page posted none (an older client posts the ``tiers`` text instead)."""
        getlist = getattr(self.data, "getlist", None)
        if getlist is None or self.add_prefix("tier_joins") not in self.data:
            return None
        joins, prices = getlist(self.add_prefix("tier_joins")), getlist(self.add_prefix("tier_price"))
        prices = prices + [""] * (len(joins) - len(prices))
        return [(j.strip(), p.strip()) for j, p in zip(joins, prices, strict=False)]

    def clean_tiers(self) -> tuple[TierInput, ...]:
        rows = self._posted_tier_rows()
        if rows is not None:
            return self._tiers_from_rows(rows)
        text = (self.cleaned_data.get("tiers") or "").replace("，", ",").replace("＝", "=")
        tiers = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            joins, sep, price = part.partition("=")
            try:
                joins_value, price_value = int(joins.strip()), Decimal(price.strip())
            except (ValueError, ArithmeticError):
                joins_value, price_value = 0, None
            if not sep or price_value is None or price_value.as_tuple().exponent < -2 or price_value <= 0:
                raise forms.ValidationError(_("Write tiers as joins=price, e.g. 50=12.90, 100=11.90."))
            tiers.append(TierInput(min_joins=joins_value, price_fen=yuan_to_fen(price_value)))
        return tuple(tiers)

    @staticmethod
    def _tiers_from_rows(rows: list[tuple[str, str]]) -> tuple[TierInput, ...]:
        tiers = []
        for joins, price in rows:
            if not joins and not price:
                continue  # an empty row is no tier
            try:
                joins_value, price_value = int(joins), Decimal(price)
            except (ValueError, ArithmeticError):
                joins_value, price_value = 0, None
            if joins_value < 1 or price_value is None or price_value.as_tuple().exponent < -2 or price_value <= 0:
                raise forms.ValidationError(
                    _("Each price tier needs the join it starts from (1 or more) and a price in yuan, e.g. 12.90.")
                )
            tiers.append(TierInput(min_joins=joins_value, price_fen=yuan_to_fen(price_value)))
        return tuple(tiers)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("sku") is not None and cleaned.get("price") is None and "price" not in self.errors:
            self.add_error("price", _("Enter the community price."))
        typed = any(cleaned.get(name) not in (None, "", ()) for name in ("price", "perk_price", "tiers"))
        if cleaned.get("sku") is None and typed and "sku" not in self.errors:
            self.add_error("sku", _("Choose the SKU these prices are for."))
        return cleaned

    def to_input(self) -> ItemInput | None:
        data = self.cleaned_data
        if not data or data.get("sku") is None:
            return None
        return ItemInput(
            sku_id=data["sku"].pk,
            price_fen=yuan_to_fen(data["price"]),
            perk_price_fen=yuan_to_fen(data["perk_price"]) if data.get("perk_price") is not None else None,
            per_member_limit=data.get("per_member_limit") or 10,
            tiers=data.get("tiers") or (),
        )

    @staticmethod
    def initial_for(campaign: Campaign) -> list[dict]:
        rows = []
        for item in campaign.items.prefetch_related("price_tiers").order_by("position", "pk"):
            rows.append(
                {
                    "sku": item.sku_id,
                    "price": fen_to_yuan(item.price_fen),
                    "perk_price": fen_to_yuan(item.perk_price_fen),
                    "per_member_limit": item.per_member_limit,
                    "tiers": ", ".join(f"{t.min_joins}={fen_to_yuan(t.price_fen)}" for t in item.price_tiers.all()),
                }
            )
        return rows


ItemFormSet = forms.formset_factory(ItemForm, extra=3, max_num=30, absolute_max=30)


def _same_minute(typed, stored):
    """The form shows times to the minute; a time left as shown keeps its stored seconds (no false change)."""
    if typed is not None and stored is not None and typed == stored.replace(second=0, microsecond=0):
        return stored
    return typed


def campaign_input(form: CampaignForm, items: forms.BaseFormSet, *, campaign: Campaign | None = None) -> CampaignInput:
    """The builder's input from two valid forms (``campaign``: the one being edited)."""
    data = form.cleaned_data
    min_spend = data.get("min_spend")
    opens_at, closes_at = data.get("opens_at"), data["closes_at"]
    if campaign is not None:
        opens_at, closes_at = _same_minute(opens_at, campaign.opens_at), _same_minute(closes_at, campaign.closes_at)
    return CampaignInput(
        title=data["title"],
        story=data.get("story") or "",
        live_session_id=data["live_session"].pk if data.get("live_session") else None,
        community_ids=tuple(c.pk for c in data["communities"]),
        items=tuple(entry for entry in (f.to_input() for f in items.forms) if entry is not None),
        opens_at=opens_at,
        closes_at=closes_at,
        koc_early_minutes=data["koc_early_minutes"],
        group_threshold=data["group_threshold"],
        max_orders=data.get("max_orders"),
        perk_limit=data["perk_limit"],
        perk_description=data.get("perk_description") or "",
        min_spend_fen=yuan_to_fen(min_spend) if min_spend is not None else 0,
        delivery_note=data.get("delivery_note") or "",
        replay_url=data.get("replay_url") or "",
        payment_method=data["payment_method"],
    )


class ImageForm(forms.Form):
    image = forms.FileField(label=_("Picture"), widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))


class OpenForm(forms.Form):
    opens_at = _datetime_field(_("Open at (leave empty to open now)"), required=False)


class OrderFilterForm(forms.Form):
    PERK_CHOICES = [("", _("All")), ("yes", _("First-N perk")), ("no", _("No perk"))]

    q = forms.CharField(label=_("Nickname or jielong no."), required=False, max_length=64)
    status = forms.ChoiceField(label=_("Status"), required=False)
    payment = forms.ChoiceField(label=_("Payment status"), required=False)
    pickup_point = forms.ModelChoiceField(label=_("Pickup point"), queryset=PickupPoint.objects.none(), required=False)
    perk = forms.ChoiceField(label=_("Perk"), required=False, choices=PERK_CHOICES)

    def __init__(self, *args, campaign: Campaign, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All")), *Order.Status.choices]
        self.fields["payment"].choices = [("", _("All")), *Order.PaymentStatus.choices]
        self.fields["pickup_point"].queryset = PickupPoint.objects.filter(
            community__in=campaign.communities.all()
        ).order_by("name")


class AllOrdersFilterForm(forms.Form):
    """Filters of the one order list across campaigns (and of its export)."""

    campaign = forms.ModelChoiceField(label=_("Campaign"), queryset=Campaign.objects.none(), required=False)
    community = forms.ModelChoiceField(label=_("Community"), queryset=Community.objects.none(), required=False)
    pickup_point = forms.ModelChoiceField(label=_("Pickup point"), queryset=PickupPoint.objects.none(), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    payment = forms.ChoiceField(label=_("Payment status"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, viewer=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        campaigns, communities, points = Campaign.objects.all(), Community.objects.all(), PickupPoint.objects.all()
        if viewer is not None:  # a brand's operator filters (and picks) only among their brand's
            campaigns = for_staff(campaigns, user=viewer)
            communities = for_staff(communities, user=viewer)
            points = for_staff(points, user=viewer, via="community__brand")
        self.fields["campaign"].queryset = campaigns.exclude(status=Campaign.Status.DRAFT).order_by("-created_at")
        self.fields["community"].queryset = communities.order_by("name")
        self.fields["pickup_point"].queryset = points.select_related("community").order_by("community__name", "name")
        self.fields["status"].choices = [("", _("All")), *Order.Status.choices]
        self.fields["payment"].choices = [("", _("All")), *Order.PaymentStatus.choices]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def criteria(self) -> dict:
        """Keyword arguments for ``selectors.ops_orders`` (none when the filters do not hold)."""
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "campaign_id": data["campaign"].pk if data.get("campaign") else None,
            "community_id": data["community"].pk if data.get("community") else None,
            "pickup_point_id": data["pickup_point"].pk if data.get("pickup_point") else None,
            "status": data.get("status") or "",
            "payment": data.get("payment") or "",
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }
