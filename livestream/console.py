"""Writes of the operators' live console (/ops/live/): series, sessions and their warm-up rounds.

Every function checks everything before it writes anything: a refusal (``LiveInvalid``, with the form
field it concerns) leaves the database as it was. Moving and cancelling a session go through
``services.session_reschedule`` and ``services.session_cancel``, which also move or stop the warm-up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from community.inputs import unstorable
from community.models import Brand, Community, User
from groupbuy import clock
from groupbuy.errors import DomainError
from groupbuy.images import ImageRejected, clean_image

from . import services
from .models import LiveSeries, LiveSession, WarmupRound

MAX_COVER_SIDE = 1600
MAX_COVER_BYTES = 5 * 1024 * 1024


class LiveInvalid(DomainError):
    def __init__(self, message: str, *, field: str = "", code: str = "invalid") -> None:
        super().__init__(message, code=code)
        self.field = field


@dataclass(frozen=True)
class SeriesInput:
    title: str
    description: str = ""


@dataclass(frozen=True)
class SessionInput:
    title: str
    starts_at: datetime
    ends_at: datetime
    host_ids: list[int]
    community_ids: list[int]
    assistant_ids: list[int] = field(default_factory=list)
    perk_summary: str = ""
    channels_live_url: str = ""
    hls_url: str = ""


@dataclass(frozen=True)
class RoundInput:
    kind: str
    send_at: datetime
    audience: str
    title: str
    body: str = ""
    has_poster: bool = False
    send_sms: bool = False
    leader_copy: bool = False
    teaser_video_url: str = ""


def staff_users(*, brand_ids=None):
    """Who may host or assist: staff (hosts, assistants, operators), never members; of ``brand_ids``'
    brands and the installation's own staff (no brand) when given."""
    users = User.objects.filter(is_active=True, role__in=User.STAFF_ROLES)
    if brand_ids is not None:
        users = users.filter(Q(brand__isnull=True) | Q(brand_id__in=brand_ids))
    return users.order_by("role", "nickname", "username", "pk")


def _check_operator(by: User) -> None:
    if not by.is_operator:
        raise LiveInvalid(_("Only operators can plan live sessions."), code="forbidden")


def _text(value: str | None, *, field: str, label: str, max_length: int, required: bool = False) -> str:
    text = (value or "").strip()
    if unstorable(text):
        raise LiveInvalid(_("%(label)s contains a character that cannot be saved.") % {"label": label}, field=field)
    if required and not text:
        raise LiveInvalid(_("Enter the %(label)s.") % {"label": label}, field=field)
    if len(text) > max_length:
        raise LiveInvalid(
            _("The %(label)s is too long (at most %(count)s characters).") % {"label": label, "count": max_length},
            field=field,
        )
    return text


