from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Membership
from .selectors import MemberFilters


class MemberFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=64)
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("Any role")), *Membership.Role.choices])
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Membership.Status.choices]
    )
    joined_from = forms.DateField(
        label=_("Joined from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    joined_to = forms.DateField(label=_("Joined until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    inactive_days = forms.IntegerField(label=_("Inactive for (days)"), required=False, min_value=1, max_value=3650)

    def filters(self) -> MemberFilters:
        if not self.is_valid():
            return MemberFilters()
        data = self.cleaned_data
        return MemberFilters(
            q=data["q"] or "",
            role=data["role"] or "",
            status=data["status"] or "",
            joined_from=data["joined_from"],
            joined_to=data["joined_to"],
            inactive_days=data["inactive_days"],
        )
