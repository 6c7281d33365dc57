"""Reading the log: the page's filters, narrowed to the brands a viewer may see, and each entry in words."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from groupbuy.money import format_fen

from . import actions
from .models import Entry

# The words for the fields entries record (raw keys show as themselves).
FIELD_LABELS = {
    "list_price_fen": gettext_lazy("price"),
    "cost_fen": gettext_lazy("cost"),
    "price_fen": gettext_lazy("price"),
    "perk_price_fen": gettext_lazy("perk price"),
    "stock": gettext_lazy("stock"),
    "delta": gettext_lazy("change"),
    "role": gettext_lazy("role"),
    "kind": gettext_lazy("counted as"),
    "rate_bp": gettext_lazy("rate"),
    "fixed_fen": gettext_lazy("per unit"),
    "leader_rate_bp": gettext_lazy("leader rate"),
    "attribution_days": gettext_lazy("attribution window (days)"),
    "refunded_fen": gettext_lazy("refunded"),
    "amount_fen": gettext_lazy("amount"),
    "credit_fen": gettext_lazy("credit"),
    "total_fen": gettext_lazy("total"),
    "orders": gettext_lazy("orders"),
    "payment_status": gettext_lazy("payment status"),
    "flagged": gettext_lazy("flagged"),
    "reason": gettext_lazy("reason"),
    "phone": gettext_lazy("phone"),
    "rows": gettext_lazy("rows"),
    "active": gettext_lazy("active"),
    "filters": gettext_lazy("filters"),
    "format": gettext_lazy("format"),
    "document": gettext_lazy("document"),
    "day": gettext_lazy("day"),
    "verifier_at": gettext_lazy("pickup verifier at"),
}


@dataclass(frozen=True)
class Filters:
    action: str = ""
    actor: str = ""  # a name, "system", "api token …"
    target_type: str = ""
    target: str = ""  # an id or part of the target's label
    since: date | None = None
    until: date | None = None  # inclusive


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def entries(*, brand_ids: Iterable[int] | None, filters: Filters = Filters()) -> QuerySet[Entry]:
    """The entries ``filters`` select, newest first; ``brand_ids`` None: every brand's (and none's), else
    only those brands' entries."""
    rows = Entry.objects.all()
    if brand_ids is not None:
        rows = rows.filter(brand_id__in=list(brand_ids))
    if filters.action:
        rows = rows.filter(action=filters.action)
    if filters.actor:
        # "system" in the reader's language (系统) finds the system's entries too.
        words = {filters.actor, "system"} if filters.actor.casefold() == _("system").casefold() else {filters.actor}
        wanted = Q()
        for word in words:
            wanted |= Q(actor_label__icontains=word) | Q(via__icontains=word)
        rows = rows.filter(wanted)
    if filters.target_type:
        rows = rows.filter(target_type=filters.target_type)
    if filters.target:
        rows = rows.filter(Q(target_id=filters.target) | Q(target_label__icontains=filters.target))
    if filters.since:
        rows = rows.filter(at__gte=_day_start(filters.since))
    if filters.until:
        rows = rows.filter(at__lt=_day_start(filters.until + timedelta(days=1)))
    return rows.order_by("-at", "-pk")


def target_types(*, brand_ids: Iterable[int] | None) -> list[str]:
    rows = Entry.objects.exclude(target_type="")
    if brand_ids is not None:
        rows = rows.filter(brand_id__in=list(brand_ids))
    return sorted(rows.values_list("target_type", flat=True).distinct())


# Stored codes of a few fields, in words (the kernel knows no app's choices; these msgids are the apps' own).
VALUE_LABELS = {
    ("kind", "percent"): gettext_lazy("Percentage of the item price"),
    ("kind", "fixed"): gettext_lazy("Fixed amount per unit"),
    ("role", "member"): gettext_lazy("Member"),
    ("role", "koc"): gettext_lazy("KOC"),
    ("role", "leader"): gettext_lazy("Leader"),
}


def _value(key: str, value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str) and (key, value) in VALUE_LABELS:
        return str(VALUE_LABELS[(key, value)])
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int) and key.endswith("_fen"):
        return format_fen(value)
    if isinstance(value, int) and key.endswith("_bp"):
        return f"{value / 100:g}%"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(k, v)}" for k, v in value.items())
    if isinstance(value, list):
        return "、".join(_value(key, v) for v in value)
    return str(value)


# A field of one of several things, stored as "<thing> · <field>" (a jielong's items): the field in words.
PART_LABELS = {
    "price": gettext_lazy("price"),
    "perk price": gettext_lazy("perk price"),
    "tiers": gettext_lazy("tier prices"),
}


def _field_label(key: str) -> str:
    if key in FIELD_LABELS:
        return str(FIELD_LABELS[key])
    thing, _sep, part = key.rpartition(" · ")
    if thing and part in PART_LABELS:
        return f"{thing} · {PART_LABELS[part]}"
    return key


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


def changes(entry: Entry) -> list[Change]:
    """The entry's before/after as lines a person reads: "price: ¥12.90 → ¥9.90"."""
    keys = list(dict.fromkeys([*entry.before, *entry.after]))
    return [
        Change(
            field=_field_label(key),
            before=_value(key, entry.before.get(key)) if key in entry.before else "—",
            after=_value(key, entry.after.get(key)) if key in entry.after else "—",
        )
        for key in keys
    ]


def _place_words(text: str) -> str:
    # The place is stored in English ("system", "command seed_demo", "api token gb_3f9a"): the page says it in the
    # reader's language.
    if text == "system":
        return _("system")
    if text.startswith("command "):
        return _("command %(name)s") % {"name": text.removeprefix("command ")}
    if text.startswith("api token "):
        return _("API token %(prefix)s") % {"prefix": text.removeprefix("api token ")}
    return text


def describe(entry: Entry) -> dict:
    """The entry as the page and the export show it."""
    return {
        "entry": entry,
        "action_label": actions.label(entry.action),
        "actor": entry.actor_label or _place_words(entry.via) or _("system"),
        "place": _place_words(entry.place) or _("system"),
        "changes": changes(entry),
    }
