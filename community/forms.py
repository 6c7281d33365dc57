from django import forms
from django.utils.translation import gettext_lazy as _

from .inputs import parse_id
from .models import Community, Membership
from .selectors import MemberFilters
from .services import CommunityInput, PickupPointInput


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


POINT_ROWS = 2


class CommunityCreateForm(forms.Form):
    """Parses the new-community page; ``community.services.community_create`` judges the values."""

    name = forms.CharField(label=_("Name"), max_length=200)
    slug = forms.CharField(
        label=_("Web address"),
        required=False,
        max_length=200,
        help_text=_("Lowercase letters, digits and hyphens; left blank, it is made from the name."),
    )
    positioning = forms.CharField(
        label=_("Positioning and values"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    capacity = forms.CharField(label=_("Capacity"), initial="500", widget=forms.NumberInput(attrs={"min": 1}))
    join_gate = forms.ChoiceField(label=_("Join gate"), choices=Community.JoinGate.choices)
    leaders = forms.CharField(
        label=_("Leaders' phone numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line. A number without an account gets a member account; each becomes a leader."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for i in range(POINT_ROWS):
            self.fields[f"point_name_{i}"] = forms.CharField(
                label=_("Pickup point name"), required=False, max_length=200
            )
            self.fields[f"point_address_{i}"] = forms.CharField(label=_("Address"), required=False, max_length=400)
            self.fields[f"point_hours_{i}"] = forms.CharField(label=_("Opening hours"), required=False, max_length=200)
            self.fields[f"point_capacity_{i}"] = forms.CharField(
                label=_("Daily capacity (orders)"), required=False, initial="200", widget=forms.NumberInput()
            )
            self.fields[f"point_leader_{i}"] = forms.CharField(
                label=_("Person in charge (a leader's phone)"), required=False, max_length=40
            )

    def point_rows(self) -> list[list]:
        keys = ("name", "address", "hours", "capacity", "leader")
        return [[self[f"point_{key}_{i}"] for key in keys] for i in range(POINT_ROWS)]

    def to_input(self) -> CommunityInput:
        data = self.cleaned_data
        points = tuple(
            PickupPointInput(
                name=data[f"point_name_{i}"],
                address=data[f"point_address_{i}"],
                opening_hours=data[f"point_hours_{i}"],
                capacity=parse_id(data[f"point_capacity_{i}"]) if data[f"point_capacity_{i}"].strip() else 200,
                leader_phone=data[f"point_leader_{i}"],
            )
            for i in range(POINT_ROWS)
        )
        return CommunityInput(
            name=data["name"],
            slug=data["slug"],
            positioning=data["positioning"],
            capacity=parse_id(data["capacity"]),
            join_gate=data["join_gate"],
            leader_phones=tuple(line for line in data["leaders"].replace(",", "\n").splitlines() if line.strip()),
            pickup_points=points,
        )
