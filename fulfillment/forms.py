"""Operator forms of the fulfilment console: they parse what was typed; the rules live in
``fulfillment.console``, whose messages are put back on these forms."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from community.access import for_staff, staff_brands
from community.models import Brand

from .console import RouteInput, WarehouseInput
from .models import Route, Warehouse, Zone


class WarehouseForm(forms.Form):
    brand = forms.ModelChoiceField(label=_("Brand"), queryset=Brand.objects.order_by("pk"), empty_label=None)
    name = forms.CharField(label=_("Name"), max_length=64, help_text=_("e.g. 上海浦东城市仓"))
    city = forms.CharField(label=_("City"), max_length=32, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)

    def __init__(self, *args, warehouse: Warehouse | None = None, viewer=None, **kwargs) -> None:
        if warehouse is not None and not args:
            kwargs.setdefault("initial", {f: getattr(warehouse, f) for f in ("name", "city", "address")})
        super().__init__(*args, **kwargs)
        # a brand's operator adds warehouses to their own brand only
        self._brands = Brand.objects.order_by("pk") if viewer is None else staff_brands(viewer)
        self.fields["brand"].queryset = self._brands
        # A warehouse stays with its brand; with one brand there is nothing to choose.
        if warehouse is not None or self.fields["brand"].queryset.count() <= 1:
            del self.fields["brand"]

    def chosen_brand(self) -> Brand | None:
        if "brand" in self.fields:
            return self.cleaned_data.get("brand")
        return self._brands.first()

    def to_input(self) -> WarehouseInput:
        data = self.cleaned_data
        return WarehouseInput(name=data["name"], city=data["city"], address=data["address"])


class RouteForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64, help_text=_("e.g. 冷链一线 (浦东)"))
    warehouse = forms.ModelChoiceField(
        label=_("Loads at (warehouse)"), queryset=Warehouse.objects.none(), empty_label=None
    )
    zones = forms.MultipleChoiceField(
        label=_("Zones it carries"),
        choices=Zone.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Tick the zones the van can carry (ambient, chilled, frozen).")},
    )
    departs_at = forms.TimeField(
        label=_("Departure time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    driver_name = forms.CharField(label=_("Driver"), max_length=32, required=False)
    driver_phone = forms.CharField(
        label=_("Driver's phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    vehicle_plate = forms.CharField(
        label=_("Vehicle plate"), max_length=16, required=False, help_text=_("e.g. 沪A·12345")
    )

    def __init__(self, *args, route: Route | None = None, viewer=None, **kwargs) -> None:
        if route is not None and not args:
            initial = {
                f: getattr(route, f)
                for f in ("name", "zones", "departs_at", "driver_name", "driver_phone", "vehicle_plate")
            }
            kwargs.setdefault("initial", {**initial, "warehouse": route.warehouse_id})
        super().__init__(*args, **kwargs)
        warehouses = Warehouse.objects.select_related("brand").order_by("brand_id", "name")
        if viewer is not None:  # a brand's operator routes from their own brand's warehouses only
            warehouses = for_staff(warehouses, user=viewer)
        if route is not None:  # its own brand's warehouses; its current one even when no longer in use
            warehouses = warehouses.filter(Q(is_active=True) | Q(pk=route.warehouse_id), brand_id=route.brand_id)
        else:
            warehouses = warehouses.filter(is_active=True)
        several_brands = len({w.brand_id for w in warehouses}) > 1
        self.fields["warehouse"].queryset = warehouses
        self.fields["warehouse"].label_from_instance = (
            (lambda w: f"{w.brand.name} · {w.name}") if several_brands else (lambda w: w.name)
        )

    def to_input(self) -> RouteInput:
        data = self.cleaned_data
        return RouteInput(
            name=data["name"],
            warehouse_id=data["warehouse"].pk,
            departs_at=data["departs_at"],
            zones=data["zones"],
            driver_name=data["driver_name"],
            driver_phone=data["driver_phone"],
            vehicle_plate=data["vehicle_plate"],
        )


class VerifierForm(forms.Form):
    phone = forms.CharField(
        label=_("Member's phone number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off", "placeholder": "138 0013 8000"}),
        help_text=_("An active member of this point's community."),
    )


class MoveForm(forms.Form):
    delivery_date = forms.DateField(
        label=_("New delivery date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
