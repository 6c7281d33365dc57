"""Operator forms for the catalogue: they parse what was typed (yuan → fen, spec rows → a dict); the rules
live in ``catalogue.services``, whose messages are put back on these forms."""

from __future__ import annotations

from datetime import time

from django import forms
from django.utils.translation import gettext_lazy as _

from groupbuy.money import fen_to_yuan, yuan_to_fen

from .models import SKU, Product, Supplier
from .services import MAX_LEAD_TIME_DAYS, MAX_UNITS_PER_PACK, ProductInput, SKUInput, SupplierInput

PRICE_ERRORS = {
    "min_value": _("Prices cannot be negative."),
    "max_decimal_places": _("Prices have at most 2 decimal places (fen)."),
    "invalid": _("Enter a price in yuan, e.g. 12.90."),
}
SPEC_ROWS = 3


def _price(label, *, required: bool) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=0,
        max_digits=9,
        decimal_places=2,
        error_messages=PRICE_ERRORS,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


class SupplierForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)
    region = forms.CharField(label=_("Region"), max_length=64, required=False)
    contact_name = forms.CharField(label=_("Contact"), max_length=32, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=20, required=False)
    story = forms.CharField(label=_("Story"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    lead_time_days = forms.IntegerField(
        label=_("Lead time (days)"),
        required=False,
        initial=1,
        min_value=1,
        max_value=MAX_LEAD_TIME_DAYS,
        help_text=_("Days from the order to the delivery: 1 = ordered today, delivered tomorrow."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    cutoff_time = forms.TimeField(
        label=_("Cut-off for next-day delivery"),
        required=False,
        initial=time(22, 0),
        help_text=_("Orders after this time go into the next day's pick list."),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )

    FIELDS = ("name", "region", "contact_name", "contact_phone", "story", "lead_time_days", "cutoff_time")

    @classmethod
    def for_supplier(cls, supplier: Supplier) -> SupplierForm:
        return cls(initial={f: getattr(supplier, f) for f in cls.FIELDS})

    def to_input(self) -> SupplierInput:
        return SupplierInput(**self.cleaned_data)


class ProductForm(forms.Form):
    supplier = forms.ModelChoiceField(label=_("Supplier"), queryset=Supplier.objects.none(), empty_label=None)
    name = forms.CharField(label=_("Name"), max_length=64)
    storage = forms.ChoiceField(label=_("Storage"), choices=Product.StorageType.choices)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    is_active = forms.BooleanField(label=_("On sale"), required=False, initial=True)

    def __init__(self, *args, suppliers, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = suppliers

    @staticmethod
    def initial_for(product: Product) -> dict:
        return {
            "supplier": product.supplier_id,
            "name": product.name,
            "storage": product.storage,
            "description": product.description,
            "is_active": product.is_active,
        }

    def to_input(self) -> ProductInput:
        data = self.cleaned_data
        return ProductInput(
            name=data["name"], storage=data["storage"], description=data["description"], is_active=data["is_active"]
        )


class SKUForm(forms.Form):
    code = forms.CharField(label=_("SKU code"), max_length=32, help_text=_("e.g. EGG-30"))
    unit = forms.CharField(label=_("Unit"), max_length=8, required=False, help_text=_("e.g. 袋, 盒, 斤"))
    price = _price(_("Price (yuan)"), required=True)
    cost = _price(_("Cost (yuan)"), required=False)
    stock = forms.IntegerField(label=_("Opening stock"), min_value=0, initial=0)
    max_per_member = forms.IntegerField(label=_("Limit per member"), min_value=1, required=False)
    is_active = forms.BooleanField(label=_("On sale"), required=False, initial=True)
    # Fulfilment facts: the zone picks the van, the pack gives the crates per stop, the weight the load.
    zone = forms.ChoiceField(label=_("Temperature zone"), choices=Product.StorageType.choices, required=False)
    pack_unit = forms.CharField(label=_("Pack"), max_length=8, required=False, help_text=_("e.g. 箱, 筐"))
    units_per_pack = forms.IntegerField(
        label=_("Units per pack"), min_value=1, max_value=MAX_UNITS_PER_PACK, initial=1, required=False
    )
    weight_g = forms.IntegerField(
        label=_("Weight per unit (g)"), min_value=1, required=False, help_text=_("Optional, for the van's load.")
    )

    def __init__(self, *args, creating: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for n in range(SPEC_ROWS):
            self.fields[f"spec_name_{n}"] = forms.CharField(label=_("Spec"), max_length=16, required=False)
            self.fields[f"spec_value_{n}"] = forms.CharField(label=_("Option"), max_length=32, required=False)
        if not creating:
            del self.fields["stock"]  # later changes are stock adjustments, with a reason

    def spec_rows(self):
        return [(self[f"spec_name_{n}"], self[f"spec_value_{n}"]) for n in range(SPEC_ROWS)]

    @staticmethod
    def initial_for(sku: SKU) -> dict:
        initial = {
            "code": sku.code,
            "unit": sku.unit,
            "price": fen_to_yuan(sku.list_price_fen),
            "cost": fen_to_yuan(sku.cost_fen),
            "max_per_member": sku.max_per_member,
            "is_active": sku.is_active,
            "zone": sku.zone,
            "pack_unit": sku.pack_unit,
            "units_per_pack": sku.units_per_pack,
            "weight_g": sku.weight_g,
        }
        for n, (name, value) in enumerate(list(sku.spec.items())[:SPEC_ROWS]):
            initial[f"spec_name_{n}"], initial[f"spec_value_{n}"] = name, value
        return initial

    def to_input(self) -> SKUInput:
        data = self.cleaned_data
        spec = {}
        for n in range(SPEC_ROWS):
            name, value = data.get(f"spec_name_{n}", ""), data.get(f"spec_value_{n}", "")
            if name or value:
                # A name without an option (or the reverse) reaches the service, which says what is missing.
                spec[name or ""] = value
        return SKUInput(
            code=data["code"],
            spec=spec,
            unit=data["unit"],
            list_price_fen=yuan_to_fen(data["price"]),
            cost_fen=yuan_to_fen(data["cost"]) if data.get("cost") is not None else None,
            stock=data.get("stock") or 0,
            max_per_member=data.get("max_per_member"),
            is_active=data["is_active"],
            zone=data.get("zone") or None,  # empty: keep the zone (a new SKU takes its product's storage)
            pack_unit=data.get("pack_unit", ""),
            units_per_pack=data.get("units_per_pack"),
            weight_g=data.get("weight_g"),
        )


class CatalogueFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=64)
    supplier = forms.ModelChoiceField(
        label=_("Supplier"), queryset=Supplier.objects.none(), required=False, empty_label=_("All")
    )
    storage = forms.ChoiceField(
        label=_("Storage"), required=False, choices=[("", _("All")), *Product.StorageType.choices]
    )
    stock = forms.ChoiceField(
        label=_("Stock"), required=False, choices=[("", _("All")), ("low", _("Low (under 10)")), ("out", _("Sold out"))]
    )
    active = forms.ChoiceField(
        label=_("On sale"), required=False, choices=[("", _("All")), ("1", _("On sale")), ("0", _("Off sale"))]
    )

    def __init__(self, *args, suppliers, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = suppliers
