"""Identity (CDP): one ``Person`` per human across channels, found by any of their distinct ids.

The rules (issue 14 item 2):

- A signed-in account is ``user:<id>``; its person also owns ``phone:<E.164>`` and, when an integration
  supplies them, ``openid:…`` / ``unionid:…`` (``link``).
- Someone who opens a share link or the live room before signing in is ``device:<uuid>`` (the cookie of
  ``analytics.middleware``); their events carry that id and belong to an anonymous person.
- On sign-in (``identify``) the device's anonymous person merges into the account's person, with its
  events. Two identified persons are never merged automatically — not by a shared device, not by a
  WeChat id already linked elsewhere; an operator can (``operator_merge``), and every merge, automatic or
  not, leaves a ``PersonMerge`` record.
- The stream's ``person_id`` is filled in by ``resolve_events`` (a durable consumer of the stream, run
  by the relay shortly after the write); ``person_events`` also finds the rows not resolved yet.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from community.access import for_staff
from community.models import User
from community.phones import normalize_phone
from groupbuy import clock
from groupbuy.errors import DomainError
from groupbuy.stream.envelope import distinct_id_of_device, distinct_id_of_user
from groupbuy.stream.models import Cursor

from .models import DistinctId, Event, Person, PersonMerge

logger = logging.getLogger(__name__)

Kind = DistinctId.Kind
IDENTITY_CONSUMER = "analytics.identity"  # the relay's consumer that fills in the stream's person_id


class IdentityError(DomainError):
    pass


def _root(person: Person) -> Person:
    seen = set()
    while person.merged_into_id is not None and person.pk not in seen:
        seen.add(person.pk)
        person = Person.objects.get(pk=person.merged_into_id)
    return person


def kind_of(value: str) -> str:
    return value.partition(":")[0]


def person_of(value: str) -> Person | None:
    """The (unmerged) person who owns distinct id ``value``, if anyone does."""
    row = DistinctId.objects.select_related("person").filter(value=value).first()
    return _root(row.person) if row else None


def person_for_user(user: User) -> Person:
    """The account's person, made on first need with the account and phone ids (a phone already owned
    by another identified person is left there: nothing merges two identified persons by itself)."""
    found = person_of(distinct_id_of_user(user.pk))
    if found is not None:
        return found
    with transaction.atomic():
        person, _created = Person.objects.get_or_create(user=user, defaults={"created_at": clock.now()})
        person = _root(person)
        DistinctId.objects.get_or_create(
            value=distinct_id_of_user(user.pk), defaults={"kind": Kind.ACCOUNT, "person": person}
        )
        if user.phone:
            _attach(person, f"{Kind.PHONE}:{user.phone}", Kind.PHONE)
    return person


def person_for_device(device_id: str) -> Person:
    value = distinct_id_of_device(device_id)
    found = person_of(value)
    if found is not None:
        return found
    with transaction.atomic():
        person = Person.objects.create(created_at=clock.now())
        row, created = DistinctId.objects.get_or_create(value=value, defaults={"kind": Kind.DEVICE, "person": person})
        if not created:  # someone else made it meanwhile
            person.delete()
            return _root(row.person)
    return person


def _attach(person: Person, value: str, kind: str) -> Person:
    """Give ``person`` the id ``value``: new → theirs; an anonymous owner → merged into them; another
    identified owner → refused (an operator decides)."""
    owner = person_of(value)
    if owner is None:
        DistinctId.objects.get_or_create(value=value, defaults={"kind": kind, "person": person})
        return person
    if owner.pk == person.pk:
        return person
    if owner.is_identified:
        raise IdentityError(
            _("This id already belongs to another member; an operator can merge the two if they are one person."),
            code="identified_elsewhere",
        )
    merge(kept=person, absorbed=owner, automatic=True, reason=f"{kind} {value} signed in")
    return person


def identify(user: User, *, device_id: str = "") -> Person:
    """Sign-in: the account's person takes over the device's anonymous history. A device last used by
    another identified person stays theirs (a shared phone is not a reason to merge two people)."""
    person = person_for_user(user)
    if device_id:
        try:
            _attach(person, distinct_id_of_device(device_id), Kind.DEVICE)
        except IdentityError:
            logger.info("device %s signed in as user %s but belongs to another person; not merged", device_id, user.pk)
    return person


def link(user: User, *, kind: str, value: str) -> Person:
    """An integration supplies another id of the account (WeChat openid / unionid, a phone)."""
    if kind not in (Kind.PHONE, Kind.WECHAT_OPENID, Kind.WECHAT_UNIONID, Kind.DEVICE):
        raise IdentityError(_("Unknown kind of id."), code="bad_kind")
    value = value.strip()
    if not value or len(value) > 90:
        raise IdentityError(_("Enter a valid id."), code="bad_value")
    with transaction.atomic():
        return _attach(person_for_user(user), f"{kind}:{value}", kind)


def merge(
    *, kept: Person, absorbed: Person, by: User | None = None, reason: str = "", automatic: bool = False
) -> PersonMerge:
    """Move ``absorbed``'s ids and events to ``kept`` and record it. Automatic merges may only absorb an
    anonymous person (the rule above); ``operator_merge`` is the way for two identified ones."""
    kept, absorbed = _root(kept), _root(absorbed)
    if kept.pk == absorbed.pk:
        raise IdentityError(_("These are already the same person."), code="same_person")
    if automatic and absorbed.is_identified:
        raise IdentityError(_("Two identified members are never merged automatically."), code="identified")
    with transaction.atomic():
        # Lock both, in id order, so two merges of the same people cannot cross.
        list(Person.objects.select_for_update().filter(pk__in=[kept.pk, absorbed.pk]).order_by("pk"))
        values = list(DistinctId.objects.filter(person=absorbed).order_by("pk").values_list("value", flat=True))
        DistinctId.objects.filter(person=absorbed).update(person=kept)
        moved = Event.objects.filter(person_id=absorbed.pk).update(person_id=kept.pk)
        # Rows the relay has not resolved yet (only after its cursor) go along now, not a moment later.
        moved += Event.objects.filter(pk__gt=_resolved_up_to(), person_id=None, distinct_id__in=values).update(
            person_id=kept.pk
        )
        Person.objects.filter(merged_into=absorbed).update(merged_into=kept)
        Person.objects.filter(pk=absorbed.pk).update(merged_into=kept)
        absorbed.merged_into = kept
        return PersonMerge.objects.create(
            kept=kept,
            absorbed=absorbed,
            automatic=automatic,
            by=by,
            reason=reason,
            distinct_ids=values,
            events=moved,
            at=clock.now(),
        )


def operator_merge(*, kept_user: User, absorbed_phone: str, by: User, reason: str) -> PersonMerge:
    """An operator says two accounts are one human: the account with ``absorbed_phone`` goes into
    ``kept_user``'s person (both accounts stay; their events now count as one person's)."""
    if not by.is_operator:
        raise IdentityError(_("Only an operator can merge members."), code="forbidden")
    reason = reason.strip()
    if not reason:
        raise IdentityError(_("Say why these are one person (it is kept with the merge)."), code="no_reason")
    try:
        phone = normalize_phone(absorbed_phone)
    except ValidationError:
        phone = None
    # a brand's operator merges only people of their brand's communities: anyone else reads as no member
    people = for_staff(User.objects.all(), user=by, via="memberships__community__brand")
    other = people.filter(phone=phone).first() if phone else None
    if other is None:
        raise IdentityError(_("No member has this phone number."), code="no_member")
    if other.pk == kept_user.pk:
        raise IdentityError(_("These are already the same person."), code="same_person")
    with transaction.atomic():  # a refusal leaves no person made on the way
        return merge(kept=person_for_user(kept_user), absorbed=person_for_user(other), by=by, reason=reason)


# --- the stream's person_id ---------------------------------------------------------------------------


def resolve_events(rows: Iterable[Event]) -> int:
    """Fill in ``person_id`` of stream rows from their distinct ids (the relay's consumer
    ``analytics.identity``; idempotent). Makes the person of an id seen for the first time."""
    by_value: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        value = row.distinct_id or (distinct_id_of_user(row.user_id) if row.user_id else "")
        if row.person_id is None and value:
            by_value[value].append(row.pk)
    if not by_value:
        return 0
    owners = {
        value: person_id
        for value, person_id in DistinctId.objects.filter(value__in=list(by_value)).values_list("value", "person_id")
    }
    roots = _roots(set(owners.values()))
    by_person: dict[int, list[int]] = defaultdict(list)
    for value, pks in by_value.items():
        person_id = roots.get(owners.get(value))
        if person_id is None:
            kind, _sep, rest = value.partition(":")
            if kind == Kind.ACCOUNT:
                user = User.objects.filter(pk=int(rest)).first() if rest.isdigit() else None
                if user is None:
                    continue
                person_id = person_for_user(user).pk
            elif kind == Kind.DEVICE:
                person_id = person_for_device(rest).pk
            else:
                continue
        by_person[person_id].extend(pks)
    resolved = 0
    for person_id, pks in by_person.items():
        resolved += Event.objects.filter(pk__in=pks, person_id__isnull=True).update(person_id=person_id)
    return resolved


def _roots(person_ids: set[int]) -> dict[int, int]:
    """{person id: the id of the person it was (eventually) merged into, or itself}."""
    parents = dict(Person.objects.filter(pk__in=person_ids).values_list("pk", "merged_into_id"))
    roots = {}
    for pk in person_ids:
        current, hops = pk, 0
        while parents.get(current) and hops < 32:
            current = parents[current]
            if current not in parents:
                parents[current] = Person.objects.filter(pk=current).values_list("merged_into_id", flat=True).first()
            hops += 1
        roots[pk] = current
    return roots


def _resolved_up_to() -> int:
    return Cursor.objects.filter(name=IDENTITY_CONSUMER).values_list("position", flat=True).first() or 0


def reset_resolution() -> None:
    """For a rebuild: forget every resolved ``person_id`` (the persons and their ids stay)."""
    Event.objects.exclude(person_id=None).update(person_id=None)


def person_events(person: Person) -> QuerySet[Event]:
    """A person's events: resolved to them, or not yet resolved but carrying one of their ids."""
    person = _root(person)
    values = list(person.distinct_ids.values_list("value", flat=True))
    return Event.objects.filter(
        Q(person_id=person.pk) | Q(pk__gt=_resolved_up_to(), person_id=None, distinct_id__in=values)
    )


