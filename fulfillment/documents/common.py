"""What every fulfilment document shares: the paper, change marks, packs and crates, names and phones."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

import phonenumbers
from django.db.models import Case, F, IntegerField, Q, Sum, When
from django.utils import translation

from catalogue.models import SKU, Product
from community.models import Membership, PickupPoint, User
from community.phones import mask_phone

PAPERS = ("a4", "80mm")
ZONE_LABELS = dict(Product.StorageType.choices)
ZONE_ORDER = {zone: i for i, zone in enumerate(["frozen", "chilled", "ambient"])}  # coldest loaded first
CHUNK = 2000  # rows per server-side cursor fetch


def zone_rank(field: str) -> Case:
    """Order by zone, coldest first (frozen, chilled, ambient): the order vans are loaded and crates stacked."""
    return Case(
        *(When(**{field: zone}, then=rank) for zone, rank in ZONE_ORDER.items()), default=9, output_field=IntegerField()
    )


def paper(value: str | None) -> str:
    """``?paper=80mm`` for an 80 mm thermal receipt; A4 otherwise."""
    return "80mm" if (value or "").lower() == "80mm" else "a4"


def packs(units: int, units_per_pack: int) -> int:
    """Whole packs (crates, boxes) for ``units``: the last one may be partly full."""
    return -(-units // max(units_per_pack or 1, 1))


def change_mark(previous: int | None, quantity: int, changed: bool) -> str:
    """ "3 → 2" for a row a later split changed (until acknowledged), else ""."""
    if not changed or previous is None or previous == quantity:
        return ""
    return f"{previous} → {quantity}"


def live_or_changed() -> Q:
    """Rows worth listing: something to move, or a change to tell (a row that fell to 0 stays, marked)."""
    return Q(quantity__gt=0) | Q(changed_at__isnull=False)


def previous_sum() -> Sum:
    """The total before the last changes: a changed row counts its previous quantity, the others their own."""
    return Sum(
        Case(When(changed_at__isnull=False, then=F("previous_quantity")), default=F("quantity")),
        output_field=IntegerField(),
    )


def zone_label(zone: str) -> str:
    return _zone_labels(translation.get_language()).get(zone, zone)


@functools.lru_cache(maxsize=8)
def _zone_labels(language: str | None) -> dict[str, str]:
    """The zones' names in one language, translated once (documents name a zone on every row)."""
    return {zone: str(label) for zone, label in ZONE_LABELS.items()}


def sku_label(product_name: str, spec: dict) -> str:
    return SKU.label(product_name, spec or {})


def spec_label(spec: dict | None) -> str:
    return " ".join(str(v) for v in (spec or {}).values())


def member_name(nickname: str, username: str | None, phone: str | None) -> str:
    """``User.display_name`` for rows read without the model."""
    return nickname or username or mask_phone(phone)


def full_phone(e164: str | None) -> str:
    """A number as dialled at home (``+8613812345678`` → ``138 1234 5678``): only where the job needs it."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


@dataclass(frozen=True, slots=True)
class SkuFacts:
    code: str
    product: str
    spec: str
    label: str  # product and spec: "散养鸡蛋 30枚/盒"
    unit: str
    zone: str
    units_per_pack: int
    pack_unit: str


def sku_facts(sku_ids) -> dict[int, SkuFacts]:
    """The SKUs a document names, read once (``sku_ids``: ids or a ``values("sku_id")`` queryset): rows then
    carry only the id, not the product's name and the spec's JSON on each of a day's 300k lines."""
    rows = SKU.objects.filter(pk__in=sku_ids).values_list(
        "pk", "code", "product__name", "spec", "unit", "zone", "units_per_pack", "pack_unit"
    )
    return {
        pk: SkuFacts(code, product, spec_label(spec), sku_label(product, spec), unit, zone, upp, pack_unit)
        for pk, code, product, spec, unit, zone, upp, pack_unit in rows
    }


@dataclass(frozen=True)
class Contact:
    """Who takes delivery at a stop: the point's leader (full phone: the driver calls them)."""

    name: str
    phone: str


def point_contacts(point_ids) -> dict[int, Contact]:
    """The contact of each pickup point: its leader, else an active 团长 of its community."""
    points = list(PickupPoint.objects.filter(pk__in=point_ids).values_list("pk", "community_id", "leader_id"))
    leader_ids = {leader for _pk, _community, leader in points if leader}
    community_leader: dict[int, int] = {}
    missing = {community for _pk, community, leader in points if not leader}
    for community_id, user_id in (
        Membership.objects.filter(
            community_id__in=missing, role=Membership.Role.LEADER, status=Membership.Status.ACTIVE
        )
        .order_by("pk")
        .values_list("community_id", "user_id")
    ):
        community_leader.setdefault(community_id, user_id)
    users = {
        pk: Contact(member_name(nickname, username, phone), full_phone(phone))
        for pk, nickname, username, phone in User.objects.filter(
            pk__in=leader_ids | set(community_leader.values())
        ).values_list("pk", "nickname", "username", "phone")
    }
    contacts = {}
    for pk, community, leader in points:
        user_id = leader or community_leader.get(community)
        if user_id in users:
            contacts[pk] = users[user_id]
    return contacts


def day_title(kind: str, target: str, delivery_date: date) -> str:
    return f"{kind} · {target} · {delivery_date.isoformat()}"
