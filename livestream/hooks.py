"""What the live room needs from downstream apps, without importing them.

``livestream`` sits below ``jielong`` in the layering, yet the control panel lists the campaign's items
to pin (讲解中) and shows joins and GMV as they happen. The jielong app registers two providers here
in its ``AppConfig.ready``; until it does, the panel degrades gracefully: the pin selector offers the
brand's catalogue products at list price, and the sales tiles show a dash.
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

_pin_candidates: PinCandidatesProvider | None = None
_sales: SalesProvider | None = None


def register_pin_candidates(provider: PinCandidatesProvider) -> None:
    """``provider(live_session_id)`` returns the items of the campaign(s) prepared for the session."""
    global _pin_candidates
    _pin_candidates = provider


def register_sales(provider: SalesProvider) -> None:
    """``provider(live_session_id)`` returns joins and GMV (fen) of the session's campaigns."""
    global _sales
    _sales = provider


def pin_candidates(live_session_id: int) -> list[PinCandidate] | None:
    """The registered campaign items, or ``None`` when no provider is registered."""
    return _pin_candidates(live_session_id) if _pin_candidates is not None else None


def sales(live_session_id: int) -> Sales | None:
    return _sales(live_session_id) if _sales is not None else None


def reset() -> None:
    """Forget the providers (tests)."""
    global _pin_candidates, _sales
    _pin_candidates = _sales = None
