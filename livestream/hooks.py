"""What the live room needs from downstream apps, without importing them.

``livestream`` sits below ``jielong`` in the layering, yet the control panel lists the campaign's items
to pin (讲解中) and shows joins and GMV as they happen. The jielong app registers two providers here
in its ``AppConfig.ready``, and a third that gives the member page of a campaign (the room's jielong
button); until it does, the panel degrades gracefully: the pin selector offers the brand's catalogue
products at list price, the sales tiles show a dash, and the room shows no jielong button.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PinCandidate:
    """A product the host may pin: the SKU and how it is shown in the room."""

    sku_id: int
    name: str
    price_fen: int
    image_url: str = ""


@dataclass(frozen=True)
class Sales:
    """Joins (接龙人数) and GMV so far, from the campaigns launched by one session."""

    joins: int
    gmv_fen: int


@dataclass(frozen=True)
class CampaignLink:
    """A jielong campaign prepared for or launched by a session, as the operators' console shows it."""

    title: str
    status: str  # shown as is, already translated by the provider
    url: str
    is_open: bool


@dataclass(frozen=True)
class CalendarCampaign:
    """A jielong on the live calendar, on the day it closes (its deadline is what operators plan around)."""

    title: str
    closes_at: datetime
    status: str  # the status word, already translated by the provider
    url: str


PinCandidatesProvider = Callable[[int], list[PinCandidate]]
SalesProvider = Callable[[int], Sales]
CampaignUrlProvider = Callable[[int], str | None]

_pin_candidates: PinCandidatesProvider | None = None
_sales: SalesProvider | None = None
_campaign_url: CampaignUrlProvider | None = None
_campaign_is_open: Callable[[int], bool] | None = None
_session_campaigns: Callable[[int], list[CampaignLink]] | None = None
_campaign_builder_url: Callable[[int], str | None] | None = None
_calendar_campaigns: Callable[..., list[CalendarCampaign]] | None = None


def register_pin_candidates(provider: PinCandidatesProvider) -> None:
    """``provider(live_session_id)`` returns the items of the campaign(s) prepared for the session."""
    global _pin_candidates
    _pin_candidates = provider


def register_sales(provider: SalesProvider) -> None:
    """``provider(live_session_id)`` returns joins and GMV (fen) of the session's campaigns."""
    global _sales
    _sales = provider


def register_campaign_url(provider: CampaignUrlProvider) -> None:
    """``provider(campaign_id)`` returns the members' page of a jielong campaign (or ``None``)."""
    global _campaign_url
    _campaign_url = provider


def register_campaign_is_open(provider: Callable[[int], bool]) -> None:
    """``provider(campaign_id)`` says whether members can still join the campaign (the room's button)."""
    global _campaign_is_open
    _campaign_is_open = provider


def register_session_campaigns(provider: Callable[[int], list[CampaignLink]]) -> None:
    """``provider(live_session_id)`` lists the campaigns prepared for or launched by the session."""
    global _session_campaigns
    _session_campaigns = provider


def register_campaign_builder_url(provider: Callable[[int], str | None]) -> None:
    """``provider(live_session_id)`` gives the page where an operator prepares a jielong for the session."""
    global _campaign_builder_url
    _campaign_builder_url = provider


def pin_candidates(live_session_id: int) -> list[PinCandidate] | None:
    """The registered campaign items, or ``None`` when no provider is registered."""
    return _pin_candidates(live_session_id) if _pin_candidates is not None else None


def sales(live_session_id: int) -> Sales | None:
    return _sales(live_session_id) if _sales is not None else None


def campaign_url(campaign_id: int) -> str | None:
    """The members' page of the campaign, or ``None`` when no provider is registered."""
    return _campaign_url(campaign_id) if _campaign_url is not None else None


def campaign_is_open(campaign_id: int) -> bool:
    """Whether the campaign still takes joins; without a provider a campaign counts as open."""
    return _campaign_is_open(campaign_id) if _campaign_is_open is not None else True


def session_campaigns(live_session_id: int) -> list[CampaignLink]:
    return _session_campaigns(live_session_id) if _session_campaigns is not None else []


def campaign_builder_url(live_session_id: int) -> str | None:
    return _campaign_builder_url(live_session_id) if _campaign_builder_url is not None else None


def register_calendar_campaigns(provider: Callable[..., list[CalendarCampaign]]) -> None:
    """``provider(since, until, brand_ids)`` returns the campaigns closing in that span (of ``brand_ids``, or
    every brand's for None), for the live calendar."""
    global _calendar_campaigns
    _calendar_campaigns = provider


def calendar_campaigns(since: datetime, until: datetime, brand_ids=None) -> list[CalendarCampaign]:
    return _calendar_campaigns(since, until, brand_ids) if _calendar_campaigns is not None else []


# The media app (above livestream) gives the room its player and replay, and the host's panel its stream card.
_room_media: Callable[[int], dict | None] | None = None
_panel_media: Callable[[object, object], str] | None = None


def register_room_media(provider: Callable[[int], dict | None]) -> None:
    """``provider(live_session_id)`` returns the room snapshot's ``media`` part: whether the stream is on, where
    members play it (HLS), whether the media server runs, and the replay with its chapters (JSON-ready)."""
    global _room_media
    _room_media = provider


def register_panel_media(provider: Callable[[object, object], str]) -> None:
    """``provider(request, session)`` renders the host panel's stream card (key, encoder guide, destinations)."""
    global _panel_media
    _panel_media = provider


def room_media(live_session_id: int) -> dict | None:
    return _room_media(live_session_id) if _room_media is not None else None


def panel_media(request, session) -> str:
    return _panel_media(request, session) if _panel_media is not None else ""


# Apps above livestream add sections to the operator's session page (the highlights app: the session's clips).
OpsSessionPanel = Callable[[object, object], str]
_ops_session_panels: list[OpsSessionPanel] = []


def register_ops_session_panel(provider: OpsSessionPanel) -> None:
    """``provider(request, session)`` renders a section of the operator's session page ("" for none)."""
    if provider not in _ops_session_panels:
        _ops_session_panels.append(provider)


def ops_session_panels(request, session) -> str:
    return "".join(provider(request, session) for provider in _ops_session_panels)


def reset() -> None:
    """Forget the providers (tests)."""
    global _pin_candidates, _sales, _campaign_url, _campaign_is_open, _session_campaigns, _campaign_builder_url
    global _calendar_campaigns, _room_media, _panel_media
    _pin_candidates = _sales = _campaign_url = None
    _campaign_is_open = _session_campaigns = _campaign_builder_url = _calendar_campaigns = None
    _room_media = _panel_media = None


# A warm-up round aimed at a narrower audience than whole communities (a segment from the customer data
# platform). ``provider(round_id)`` returns the user ids the round reaches, or ``None`` when it does not
# target that round (then the round's own audience applies). Asked once, when the round is expanded.
_round_audience: Callable[[int], list[int] | None] | None = None


def register_round_audience(provider: Callable[[int], list[int] | None]) -> None:
    global _round_audience
    _round_audience = provider


def round_audience(round_id: int) -> list[int] | None:
    return _round_audience(round_id) if _round_audience is not None else None


# How the session page names such an audience: ``provider(round_ids)`` → {round id: "Segment: …"}.
_round_audience_labels: Callable[[list[int]], dict[int, str]] | None = None


def register_round_audience_labels(provider: Callable[[list[int]], dict[int, str]]) -> None:
    global _round_audience_labels
    _round_audience_labels = provider


def round_audience_labels(round_ids: list[int]) -> dict[int, str]:
    return _round_audience_labels(round_ids) if _round_audience_labels is not None else {}
