"""Segments (人群包): saved rules over the stream and the models, counted live, used as audiences.

A rule is structured JSON, written by the builder form (never free text that we would have to parse)::

    {"match": "all",            # or "any"
     "conditions": [
        {"field": "watched_last_lives", "window": 2, "op": "gte", "value": 30},
        {"field": "orders_in_days", "window": 30, "op": "eq", "value": 0}]}

:func:`rule_check` refuses anything outside :data:`FIELDS` — an unknown field or operator, a value of the wrong
kind, a time window over 366 days, more than 10 lives, more than 6 conditions, a top-N over 1000 — with a
message that names the condition; nothing is saved then. :func:`members` compiles a checked rule into one ORM
queryset of users (each condition a ``Q``; the model conditions — KOC rank, RFM cell — become an id list from
the model of the moment), always within the active members of the brand's communities.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from community.models import Brand, Community, Membership, User
from feedback.models import NpsSurvey
from groupbuy import clock, events
from groupbuy.errors import DomainError
from groupbuy.stream.models import Event
from livestream.models import LiveSession, WatchRecord

from . import events as cdp_events
from . import koc, rfm
from .models import Segment

MAX_CONDITIONS = 6
MAX_DAYS = 366
MAX_LIVES = 10
MAX_TOP = 1000
MAX_VALUE = 10**9
EVENT_NAME = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")


logger = logging.getLogger(__name__)


class SegmentRuleInvalid(DomainError):
    """A rule that does not parse, names an unknown field or operator, or would read without bounds."""


@dataclass(frozen=True)
class FieldSpec:
    label: str
    ops: tuple[str, ...]
    window: str  # "days", "lives", "days_or_month" or "" (none)
    value: str  # "int", "choice"
    unit: str = ""
    choices: tuple[tuple[str, str], ...] = ()


OP_LABELS = {
    "gte": gettext_lazy("at least"),
    "lte": gettext_lazy("at most"),
    "eq": gettext_lazy("exactly"),
    "top": gettext_lazy("in the top"),
    "is": gettext_lazy("is"),
}

JOINED_CHOICES = (
    ("any", gettext_lazy("any way")),
    ("referral", gettext_lazy("through a referral")),
    ("other", gettext_lazy("not through a referral")),
)
NPS_CHOICES = (
    ("promoter", gettext_lazy("promoter (9–10)")),
    ("passive", gettext_lazy("passive (7–8)")),
    ("detractor", gettext_lazy("detractor (0–6)")),
)
ROLE_CHOICES = tuple((k, v) for k, v in Membership.Role.choices)

FIELDS: dict[str, FieldSpec] = {
    "watched_last_lives": FieldSpec(
        gettext_lazy("Minutes watched of the last N lives"), ("gte", "lte"), "lives", "int", gettext_lazy("min")
    ),
    "orders_in_days": FieldSpec(gettext_lazy("Orders in the last N days"), ("gte", "lte", "eq"), "days", "int"),
    "spend_in_days": FieldSpec(
        gettext_lazy("Spend in the last N days"), ("gte", "lte"), "days", "int", gettext_lazy("yuan")
    ),
    "joined_in_days": FieldSpec(
        gettext_lazy("Became a member in the last N days"), ("is",), "days_or_month", "choice", "", JOINED_CHOICES
    ),
    "koc_rank": FieldSpec(gettext_lazy("KOC score rank"), ("top",), "", "int"),
    "rfm_cell": FieldSpec(
        gettext_lazy("RFM cell"), ("is",), "", "choice", "", tuple((k, v) for k, v in rfm.CELL_LABELS.items())
    ),
    "nps": FieldSpec(gettext_lazy("Latest NPS answer"), ("is",), "", "choice", "", NPS_CHOICES),
    "role": FieldSpec(gettext_lazy("Community role"), ("is",), "", "choice", "", ROLE_CHOICES),
    "community": FieldSpec(gettext_lazy("Member of community"), ("is",), "", "int"),
    "event_count": FieldSpec(
        gettext_lazy("Stream events named … in the last N days"), ("gte", "lte", "eq"), "days", "int"
    ),
}


# --- checking ------------------------------------------------------------------------------------------


def rule_parse(text: str) -> dict:
    """A rule pasted as JSON (the builder's "advanced" box): parsed and checked, or refused."""
    try:
        rule = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise SegmentRuleInvalid(_("The rule is not valid JSON: %(error)s") % {"error": exc}, code="parse") from None
    return rule_check(rule)


def _int(raw, *, n: int, what: str, low: int, high: int) -> int:
    if isinstance(raw, bool):
        raw = None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise SegmentRuleInvalid(
            _("Condition %(n)s: %(what)s must be a whole number.") % {"n": n, "what": what}, code="value"
        ) from None
    if not low <= value <= high:
        raise SegmentRuleInvalid(
            _("Condition %(n)s: %(what)s must be between %(low)s and %(high)s.")
            % {"n": n, "what": what, "low": low, "high": high},
            code="bounds",
        )
    return value


def rule_check(rule, *, brand_id: int | None = None) -> dict:
    """The rule in its canonical form, or :class:`SegmentRuleInvalid` saying what is wrong."""
    if not isinstance(rule, dict) or not isinstance(rule.get("conditions"), list):
        raise SegmentRuleInvalid(_("A rule has a list of conditions."), code="shape")
    match = rule.get("match", "all")
    if match not in ("all", "any"):
        raise SegmentRuleInvalid(_("Match all or any of the conditions."), code="match")
    conditions = rule["conditions"]
    if not conditions:
        raise SegmentRuleInvalid(_("Add at least one condition."), code="empty")
    if len(conditions) > MAX_CONDITIONS:
        raise SegmentRuleInvalid(_("A segment has at most %(n)s conditions.") % {"n": MAX_CONDITIONS}, code="too_many")
    checked = []
    for n, raw in enumerate(conditions, start=1):
        if not isinstance(raw, dict):
            raise SegmentRuleInvalid(_("Condition %(n)s is not a condition.") % {"n": n}, code="shape")
        spec = FIELDS.get(raw.get("field"))
        if spec is None:
            raise SegmentRuleInvalid(
                _("Condition %(n)s: unknown field “%(field)s”.") % {"n": n, "field": raw.get("field")}, code="field"
            )
        op = raw.get("op")
        if op not in spec.ops:
            raise SegmentRuleInvalid(
                _("Condition %(n)s: “%(op)s” does not apply to %(field)s.") % {"n": n, "op": op, "field": spec.label},
                code="op",
            )
        condition = {"field": raw["field"], "op": op}
        if spec.window == "days":
            condition["window"] = _int(raw.get("window"), n=n, what=_("the number of days"), low=1, high=MAX_DAYS)
        elif spec.window == "lives":
            condition["window"] = _int(raw.get("window"), n=n, what=_("the number of lives"), low=1, high=MAX_LIVES)
        elif spec.window == "days_or_month":
            condition["window"] = (
                "month"
                if raw.get("window") == "month"
                else _int(raw.get("window"), n=n, what=_("the number of days"), low=1, high=MAX_DAYS)
            )
        if spec.value == "choice":
            if raw.get("value") not in dict(spec.choices):
                raise SegmentRuleInvalid(_("Condition %(n)s: choose a value.") % {"n": n}, code="value")
            condition["value"] = raw["value"]
        elif raw["field"] == "koc_rank":
            condition["value"] = _int(raw.get("value"), n=n, what=_("the top N"), low=1, high=MAX_TOP)
        elif raw["field"] == "community":
            condition["value"] = _int(raw.get("value"), n=n, what=_("the community"), low=1, high=2**62)
            communities = Community.objects.filter(pk=condition["value"])
            if brand_id is not None:
                communities = communities.filter(brand_id=brand_id)
            if not communities.exists():
                raise SegmentRuleInvalid(_("Condition %(n)s: no such community.") % {"n": n}, code="community")
        else:
            condition["value"] = _int(raw.get("value"), n=n, what=_("the value"), low=0, high=MAX_VALUE)
        if raw["field"] == "event_count":
            name = raw.get("event")
            if not isinstance(name, str) or not EVENT_NAME.match(name):
                raise SegmentRuleInvalid(
                    _("Condition %(n)s: name an event, e.g. live.entered.") % {"n": n}, code="event"
                )
            condition["event"] = name
        checked.append(condition)
    return {"match": match, "conditions": checked}


# --- compiling -------------------------------------------------------------------------------------------


def _compare(op: str, value: int, at_least: callable) -> Q:
    """``at_least(v)`` is a queryset of user ids whose amount is ≥ v (v ≥ 1)."""

    def ge(v: int) -> Q:
        return Q() if v <= 0 else Q(pk__in=at_least(v))

    def le(v: int) -> Q:
        return ~Q(pk__in=at_least(v + 1))

    if op == "gte":
        return ge(value)
    if op == "lte":
        return le(value)
    return ge(value) & le(value)


def _month_start(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _condition_q(c: dict, *, brand_id: int, now: datetime) -> Q:
    field, op, value = c["field"], c["op"], c["value"]
    if field == "watched_last_lives":
        lives = list(
            LiveSession.objects.filter(series__brand_id=brand_id, started_at__isnull=False, started_at__lt=now)
            .order_by("-started_at", "-pk")
            .values_list("pk", flat=True)[: c["window"]]
        )
        watched = WatchRecord.objects.filter(session_id__in=lives).values("user_id").annotate(s=Sum("seconds_watched"))
        return _compare(op, value, lambda v: watched.filter(s__gte=v * 60).values("user_id"))
    if field in ("orders_in_days", "spend_in_days"):
        orders = rfm.counted_orders(brand_id=brand_id).filter(
            created_at__gte=now - timedelta(days=c["window"]), created_at__lt=now
        )
        if field == "orders_in_days":
            per_user = orders.values("user_id").annotate(n=Count("pk"))
            return _compare(op, value, lambda v: per_user.filter(n__gte=v).values("user_id"))
        per_user = orders.values("user_id").annotate(s=Sum("total_fen"))
        return _compare(op, value * 100, lambda v: per_user.filter(s__gte=v).values("user_id"))
    if field == "event_count":
        events = Event.objects.filter(
            name=c["event"],
            user_id__isnull=False,
            occurred_at__gte=now - timedelta(days=c["window"]),
            occurred_at__lt=now,
        )
        per_user = events.values("user_id").annotate(n=Count("pk"))
        return _compare(op, value, lambda v: per_user.filter(n__gte=v).values("user_id"))
    if field == "joined_in_days":
        since = _month_start(now) if c["window"] == "month" else now - timedelta(days=c["window"])
        joined = Membership.objects.filter(
            user_id=OuterRef("pk"), community__brand_id=brand_id, joined_at__gte=since, joined_at__lt=now
        )
        if value == "referral":
            joined = joined.filter(invited_by__isnull=False)
        elif value == "other":
            joined = joined.filter(invited_by__isnull=True)
        # New: no membership of the brand before the window.
        earlier = Membership.objects.filter(user_id=OuterRef("pk"), community__brand_id=brand_id, joined_at__lt=since)
        return Q(Exists(joined)) & ~Q(Exists(earlier))
    if field == "koc_rank":
        top = koc.koc_scores(brand_id=brand_id, now=now)[:value]
        return Q(pk__in=[s.user_id for s in top if s.score > 0])
    if field == "rfm_cell":
        cells = rfm.rfm_cells(brand_id=brand_id, now=now)
        return Q(pk__in=[pk for pk, cell in cells.items() if cell.key == value])
    if field == "nps":
        low, high = {"promoter": (9, 10), "passive": (7, 8), "detractor": (0, 6)}[value]
        latest = (
            NpsSurvey.objects.filter(brand_id=brand_id, user_id=OuterRef("pk"), score__isnull=False)
            .order_by("-answered_at", "-pk")
            .values("score")[:1]
        )
        return Q(pk__in=User.objects.annotate(latest=latest).filter(latest__gte=low, latest__lte=high).values("pk"))
    if field == "role":
        return Q(
            Exists(
                Membership.objects.filter(
                    user_id=OuterRef("pk"), community__brand_id=brand_id, status=Membership.Status.ACTIVE, role=value
                )
            )
        )
    if field == "community":
        return Q(
            Exists(
                Membership.objects.filter(user_id=OuterRef("pk"), community_id=value, status=Membership.Status.ACTIVE)
            )
        )
    raise SegmentRuleInvalid(_("Unknown field."), code="field")  # rule_check lets none through


def members(*, brand_id: int, rule: dict, now: datetime | None = None) -> QuerySet[User]:
    """The users a (checked) rule selects now: active members of the brand's communities only."""
    now = now or clock.now()
    rule = rule_check(rule, brand_id=brand_id)
    qs = [_condition_q(c, brand_id=brand_id, now=now) for c in rule["conditions"]]
    combined = qs[0]
    for q in qs[1:]:
        combined = (combined & q) if rule["match"] == "all" else (combined | q)
    base = Membership.objects.filter(
        user_id=OuterRef("pk"), community__brand_id=brand_id, status=Membership.Status.ACTIVE
    )
    return User.objects.filter(Exists(base)).filter(combined).order_by("pk")


def count(*, brand_id: int, rule: dict, now: datetime | None = None) -> int:
    return members(brand_id=brand_id, rule=rule, now=now).count()


def describe(rule: dict) -> list[str]:
    """The conditions in words, for lists and the audience panel."""
    out = []
    for c in rule.get("conditions", []):
        spec = FIELDS.get(c.get("field"))
        if spec is None:
            continue
        value = dict(spec.choices).get(c.get("value"), c.get("value"))
        window = ""
        if "window" in c:
            window = str(_("this month")) if c["window"] == "month" else (_("N = %(n)s") % {"n": c["window"]})
        parts = [
            str(spec.label),
            c.get("event", ""),
            window,
            str(OP_LABELS.get(c.get("op"), "")),
            str(value),
            str(spec.unit),
        ]
        out.append(" ".join(p for p in parts if p))
    return out


# --- saving ------------------------------------------------------------------------------------------------


def segment_save(
    *, by: User, brand: Brand, name: str, rule: dict, segment: Segment | None = None, now: datetime | None = None
) -> Segment:
    """Create or change a saved segment. Operators only; the rule is checked first and nothing is saved if it
    is refused."""
    if not by.is_operator:
        raise SegmentRuleInvalid(_("Only operators can save segments."), code="forbidden")
    name = (name or "").strip()
    if not name:
        raise SegmentRuleInvalid(_("Give the segment a name."), code="name")
    if len(name) > 64:
        raise SegmentRuleInvalid(_("A segment name has at most 64 characters."), code="name")
    rule = rule_check(rule, brand_id=brand.pk)
    now = now or clock.now()
    try:
        with transaction.atomic():
            if segment is None:
                segment = Segment.objects.create(
                    brand=brand, name=name, rule=rule, created_by=by, created_at=now, updated_at=now
                )
            else:
                segment.name, segment.rule, segment.updated_at = name, rule, now
                segment.save(update_fields=["name", "rule", "updated_at"])
            events.publish(cdp_events.SegmentSaved(segment_id=segment.pk, brand_id=brand.pk, by=by.pk))
    except IntegrityError:
        raise SegmentRuleInvalid(
            _("There is already a segment called “%(name)s”.") % {"name": name}, code="name"
        ) from None
    return segment


def segments_of(*, user_id: int, brand_id: int, now: datetime | None = None) -> list[Segment]:
    """The brand's saved segments this person is in now (for the member 360). A saved rule that is no
    longer valid (edited outside the builder) matches nobody here rather than failing the page."""
    found = []
    for segment in Segment.objects.filter(brand_id=brand_id).order_by("name", "pk"):
        try:
            if members(brand_id=brand_id, rule=segment.rule, now=now).filter(pk=user_id).exists():
                found.append(segment)
        except SegmentRuleInvalid:
            logger.warning("segment %s has an invalid rule; left out of member 360", segment.pk)
    return found
