"""What the live room and the host's panel show of the media pipeline (registered as livestream hooks)."""

from __future__ import annotations


def room_media(live_session_id: int) -> dict | None:
    return None


def panel_media(request, session) -> str:
    return ""
