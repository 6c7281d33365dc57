"""Operator forms for the live console: they parse what was typed; the rules live in ``livestream.console``,
whose messages are put back on these forms."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community.models import Community

from .console import RoundInput, SeriesInput, SessionInput, staff_users
from .models import LiveSeries, LiveSession, WarmupRound

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
STAFF_ERRORS = {"invalid_choice": _("Hosts and assistants are chosen from brand staff.")}


def _when(label, **kwargs) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
        error_messages={"required": _("Enter a date and time."), "invalid": _("Enter a date and time.")},
        **kwargs,
    )


def _staff_label(user) -> str:
    return f"{user.display_name} · {user.get_role_display()}"


class SeriesForm(forms.Form):
    title = forms.CharField(label=_("Series title"), max_length=64)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    @classmethod
    def for_series(cls, series: LiveSeries) -> SeriesForm:
        return cls(initial={"title": series.title, "description": series.description})

    def to_input(self) -> SeriesInput:
        return SeriesInput(**self.cleaned_data)


class SessionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100)
    series = forms.ModelChoiceField(
        label=_("Series"), queryset=LiveSeries.objects.none(), required=False, empty_label=_("— a new series —")
    )
    new_series_title = forms.CharField(
        label=_("New series title"), max_length=64, required=False, help_text=_("Only when the series is new.")
    )
    scheduled_start = _when(_("Scheduled start"))
    scheduled_end = _when(_("Scheduled end"))
    hosts = forms.TypedMultipleChoiceField(
        label=_("Hosts"), coerce=int, widget=forms.CheckboxSelectMultiple, error_messages=STAFF_ERRORS
    )
    assistants = forms.TypedMultipleChoiceField(
        label=_("Assistants"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages=STAFF_ERRORS,
    )
    communities = forms.ModelMultipleChoiceField(
        label=_("Target communities"), queryset=Community.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    perk_summary = forms.CharField(label=_("Perk line"), max_length=200, required=False)
    channels_live_url = forms.CharField(label=_("WeChat Channels live link"), max_length=200, required=False)
    hls_url = forms.CharField(label=_("HLS stream URL"), max_length=200, required=False)
    cover = forms.FileField(label=_("Cover image"), required=False)

    def __init__(self, *args, brand_ids: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["series"].queryset = LiveSeries.objects.filter(brand_id__in=brand_ids).order_by("title")
        self.fields["communities"].queryset = Community.objects.filter(brand_id__in=brand_ids).order_by("name")
        staff = [(u.pk, _staff_label(u)) for u in staff_users(brand_ids=brand_ids)]
        self.fields["hosts"].choices = staff
        self.fields["assistants"].choices = staff
        self.fields["cover"].widget.attrs["accept"] = "image/*"

    @staticmethod
    def initial_for(session: LiveSession) -> dict:
        return {
            "title": session.title,
            "series": session.series_id,
            "scheduled_start": timezone.localtime(session.scheduled_start),
            "scheduled_end": timezone.localtime(session.scheduled_end),
            "hosts": [u.pk for u in session.hosts.all()],
            "assistants": [u.pk for u in session.assistants.all()],
            "communities": [c.pk for c in session.communities.all()],
            "perk_summary": session.perk_summary,
            "channels_live_url": session.channels_live_url,
            "hls_url": session.hls_url,
        }

    def new_series(self) -> SeriesInput | None:
        if self.cleaned_data.get("series") is not None:
            return None
        title = self.cleaned_data.get("new_series_title", "").strip()
        return SeriesInput(title=title) if title else None

    def to_input(self) -> SessionInput:
        data = self.cleaned_data
        return SessionInput(
            title=data["title"],
            starts_at=data["scheduled_start"],
            ends_at=data["scheduled_end"],
            host_ids=list(data["hosts"]),
            assistant_ids=list(data["assistants"]),
            community_ids=[c.pk for c in data["communities"]],
            perk_summary=data["perk_summary"],
            channels_live_url=data["channels_live_url"],
            hls_url=data["hls_url"],
        )


class RescheduleForm(forms.Form):
    scheduled_start = _when(_("New start"))
    scheduled_end = _when(_("New end"))


class RoundForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[c for c in WarmupRound.Kind.choices if c[0] != WarmupRound.Kind.CANCELLED]
    )
    send_at = _when(_("Send at"))
    audience = forms.ChoiceField(label=_("Audience"), choices=WarmupRound.Audience.choices)
    title = forms.CharField(label=_("Title"), max_length=100, required=False, help_text=_("Empty: the kind's text."))
    body = forms.CharField(label=_("Text"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    teaser_video_url = forms.CharField(label=_("Teaser video link"), max_length=200, required=False)
    has_poster = forms.BooleanField(label=_("Poster"), required=False)
    send_sms = forms.BooleanField(label=_("Also by SMS"), required=False)
    leader_copy = forms.BooleanField(label=_("Copy for the leaders' WeChat groups"), required=False)

    def to_input(self, *, default_title: str, default_body: str) -> RoundInput:
        data = self.cleaned_data
        return RoundInput(
            kind=data["kind"],
            send_at=data["send_at"],
            audience=data["audience"],
            title=data["title"] or default_title,
            body=data["body"] or (default_body if not data["title"] else ""),
            has_poster=data["has_poster"],
            send_sms=data["send_sms"],
            leader_copy=data["leader_copy"],
            teaser_video_url=data["teaser_video_url"],
        )
