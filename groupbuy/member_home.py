"""Sections of the member home page (/m/), contributed by the apps that own their data.

The page belongs to ``community``, which sits at the bottom of the layering and may not import the
live or jielong apps. Those register a section here instead (see ``WebConfig.ready``); the page
renders whatever is registered, in ``position`` order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class Section:
    key: str
    template: str
    position: int
    # Called with the request and the ids of the member's active communities; returns template context.
    context: Callable[[HttpRequest, list[int]], dict[str, Any]]


@dataclass(frozen=True)
class RenderedSection:
    key: str
    template: str
    data: dict[str, Any]


_sections: dict[str, Section] = {}


def register(section: Section) -> None:
    _sections[section.key] = section


def sections() -> Iterable[Section]:
    return sorted(_sections.values(), key=lambda s: s.position)


def render_sections(request: HttpRequest, community_ids: list[int]) -> list[RenderedSection]:
    return [RenderedSection(s.key, s.template, s.context(request, community_ids)) for s in sections()]
