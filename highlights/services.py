"""The operator's review of clips: rename, trim, publish, and attach to a campaign page or a warm-up round."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import partial

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from community.models import User
from groupbuy import clock, events
from groupbuy.errors import DomainError
from jielong.models import Campaign
from livestream.models import LiveSession, WarmupRound
from media.models import Recording

from . import events as highlights_events
from .models import Clip
from .peaks import MAX_CLIP_S, MIN_CLIP_S

TITLE_MAX = 60


class ClipRefused(DomainError):
    pass


def _check_operator(by: User) -> None:
    if not by.is_operator:
        raise ClipRefused(_("Only operators review clips."), code="forbidden")


def _locked(clip_id: int) -> Clip:
    clip = Clip.objects.select_for_update().select_related("recording", "session").filter(pk=clip_id).first()
    if clip is None:
        raise ClipRefused(_("This clip no longer exists."), code="not_found")
    return clip


def _seconds(value, *, label: str) -> float:
    try:
        seconds = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ClipRefused(_("%(field)s must be a number of seconds.") % {"field": label}, code="invalid") from None
    if not seconds.is_finite():
        raise ClipRefused(_("%(field)s must be a number of seconds.") % {"field": label}, code="invalid")
    return round(float(seconds), 3)


def clip_rename(*, by: User, clip_id: int, title: str) -> Clip:
    _check_operator(by)
    title = " ".join((title or "").split())
    if not title:
        raise ClipRefused(_("Give the clip a title."), code="invalid")
    if len(title) > TITLE_MAX:
        raise ClipRefused(_("A clip title is at most %(n)d characters.") % {"n": TITLE_MAX}, code="invalid")
    with transaction.atomic():
        clip = _locked(clip_id)
        clip.title, clip.updated_by = title, by
        clip.save(update_fields=["title", "updated_by"])
    return clip


def check_window(*, clip: Clip, start_s: float, end_s: float) -> None:
    """A clip lies inside its recording and lasts between ``MIN_CLIP_S`` and ``MAX_CLIP_S`` seconds."""
    if clip.recording.status != Recording.Status.READY or not clip.recording.mp4:
        raise ClipRefused(_("The recording is no longer kept, so this clip cannot be trimmed."), code="expired")
    length = clip.recording.duration_seconds or 0
    if start_s < 0 or end_s > length + 0.001:
        raise ClipRefused(
            _("The clip must lie inside the recording (0 to %(length)s seconds).") % {"length": f"{length:.1f}"},
            code="outside",
        )
    if end_s - start_s < MIN_CLIP_S:
        raise ClipRefused(_("A clip lasts at least %(n)d seconds.") % {"n": MIN_CLIP_S}, code="too_short")
    if end_s - start_s > MAX_CLIP_S:
        raise ClipRefused(_("A clip lasts at most %(n)d seconds.") % {"n": MAX_CLIP_S}, code="too_long")


def clip_trim(*, by: User, clip_id: int, start_s, end_s) -> Clip:
    """Move the clip's start and end (seconds into the recording); its files are cut again by the worker."""
    _check_operator(by)
    start = _seconds(start_s, label=_("Start"))
    end = _seconds(end_s, label=_("End"))
    with transaction.atomic():
        clip = _locked(clip_id)
        check_window(clip=clip, start_s=start, end_s=end)
        if (start, end) == (clip.start_s, clip.end_s):
            return clip
        clip.start_s, clip.end_s = start, end
        clip.peak_s = min(max(clip.peak_s, start), end)
        clip.render_state, clip.render_error = Clip.RenderState.PENDING, ""
        clip.render_requested_at, clip.updated_by = clock.now(), by
        clip.save(
            update_fields=[
                "start_s",
                "end_s",
                "peak_s",
                "render_state",
                "render_error",
                "render_requested_at",
                "updated_by",
            ]
        )
        events.publish(
            highlights_events.ClipTrimmed(
                clip_id=clip.pk, live_session_id=clip.session_id, user_id=by.pk, start_s=start, end_s=end
            )
        )
        from . import tasks

        transaction.on_commit(partial(tasks.cut_clip.delay, clip.pk))
    return clip


def clip_recut(*, by: User, clip_id: int) -> Clip:
    """Cut a clip whose cutting failed again (ffmpeg was missing, the disk was full …), by the worker."""
    _check_operator(by)
    with transaction.atomic():
        clip = _locked(clip_id)
        if clip.render_state != Clip.RenderState.FAILED:
            return clip
        clip.render_state, clip.render_error = Clip.RenderState.PENDING, ""
        clip.render_requested_at, clip.updated_by = clock.now(), by
        clip.save(update_fields=["render_state", "render_error", "render_requested_at", "updated_by"])
        from . import tasks

        transaction.on_commit(partial(tasks.cut_clip.delay, clip.pk))
    return clip


