"""NPS (净推荐值): one question per member per delivered campaign, asked after pickup, answered once.

How a survey is made and told, durably:

1. ``surveys_ask`` inserts one ``NpsSurvey`` per (member, campaign) with a picked-up parcel and none yet,
   ignoring conflicts (``nps_once_per_member_campaign``). It runs from the ``OrderPickedUp`` subscriber (right
   after the 核销 commits) and from the periodic sweep ``feedback.tasks.ask_nps`` over recent pickups, so a lost
   after-commit hook costs one sweep interval, never a survey.
2. ``surveys_notify`` claims untold surveys with ``SKIP LOCKED`` and, in the same transaction, writes the inbox
   message and stamps ``notified_at``: all of it commits or none of it, so each member is told exactly once.

Inbox only, no SMS: the member has just been at the counter and got the pickup receipt in the inbox; the
survey also waits on their order page and home. A text would cost money per member and delivery, and a
"rate us" message is marketing that China's SMS rules put behind consent — not worth it for a survey.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from community.models import Brand, User
from fulfillment.models import Parcel
from groupbuy import clock, events
from groupbuy.errors import DomainError
from livestream.models import Notification

from . import events as feedback_events
from .models import NpsSurvey

# The sweep looks this far back for pickups without a survey (a member asked a month later would not care).
SWEEP_WINDOW = timedelta(days=14)
NOTIFY_BATCH = 500
REASON_MAX = 500

PROMOTER_MIN = 9
DETRACTOR_MAX = 6


class NpsRefused(DomainError):
    pass


def brand_question(brand_name: str) -> str:
    return _("How likely are you to recommend %(brand)s to a neighbour?") % {"brand": brand_name}


# --- asking ----------------------------------------------------------------------------------------------


def surveys_ask(*, order_ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Make the missing surveys for picked-up orders (``order_ids``, or every pickup within the sweep window) and
    tell their members. Safe to run twice and in parallel; returns how many members were told."""
    now = now or clock.now()
    if order_ids is not None:
        _ask(Parcel.objects.filter(state=Parcel.State.PICKED_UP, pk__in=list(order_ids)), now=now)
    else:
        # Brand by brand over recent delivery days: the parcels' (brand, delivery_date, state) index answers it.
        since = clock.localdate() - SWEEP_WINDOW - timedelta(days=1)
        for brand_id in Brand.objects.order_by("pk").values_list("pk", flat=True):
            recent = Parcel.objects.filter(brand_id=brand_id, delivery_date__gte=since, state=Parcel.State.PICKED_UP)
            _ask(recent.filter(picked_up_at__gte=now - SWEEP_WINDOW), now=now)
    return surveys_notify(now=now)