def _url(value: str, *, field: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        raise LiveInvalid(_("Enter a full link starting with https://."), field=field) from None
    if len(value) > 200:
        raise LiveInvalid(_("The link is too long."), field=field)
    return value


# --- series ------------------------------------------------------------------------------------------------


def _check_series(*, brand: Brand, data: SeriesInput, series: LiveSeries | None) -> SeriesInput:
    title = _text(data.title, field="title", label=_("series title"), max_length=64, required=True)
    description = _text(data.description, field="description", label=_("description"), max_length=2000)
    clash = LiveSeries.objects.filter(brand=brand, title=title)
    if series is not None:
        clash = clash.exclude(pk=series.pk)
    if clash.exists():
        raise LiveInvalid(_("A series with this title already exists."), field="title", code="duplicate")
    return SeriesInput(title=title, description=description)


def series_save(*, by: User, brand: Brand, data: SeriesInput, series: LiveSeries | None = None) -> LiveSeries:
    """Create a live series (IP化 show) or change its title and description."""
    _check_operator(by)
    if series is not None and series.brand_id != brand.pk:
        raise LiveInvalid(_("This series belongs to another brand."), code="brand")
    data = _check_series(brand=brand, data=data, series=series)
    series = series or LiveSeries(brand=brand)
    series.title, series.description = data.title, data.description
    try:
        with transaction.atomic():
            series.save()
    except IntegrityError:
        raise LiveInvalid(_("A series with this title already exists."), field="title", code="duplicate") from None
    return series


# --- sessions ----------------------------------------------------------------------------------------------


def _staff(ids: list[int], *, field: str, required: bool, brand: Brand) -> list[User]:
    ids = sorted(set(ids))
    if required and not ids:
        raise LiveInvalid(_("Choose at least one host."), field=field)
    users = list(User.objects.filter(pk__in=ids))
    if len(users) != len(ids):
        raise LiveInvalid(_("Hosts and assistants are chosen from brand staff."), field=field)
    for user in users:
        if not user.is_active or user.role not in User.STAFF_ROLES or user.brand_id not in (None, brand.pk):
            raise LiveInvalid(
                _("%(name)s is not brand staff: hosts and assistants are chosen from staff only.")
                % {"name": user.display_name},
                field=field,
            )
    return users


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at <= clock.now():
        raise LiveInvalid(_("The start must be in the future."), field="scheduled_start")
    if ends_at <= starts_at:
        raise LiveInvalid(_("The end must come after the start."), field="scheduled_end")


def _cover(upload):
    if upload is None:
        return None
    try:
        return clean_image(upload, max_side=MAX_COVER_SIDE, max_bytes=MAX_COVER_BYTES)
    except ImageRejected as exc:
        raise LiveInvalid(exc.message, field="cover", code=exc.code) from None


def session_save(
    *,
    by: User,
    data: SessionInput,
    series: LiveSeries | None = None,
    new_series: SeriesInput | None = None,
    brand: Brand | None = None,
    session: LiveSession | None = None,
    cover=None,
) -> LiveSession:
    """Plan a session (or change a scheduled one): title, series (an existing one, or ``new_series`` made
    in the same transaction), time, hosts and assistants from staff, target communities, cover, perk and
    stream links. A changed time goes through ``session_reschedule``, so pending warm-up rounds move too."""
    _check_operator(by)
    title = _text(data.title, field="title", label=_("title"), max_length=100, required=True)
    if series is None and new_series is None:
        raise LiveInvalid(_("Choose a series or name a new one."), field="series")
    if new_series is not None:
        if brand is None:
            raise LiveInvalid(_("Choose the brand of the new series."), field="new_series_title")
        try:
            new_series = _check_series(brand=brand, data=new_series, series=None)
        except LiveInvalid as exc:
            raise LiveInvalid(exc.message, field="new_series_title", code=exc.code) from None
    moved = session is None or (data.starts_at, data.ends_at) != (session.scheduled_start, session.scheduled_end)
    if session is not None and session.status != LiveSession.Status.SCHEDULED:
        raise LiveInvalid(_("Only a scheduled session can be changed."), code="state")
    if moved:
        _check_times(data.starts_at, data.ends_at)
    series_brand = brand if new_series is not None else series.brand
    hosts = _staff(data.host_ids, field="hosts", required=True, brand=series_brand)
    assistants = _staff(data.assistant_ids, field="assistants", required=False, brand=series_brand)
    community_ids = sorted(set(data.community_ids))
    if not community_ids:
        raise LiveInvalid(_("Choose at least one target community."), field="communities")
    communities = list(Community.objects.filter(pk__in=community_ids, brand=series_brand))
    if len(communities) != len(community_ids):
        raise LiveInvalid(_("Choose communities of this series' brand."), field="communities")
    perk = _text(data.perk_summary, field="perk_summary", label=_("perk summary"), max_length=200)
    channels_url = _url(data.channels_live_url, field="channels_live_url")
    hls_url = _url(data.hls_url, field="hls_url")
    picture = _cover(cover)

    with transaction.atomic():
        if new_series is not None:
            try:
                with transaction.atomic():
                    series = LiveSeries.objects.create(
                        brand=brand, title=new_series.title, description=new_series.description
                    )
            except IntegrityError:
                raise LiveInvalid(
                    _("A series with this title already exists."), field="new_series_title", code="duplicate"
                ) from None
        if session is None:
            session = LiveSession(scheduled_start=data.starts_at, scheduled_end=data.ends_at)
        else:
            session = LiveSession.objects.select_for_update().get(pk=session.pk)
            if session.status != LiveSession.Status.SCHEDULED:
                raise LiveInvalid(_("Only a scheduled session can be changed."), code="state")
        session.series = series
        session.title = title
        session.perk_summary = perk
        session.channels_live_url = channels_url
        session.hls_url = hls_url
        is_new = session.pk is None
        session.save()
        if not is_new and moved:
            try:
                services.session_reschedule(session=session, by=by, starts_at=data.starts_at, ends_at=data.ends_at)
            except services.ScheduleError as exc:
                raise LiveInvalid(exc.message, field="scheduled_start") from None
        if picture is not None:
            session.cover.save(
                f"{session.pk}-{uuid.uuid4().hex[:16]}.{picture.extension}", ContentFile(picture.content), save=True
            )
        session.hosts.set(hosts)
        session.assistants.set(assistants)
        session.communities.set(communities)
    return session


# --- warm-up rounds ----------------------------------------------------------------------------------------


def warmup_round_add(*, by: User, session: LiveSession, data: RoundInput) -> WarmupRound:
    """Add one round to a scheduled session's warm-up plan: what it says, to whom, and when."""
    _check_operator(by)
    if data.kind not in WarmupRound.Kind.values or data.kind == WarmupRound.Kind.CANCELLED:
        raise LiveInvalid(_("Choose what kind of round this is."), field="kind")
    if data.audience not in WarmupRound.Audience.values:
        raise LiveInvalid(_("Choose who receives this round."), field="audience")
    title = _text(data.title, field="title", label=_("title"), max_length=100, required=True)
    body = _text(data.body, field="body", label=_("text"), max_length=1000)
    video = _url(data.teaser_video_url, field="teaser_video_url")
    if data.send_at <= clock.now():
        raise LiveInvalid(_("The round must be sent in the future."), field="send_at")
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().get(pk=session.pk)
        if session.status != LiveSession.Status.SCHEDULED:
            raise LiveInvalid(_("Only a scheduled session gets a warm-up plan."), code="state")
        if data.send_at > session.scheduled_start:
            raise LiveInvalid(_("A warm-up round goes out before the live starts."), field="send_at")
        return WarmupRound.objects.create(
            session=session,
            kind=data.kind,
            offset=session.scheduled_start - data.send_at,
            send_at=data.send_at,
            title=title,
            body=body,
            audience=data.audience,
            has_poster=data.has_poster,
            send_sms=data.send_sms,
            leader_copy=data.leader_copy,
            teaser_video_url=video,
        )


def warmup_round_remove(*, by: User, round_: WarmupRound) -> None:
    """Take a round out of the plan; a round already sent stays, as a record of what members got."""
    _check_operator(by)
    with transaction.atomic():
        locked = WarmupRound.objects.select_for_update().filter(pk=round_.pk).first()
        if locked is None or locked.status != WarmupRound.Status.PENDING:
            raise LiveInvalid(_("Only a round that has not gone out can be removed."), code="state")
        locked.delete()
