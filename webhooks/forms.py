"""The operator's endpoint form: it parses what was typed; the rules are ``webhooks.services``'s."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from . import catalog
from .services import EndpointInput


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=_("URL"),
        max_length=500,
        help_text=_("Where events are sent, as an HTTPS POST with a JSON body."),
        widget=forms.URLInput(attrs={"placeholder": "https://erp.example.com/groupbuy/webhooks"}),
    )
    description = forms.CharField(label=_("Note"), max_length=100, required=False)  # 备注: a name for the receiver
    event_types = forms.MultipleChoiceField(
        label=_("Events to send"), choices=catalog.choices, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, brands=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.brands = list(brands or [])
        if len(self.brands) > 1:
            self.fields["brand"] = forms.TypedChoiceField(
                label=_("Brand"), coerce=int, choices=[(b.pk, b.name) for b in self.brands]
            )

    def chosen_brand(self):
        if len(self.brands) == 1:
            return self.brands[0]
        wanted = self.cleaned_data.get("brand")
        return next((b for b in self.brands if b.pk == wanted), None)

    def to_input(self) -> EndpointInput:
        data = self.cleaned_data
        return EndpointInput(url=data["url"], event_types=data["event_types"], description=data["description"])
