"""The fragment cdp adds to the operator's live-session page (through ``livestream.hooks``): which warm-up
rounds reach a segment, aiming a pending round at one, and a targeted invitation to a segment."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string

from livestream.models import LiveSession, WarmupRound

from .audiences import rounds_of
from .models import Segment


def ops_session_panel(request: HttpRequest, session) -> str:
    if not getattr(request.user, "is_operator", False):
        return ""
    targets = rounds_of(session=session)
    is_scheduled = session.status == LiveSession.Status.SCHEDULED
    if not targets and not is_scheduled:
        return ""
    rounds = list(session.warmup_rounds.exclude(kind=WarmupRound.Kind.CANCELLED).order_by("send_at", "pk"))
    return render_to_string(
        "ops/cdp/_session_panel.html",
        {
            "session": session,
            "rounds": [(r, targets.get(r.pk)) for r in rounds],
            "pending": [r for r in rounds if r.status == WarmupRound.Status.PENDING],
            "segments": list(Segment.objects.filter(brand_id=session.series.brand_id).order_by("name", "pk")),
            "is_scheduled": is_scheduled,
        },
        request=request,
    )