def clip_publish(*, by: User, clip_id: int) -> Clip:
    _check_operator(by)
    with transaction.atomic():
        clip = _locked(clip_id)
        if clip.render_state != Clip.RenderState.READY:
            raise ClipRefused(_("The clip can be published once its video is cut."), code="not_ready")
        if clip.is_published:
            return clip
        clip.status, clip.published_at, clip.updated_by = Clip.Status.PUBLISHED, clock.now(), by
        clip.save(update_fields=["status", "published_at", "updated_by"])
        events.publish(highlights_events.ClipPublished(clip_id=clip.pk, live_session_id=clip.session_id, user_id=by.pk))
    return clip


def clip_unpublish(*, by: User, clip_id: int) -> Clip:
    """Back to draft: it leaves the campaign page and any warm-up round that has not gone out."""
    _check_operator(by)
    with transaction.atomic():
        clip = _locked(clip_id)
        if not clip.is_published:
            return clip
        _detach_warmup(clip)
        clip.status, clip.published_at, clip.updated_by = Clip.Status.DRAFT, None, by
        clip.campaign = None
        clip.save(update_fields=["status", "published_at", "updated_by", "campaign", "warmup_round"])
        events.publish(
            highlights_events.ClipUnpublished(clip_id=clip.pk, live_session_id=clip.session_id, user_id=by.pk)
        )
    return clip


# --- where a published clip shows ---------------------------------------------------------------------------


def attachable_campaigns(clip: Clip):
    """Campaigns of the session's brand that have not ended, the session's own first."""
    brand_id = LiveSession.objects.filter(pk=clip.session_id).values_list("series__brand_id", flat=True).first()
    return Campaign.objects.filter(brand_id=brand_id).exclude(status=Campaign.Status.CANCELLED).order_by("-created_at")


def attachable_rounds(clip: Clip):
    """Warm-up rounds still to go out, of the brand's scheduled sessions that start after this one."""
    session = LiveSession.objects.select_related("series").get(pk=clip.session_id)
    return (
        WarmupRound.objects.filter(
            status=WarmupRound.Status.PENDING,
            session__status=LiveSession.Status.SCHEDULED,
            session__series__brand_id=session.series.brand_id,
            session__scheduled_start__gt=session.scheduled_start,
        )
        .select_related("session")
        .order_by("send_at", "pk")
    )


def clip_link(clip: Clip) -> str:
    """The member page of a clip, absolute when the site's address is configured (it goes into texts)."""
    return getattr(settings, "SITE_URL", "") + reverse("highlights:member-clip", args=[clip.pk])


def _require_published(clip: Clip) -> None:
    if not clip.is_published:
        raise ClipRefused(_("Publish the clip first."), code="not_published")


def clip_attach_campaign(*, by: User, clip_id: int, campaign_id: int | None) -> Clip:
    """Show the clip on a campaign's member page ("看回放·<title>"); ``None`` takes it off."""
    _check_operator(by)
    with transaction.atomic():
        clip = _locked(clip_id)
        if clip.campaign_id == campaign_id:
            return clip
        if campaign_id is not None:
            _require_published(clip)
            if not attachable_campaigns(clip).filter(pk=campaign_id).exists():
                raise ClipRefused(_("Choose one of this brand's campaigns."), code="invalid")
        clip.campaign_id, clip.updated_by = campaign_id, by
        clip.save(update_fields=["campaign", "updated_by"])
        events.publish(
            highlights_events.ClipAttached(
                clip_id=clip.pk,
                live_session_id=clip.session_id,
                user_id=by.pk,
                campaign_id=clip.campaign_id,
                warmup_round_id=clip.warmup_round_id,
            )
        )
    return clip


def _detach_warmup(clip: Clip) -> None:
    """Take the clip's link out of its warm-up round, if that round has not gone out and still carries it."""
    if clip.warmup_round_id:
        WarmupRound.objects.filter(
            pk=clip.warmup_round_id, status=WarmupRound.Status.PENDING, teaser_video_url=clip_link(clip)
        ).update(teaser_video_url="")
    clip.warmup_round = None


def clip_attach_warmup(*, by: User, clip_id: int, round_id: int | None) -> Clip:
    """Send the clip with a warm-up round of a later session (剧透短视频): the round's teaser video link
    (``WarmupRound.teaser_video_url``, the field the operator otherwise fills by hand) becomes the clip's page."""
    _check_operator(by)
    with transaction.atomic():
        clip = _locked(clip_id)
        if clip.warmup_round_id == round_id:
            return clip
        if round_id is not None:
            _require_published(clip)
            round_ = attachable_rounds(clip).select_for_update(of=("self",)).filter(pk=round_id).first()
            if round_ is None:
                raise ClipRefused(
                    _("Choose a warm-up round of a later session that has not gone out yet."), code="invalid"
                )
        _detach_warmup(clip)
        if round_id is not None:
            WarmupRound.objects.filter(pk=round_id).update(teaser_video_url=clip_link(clip))
            clip.warmup_round_id = round_id
        clip.updated_by = by
        clip.save(update_fields=["warmup_round", "updated_by"])
        events.publish(
            highlights_events.ClipAttached(
                clip_id=clip.pk,
                live_session_id=clip.session_id,
                user_id=by.pk,
                campaign_id=clip.campaign_id,
                warmup_round_id=clip.warmup_round_id,
            )
        )
    return clip
