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


PinCandidatesProvider = Callable[[int], list[PinCandidate]]
SalesProvider = Callable[[int], Sales]
CampaignUrlProvider = Callable[[int], str | None]

_pin_candidates: PinCandidatesProvider | None = None
_sales: SalesProvider | None = None
_campaign_url: CampaignUrlProvider | None = None


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


def pin_candidates(live_session_id: int) -> list[PinCandidate] | None:
    """The registered campaign items, or ``None`` when no provider is registered."""
    return _pin_candidates(live_session_id) if _pin_candidates is not None else None


def sales(live_session_id: int) -> Sales | None:
    return _sales(live_session_id) if _sales is not None else None


def campaign_url(campaign_id: int) -> str | None:
    """The members' page of the campaign, or ``None`` when no provider is registered."""
    return _campaign_url(campaign_id) if _campaign_url is not None else None


def reset() -> None:
    """Forget the providers (tests)."""
    global _pin_candidates, _sales, _campaign_url
    _pin_candidates = _sales = _campaign_url = None
