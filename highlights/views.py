"""Pages of the highlights app: the operator's clip review (laptop) and a member's clip page (phone)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from community.access import for_staff
from groupbuy.access import member_required, operator_required
from groupbuy.errors import DomainError
from livestream.models import LiveSession
from media.models import Recording

from . import selectors, services
from .models import Clip
from .peaks import MAX_CLIP_S, MIN_CLIP_S


@member_required
def member_clip(request: HttpRequest, pk: int) -> HttpResponse:
    """A published clip (the link a warm-up round carries): the video, the live it is from, the jielong."""
    clip = selectors.published_clip(clip_id=pk)
    if clip is None:
        raise Http404(_("This clip is not available."))
    return render(request, "member/highlights/clip.html", {"clip": clip})


def _review_page(request: HttpRequest, session: LiveSession, *, status: int = 200, error: dict | None = None):
    clips = list(selectors.session_clips(session_id=session.pk))
    recordings = list(Recording.objects.filter(session=session).order_by("started_at", "pk"))
    sample = clips[0] if clips else None
    return render(
        request,
        "ops/highlights/clips.html",
        {
            "session": session,
            "clips": clips,
            "recordings": recordings,
            "campaigns": list(services.attachable_campaigns(sample)) if sample else [],
            "rounds": list(services.attachable_rounds(sample)) if sample else [],
            "max_clip_s": MAX_CLIP_S,
            "min_clip_s": MIN_CLIP_S,
            "error": error or {},
        },
        status=status,
    )


@operator_required
def ops_clips(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_object_or_404(
        for_staff(LiveSession.objects.select_related("series"), user=request.user, via="series__brand"), pk=session_id
    )
    return _review_page(request, session)


def _optional_id(value: str | None) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise services.ClipRefused(_("Choose from the list."), code="invalid") from None


@require_POST
@operator_required
def ops_clip_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    # another brand's clip answers 404 and no service is called: nothing changes
    clip = get_object_or_404(
        for_staff(Clip.objects.select_related("session__series"), user=request.user, via="session__series__brand"),
        pk=pk,
    )
    by, data = request.user, request.POST
    try:
        if action == "rename":
            services.clip_rename(by=by, clip_id=pk, title=data.get("title", ""))
            done = _("Clip renamed.")
        elif action == "trim":
            services.clip_trim(by=by, clip_id=pk, start_s=data.get("start_s", ""), end_s=data.get("end_s", ""))
            done = _("Clip trimmed; its video is being cut again.")
        elif action == "recut":
            services.clip_recut(by=by, clip_id=pk)
            done = _("The clip is being cut again.")
        elif action == "publish":
            services.clip_publish(by=by, clip_id=pk)
            done = _("Clip published.")
        elif action == "unpublish":
            services.clip_unpublish(by=by, clip_id=pk)
            done = _("Clip back to draft.")
        elif action == "campaign":
            services.clip_attach_campaign(by=by, clip_id=pk, campaign_id=_optional_id(data.get("campaign")))
            done = _("Campaign page updated.")
        elif action == "warmup":
            services.clip_attach_warmup(by=by, clip_id=pk, round_id=_optional_id(data.get("round")))
            done = _("Warm-up round updated.")
        else:
            raise Http404
    except DomainError as exc:
        posted = {"clip": pk, "message": exc.message, "start_s": data.get("start_s"), "end_s": data.get("end_s")}
        return _review_page(request, clip.session, status=400, error=posted)
    messages.success(request, done)
    return redirect(reverse("highlights:ops-clips", args=[clip.session_id]) + f"#clip-{pk}")
