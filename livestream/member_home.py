"""The "upcoming lives" section of the member home page."""

from django.http import HttpRequest

from . import selectors


def upcoming_lives(request: HttpRequest, community_ids: list[int]) -> dict:
    return {"sessions": selectors.member_upcoming_sessions(user=request.user, community_ids=community_ids)}