def _ask(parcels: QuerySet[Parcel], *, now: datetime) -> None:
    missing = parcels.filter(
        ~Exists(
            NpsSurvey.objects.filter(user_id=OuterRef("order__user_id"), campaign_id=OuterRef("order__campaign_id"))
        )
    ).values_list("order_id", "order__user_id", "order__campaign_id", "order__community_id", "brand_id")
    rows = {}
    for order_id, user_id, campaign_id, community_id, brand_id in missing.order_by("order_id"):
        rows.setdefault((user_id, campaign_id), (order_id, community_id, brand_id))
    if rows:
        NpsSurvey.objects.bulk_create(
            [
                NpsSurvey(
                    user_id=user_id,
                    campaign_id=campaign_id,
                    order_id=order_id,
                    community_id=community_id,
                    brand_id=brand_id,
                    created_at=now,
                )
                for (user_id, campaign_id), (order_id, community_id, brand_id) in rows.items()
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )


def surveys_notify(*, now: datetime | None = None) -> int:
    """Put each untold survey in its member's inbox, exactly once (claim, write and stamp in one transaction)."""
    now = now or clock.now()
    told = 0
    while True:
        with transaction.atomic():
            batch = list(
                NpsSurvey.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(notified_at__isnull=True)
                .select_related("brand")
                .order_by("pk")[:NOTIFY_BATCH]
            )
            if not batch:
                return told
            with translation.override(settings.LANGUAGE_CODE):
                messages = [
                    Notification(
                        user_id=survey.user_id,
                        title=_("One question about your order"),
                        body=brand_question(survey.brand.name) + " " + _("Answer with one tap."),
                        link=reverse("feedback:member-nps", args=[survey.pk]),
                        created_at=now,
                    )
                    for survey in batch
                ]
            Notification.objects.bulk_create(messages)
            ids = [survey.pk for survey in batch]
            NpsSurvey.objects.filter(pk__in=ids).update(notified_at=now)
            events.publish(feedback_events.NpsAsked(survey_ids=tuple(ids)))
            told += len(batch)


# --- answering -------------------------------------------------------------------------------------------


def _score(value) -> int:
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = -1
    if not 0 <= score <= 10:
        raise NpsRefused(_("Choose a score from 0 to 10."), code="score")
    return score


def nps_answer(*, survey_id: int, user: User, score, reason: str = "") -> NpsSurvey:
    """The member's one answer; a second one is refused and changes nothing."""
    score = _score(score)
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise NpsRefused(_("Keep the reason under %(n)s characters.") % {"n": REASON_MAX}, code="reason")
    now = clock.now()
    with transaction.atomic():
        won = NpsSurvey.objects.filter(pk=survey_id, user_id=user.pk, answered_at__isnull=True).update(
            score=score, reason=reason, answered_at=now
        )
        survey = NpsSurvey.objects.filter(pk=survey_id, user_id=user.pk).first()
        if survey is None:
            raise NpsRefused(_("This survey does not exist."), code="not_found")
        if not won:
            raise NpsRefused(_("You have already answered, thank you."), code="already_answered")
        events.publish(
            feedback_events.NpsAnswered(
                survey_id=survey.pk,
                user_id=user.pk,
                campaign_id=survey.campaign_id,
                community_id=survey.community_id,
                score=score,
            )
        )
    return survey


def nps_add_reason(*, survey_id: int, user: User, reason: str) -> NpsSurvey:
    """A reason written after the one-tap answer (the score stays as answered; a reason is written once)."""
    reason = (reason or "").strip()
    if not reason:
        raise NpsRefused(_("Write a few words, or leave the page."), code="reason")
    if len(reason) > REASON_MAX:
        raise NpsRefused(_("Keep the reason under %(n)s characters.") % {"n": REASON_MAX}, code="reason")
    won = NpsSurvey.objects.filter(pk=survey_id, user_id=user.pk, answered_at__isnull=False, reason="").update(
        reason=reason
    )
    survey = NpsSurvey.objects.filter(pk=survey_id, user_id=user.pk).first()
    if survey is None:
        raise NpsRefused(_("This survey does not exist."), code="not_found")
    if not won:
        code = "not_answered" if survey.answered_at is None else "already_answered"
        raise NpsRefused(_("You have already answered, thank you."), code=code)
    return survey


def open_surveys(*, user: User) -> QuerySet[NpsSurvey]:
    return NpsSurvey.objects.filter(user=user, answered_at__isnull=True).select_related("campaign", "brand")


# --- the arithmetic --------------------------------------------------------------------------------------


def band(score: int) -> str:
    if score >= PROMOTER_MIN:
        return "promoter"
    if score <= DETRACTOR_MAX:
        return "detractor"
    return "passive"


def nps_value(*, promoters: int, passives: int, detractors: int) -> int | None:
    """NPS = % promoters (9–10) − % detractors (0–6), as an integer rounded half away from zero; None when
    nobody answered."""
    answers = promoters + passives + detractors
    if not answers:
        return None
    exact = Decimal(100 * (promoters - detractors)) / Decimal(answers)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclasses.dataclass(frozen=True)
class NpsRow:
    key: object
    label: str
    answers: int
    promoters: int
    passives: int
    detractors: int

    @property
    def nps(self) -> int | None:
        return nps_value(promoters=self.promoters, passives=self.passives, detractors=self.detractors)

    def share(self, part: int) -> int:
        return round(100 * part / self.answers) if self.answers else 0

    @property
    def promoter_pct(self) -> int:
        return self.share(self.promoters)

    @property
    def passive_pct(self) -> int:
        return self.share(self.passives)

    @property
    def detractor_pct(self) -> int:
        return self.share(self.detractors)


GROUPS = {
    "campaign": (gettext_lazy("Campaign"), "campaign_id", "campaign__title"),
    "session": (gettext_lazy("Live session"), "campaign__live_session_id", "campaign__live_session__title"),
    "series": (gettext_lazy("Series"), "campaign__live_session__series_id", "campaign__live_session__series__title"),
    "community": (gettext_lazy("Community"), "community_id", "community__name"),
    "period": (gettext_lazy("Month"), "month", None),
}


def answered(*, brand: Brand, since: date | None = None, until: date | None = None) -> QuerySet[NpsSurvey]:
    surveys = NpsSurvey.objects.filter(brand=brand, answered_at__isnull=False)
    if since:
        surveys = surveys.filter(answered_at__date__gte=since)
    if until:
        surveys = surveys.filter(answered_at__date__lte=until)
    return surveys


_COUNTS = {
    "answers": Count("pk"),
    "promoters": Count("pk", filter=Q(score__gte=PROMOTER_MIN)),
    "detractors": Count("pk", filter=Q(score__lte=DETRACTOR_MAX)),
}


def nps_total(surveys: QuerySet[NpsSurvey]) -> NpsRow:
    c = surveys.aggregate(**_COUNTS)
    return NpsRow(
        None, "", c["answers"], c["promoters"], c["answers"] - c["promoters"] - c["detractors"], c["detractors"]
    )


def nps_by(surveys: QuerySet[NpsSurvey], *, group: str) -> list[NpsRow]:
    """NPS per campaign, live session, series, community or month (newest month first; others by answers)."""
    _title, key, label = GROUPS[group]
    if group == "period":
        surveys = surveys.annotate(month=TruncMonth("answered_at"))
        fields = ["month"]
    else:
        fields = [key, label]
    rows = []
    for r in surveys.values(*fields).annotate(**_COUNTS).order_by():
        passives = r["answers"] - r["promoters"] - r["detractors"]
        if group == "period":
            month = r["month"]
            text = f"{month:%Y-%m}" if month else "—"
            rows.append(NpsRow(month, text, r["answers"], r["promoters"], passives, r["detractors"]))
        else:
            rows.append(NpsRow(r[key], r[label] or "—", r["answers"], r["promoters"], passives, r["detractors"]))
    if group == "period":
        rows.sort(key=lambda row: str(row.key), reverse=True)
    else:
        rows.sort(key=lambda row: (-row.answers, row.label))
    return rows


def reasons_by_band(surveys: QuerySet[NpsSurvey], *, limit: int = 50) -> dict[str, list[NpsSurvey]]:
    """The written reasons, newest first, in the three bands (what to fix reads under detractors)."""
    with_reason = surveys.exclude(reason="").select_related("campaign", "community").order_by("-answered_at", "-pk")
    return {
        "detractor": list(with_reason.filter(score__lte=DETRACTOR_MAX)[:limit]),
        "passive": list(with_reason.filter(score__gt=DETRACTOR_MAX, score__lt=PROMOTER_MIN)[:limit]),
        "promoter": list(with_reason.filter(score__gte=PROMOTER_MIN)[:limit]),
    }
