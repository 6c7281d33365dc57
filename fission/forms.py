"""Parsing the operator's input: percentages to basis points, yuan to fen. The services judge the values."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import RuleKind


def _to_units(value, *, places: int, message: str) -> int | None:
    text = (str(value) if value is not None else "").strip().replace("%", "").replace("¥", "")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise forms.ValidationError(message) from None
    scaled = number * (10**places)
    if scaled != scaled.to_integral_value() or not number.is_finite():
        raise forms.ValidationError(message)
    return int(scaled)


class PercentField(forms.CharField):
    """ "12.5" → 1250 basis points (two decimals at most; the service refuses over 100 %)."""

    def clean(self, value):
        value = super().clean(value)
        return _to_units(value, places=2, message=_("Enter a percentage such as 5 or 12.5."))


class YuanField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        return _to_units(value, places=2, message=_("Enter an amount in yuan such as 1.50."))


class RuleForm(forms.Form):
    kind = forms.ChoiceField(label=_("Help-sellers earn"), choices=RuleKind.choices)
    rate = PercentField(label=_("Rate (%)"), required=False)
    fixed = YuanField(label=_("Per unit (yuan)"), required=False)
    leader_rate = PercentField(
        label=_("Leader's pickup-point commission (%)"), required=False, help_text=_("Empty: the brand's default")
    )


class SellerRuleForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Own commission"), choices=[("", _("Campaign default")), *RuleKind.choices], required=False
    )
    rate = PercentField(label=_("Rate (%)"), required=False)
    fixed = YuanField(label=_("Per unit (yuan)"), required=False)


class DefaultsForm(forms.Form):
    attribution_days = forms.IntegerField(label=_("Attribution window (days)"), min_value=1, max_value=90)
    leader_rate = PercentField(label=_("Leader's pickup-point commission (%)"), required=False)


class PeriodForm(forms.Form):
    # A date input takes ISO dates only, whatever the language formats dates as.
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
