"""The board's pickers: period, session, series, community, leader (the choices are what the viewer may see)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from community.access import for_staff
from community.models import Community, Membership, User
from livestream.models import LiveSeries, LiveSession

from .scope import visible_community_ids


class _Picker(forms.TypedChoiceField):
    """A choice whose id is checked by :func:`bi.scope.scope_resolve` (with a message that says why), not by
    the list: a community the viewer may not see is refused there, by the one access rule."""

    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, coerce=int, empty_value=None, **kwargs)

    def valid_value(self, value) -> bool:
        return str(value).isdigit()


class ScopeForm(forms.Form):
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    session = _Picker(label=_("Live session"))
    series = _Picker(label=_("Series"))
    community = _Picker(label=_("Community"))
    leader = _Picker(label=_("Leader"))

    def __init__(self, *args, viewer: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        visible = visible_community_ids(user=viewer)
        communities = Community.objects.order_by("name")
        sessions = LiveSession.objects.filter(status=LiveSession.Status.ENDED).order_by("-started_at")
        if visible is not None:
            communities = communities.filter(pk__in=visible)
            sessions = sessions.filter(communities__in=visible).distinct()
        everything = [("", _("All"))]
        self.fields["community"].choices = everything + [(c.pk, c.name) for c in communities]
        self.fields["session"].choices = everything + [
            (s.pk, f"{s.started_at:%Y-%m-%d} {s.title}" if s.started_at else s.title) for s in sessions[:200]
        ]
        if viewer.is_operator:  # of the brands they may see (every brand for installation-wide staff)
            series = for_staff(LiveSeries.objects.all(), user=viewer).order_by("title")
            self.fields["series"].choices = everything + [(s.pk, s.title) for s in series]
            led = {"memberships__role": Membership.Role.LEADER, "memberships__status": Membership.Status.ACTIVE}
            if visible is not None:  # one join: leaders *of* the brand's communities
                led["memberships__community__in"] = visible
            leaders = User.objects.filter(**led).distinct().order_by("nickname")
            self.fields["leader"].choices = everything + [(u.pk, u.display_name) for u in leaders]
        else:
            # A leader's board is already theirs: no series or leader pickers.
            del self.fields["series"]
            del self.fields["leader"]

    def pickers(self) -> dict:
        """The cleaned pickers as :func:`bi.scope.scope_resolve` keywords."""
        data = self.cleaned_data
        return {
            "since": data.get("since"),
            "until": data.get("until"),
            "session_id": data.get("session"),
            "series_id": data.get("series"),
            "community_id": data.get("community"),
            "leader_id": data.get("leader"),
        }