# --- for the operator's identity page -----------------------------------------------------------------


@dataclass(frozen=True)
class PersonSummary:
    ids: list[DistinctId]
    events: int
    recent: list[Event]
    merges: list[PersonMerge]
    accounts: list[User]  # the accounts whose persons were merged into this one (and its own)


def person_summary_of_user(user: User, *, recent: int = 20) -> PersonSummary:
    """What the identity page shows for an account (reads only: a person not made yet is not made here)."""
    person = person_of(distinct_id_of_user(user.pk))
    if person is not None:
        return person_summary(person, recent=recent)
    stream = Event.objects.filter(distinct_id=distinct_id_of_user(user.pk))
    return PersonSummary(
        ids=[],
        events=stream.count(),
        recent=list(stream.order_by("-occurred_at", "-pk")[:recent]),
        merges=[],
        accounts=[],
    )


def person_summary(person: Person, *, recent: int = 20) -> PersonSummary:
    person = _root(person)
    stream = person_events(person)
    merges = list(
        PersonMerge.objects.filter(Q(kept=person) | Q(absorbed=person))
        .select_related("by", "absorbed__user", "kept__user")
        .order_by("-at", "-pk")
    )
    absorbed = Person.objects.filter(merged_into=person).exclude(user=None).select_related("user")
    return PersonSummary(
        ids=list(person.distinct_ids.order_by("kind", "pk")),
        events=stream.count(),
        recent=list(stream.order_by("-occurred_at", "-pk")[:recent]),
        merges=merges,
        accounts=[p.user for p in absorbed],
    )


def merged_message(merge: PersonMerge) -> str:
    return _("Merged: %(ids)s ids and %(events)s events now belong to this person.") % {
        "ids": len(merge.distinct_ids),
        "events": merge.events,
    }
