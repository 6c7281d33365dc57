"""Everything the platform holds about one member, as one JSON document (下载我的数据, PIPL art. 45).

Each section is read with the member's own id and nothing else, so the file can never carry another
member's data: other people appear only as what the member saw of them (a community's or a pickup point's
name), never their phone or account. Money is integer fen, times are ISO 8601 with the zone.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from aftersales.models import Request as AfterSalesRequest
from aftersales.models import RequestMessage
from analytics.models import DistinctId, Person
from community.models import Application, ConsentRecord, Invitation, Membership, User
from feedback.models import NpsSurvey, Review
from fission.models import HelpSeller
from fulfillment.models import Handout, Parcel
from groupbuy.stream.models import Event
from jielong.models import LedgerEntry, Order
from livestream.models import Comment, Notification, Reservation, WatchRecord

FORMAT_VERSION = 1
# A member of years may have tens of thousands of stream rows; the newest this many go in the file.
MAX_EVENTS = 20_000


def _rows(queryset: QuerySet, *fields: str) -> list[dict[str, Any]]:
    return list(queryset.values(*fields))


def _profile(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "phone": user.phone,
        "nickname": user.nickname,
        "email": user.email,
        "username": user.username,
        "role": user.role,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "privacy_notice_version": user.privacy_notice_version,
        "privacy_consent_at": user.privacy_consent_at,
    }


def _orders(user: User) -> list[dict[str, Any]]:
    orders = (
        Order.objects.filter(user=user)
        .select_related("campaign", "community", "pickup_point")
        .prefetch_related("lines__item__sku__product")
        .order_by("created_at", "pk")
    )
    result = []
    for order in orders:
        result.append(
            {
                "id": order.pk,
                "campaign": order.campaign.title,
                "campaign_id": order.campaign_id,
                "community": order.community.name,
                "pickup_point": order.pickup_point.name if order.pickup_point else None,
                "pickup_point_address": order.pickup_point.address if order.pickup_point else None,
                "jielong_number": order.seq,
                "status": order.status,
                "payment_status": order.payment_status,
                "total_fen": order.total_fen,
                "refunded_fen": order.refunded_fen,
                "note": order.note,
                "created_at": order.created_at,
                "paid_at": order.paid_at,
                "items": [
                    {
                        "product": line.item.sku.product.name,
                        "sku": line.item.sku.code,
                        "quantity": line.quantity,
                        "unit_price_fen": line.unit_price_fen,
                    }
                    for line in order.lines.all()
                ],
            }
        )
    return result


def _money(user: User) -> list[dict[str, Any]]:
    """Payments and refunds of the member's orders, and the commissions they earned (or gave back)."""
    return _rows(
        LedgerEntry.objects.filter(
            Q(order__user=user, kind__in=["payment", "refund", "credit"]) | Q(payee=user)
        ).order_by("created_at", "pk"),
        "kind",
        "amount_fen",
        "order_id",
        "reason",
        "created_at",
    )


def _aftersales(user: User) -> list[dict[str, Any]]:
    requests = AfterSalesRequest.objects.filter(user=user).order_by("opened_at", "pk")
    messages: dict[int, list[dict[str, Any]]] = {}
    # The thread as the member saw it: their own messages, and the steps and staff answers (no staff names).
    for row in (
        RequestMessage.objects.filter(request__user=user)
        .order_by("created_at", "pk")
        .values("request_id", "kind", "author_id", "is_staff", "body", "created_at")
    ):
        messages.setdefault(row["request_id"], []).append(
            {
                "from": "me" if row["author_id"] == user.pk else ("staff" if row["is_staff"] else "system"),
                "kind": row["kind"],
                "body": row["body"],
                "created_at": row["created_at"],
            }
        )
    return [
        {
            "id": r.pk,
            "order_id": r.order_id,
            "reason": r.reason,
            "asks_for": r.ask,
            "asked_fen": r.asked_fen,
            "description": r.description,
            "status": r.status,
            "resolution": r.resolution,
            "resolved_fen": r.resolved_fen,
            "opened_at": r.opened_at,
            "resolved_at": r.resolved_at,
            "messages": messages.get(r.pk, []),
        }
        for r in requests
    ]


def _events(user: User) -> list[dict[str, Any]]:
    person_ids = list(Person.objects.filter(user=user).values_list("pk", flat=True))
    mine = Q(user=user) | Q(person_id__in=person_ids) if person_ids else Q(user=user)
    rows = Event.objects.filter(mine).order_by("-id")[:MAX_EVENTS]
    return [
        {
            "event": e.name,
            "occurred_at": e.occurred_at,
            "source": e.source,
            "community_id": e.community_id,
            "live_session_id": e.live_session_id,
            "campaign_id": e.campaign_id,
            "order_id": e.order_id,
            "amount_fen": e.amount_fen,
            "properties": e.properties,
        }
        for e in reversed(list(rows))
    ]


def member_data(user: User) -> dict[str, Any]:
    """The member's data, section by section (see the module docstring)."""
    data: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "profile": _profile(user),
        "memberships": _rows(
            Membership.objects.filter(user=user).order_by("joined_at", "pk"),
            "community__name",
            "role",
            "status",
            "joined_at",
            "last_active_at",
            "default_pickup_point__name",
        ),
        "applications": _rows(
            Application.objects.filter(user=user).order_by("created_at", "pk"),
            "community__name",
            "answers",
            "score",
            "status",
            "created_at",
            "reviewed_at",
        ),
        "invitations": _rows(
            Invitation.objects.filter(inviter=user).order_by("created_at", "pk"),
            "community__name",
            "code",
            "uses",
            "created_at",
        ),
        "orders": _orders(user),
        "money": _money(user),
        "pickups": _rows(
            # Through the orders' parcels: hand-outs have no index by member.
            Handout.objects.filter(
                pk__in=Parcel.objects.filter(order__user=user, handout__isnull=False).values("handout_id"), user=user
            ).order_by("delivery_date", "pk"),
            "delivery_date",
            "pickup_point__name",
            "code",
            "verified_at",
        ),
        "aftersales_requests": _aftersales(user),
        "reviews": _rows(
            Review.objects.filter(user=user).order_by("created_at", "pk"),
            "order_id",
            "campaign__title",
            "rating",
            "text",
            "photo_count",
            "created_at",
        ),
        "nps_answers": _rows(
            NpsSurvey.objects.filter(user=user).order_by("created_at", "pk"),
            "campaign__title",
            "score",
            "reason",
            "created_at",
            "answered_at",
        ),
        "help_selling": _rows(
            HelpSeller.objects.filter(user=user).order_by("invited_at", "pk"),
            "campaign__title",
            "is_active",
            "invited_at",
        ),
        "live": {
            "reservations": _rows(
                Reservation.objects.filter(user=user).order_by("created_at", "pk"), "session__title", "created_at"
            ),
            "watched": _rows(
                WatchRecord.objects.filter(user=user).order_by("first_seen_at", "pk"),
                "session__title",
                "first_seen_at",
                "last_seen_at",
                "seconds_watched",
            ),
            "comments": _rows(
                Comment.objects.filter(user=user).order_by("created_at", "pk"),
                "session__title",
                "kind",
                "text",
                "status",
                "created_at",
            ),
            "inbox": _rows(
                Notification.objects.filter(user=user).order_by("created_at", "pk"),
                "title",
                "body",
                "created_at",
                "read_at",
            ),
        },
        "identifiers": _rows(
            DistinctId.objects.filter(person__user=user).order_by("created_at", "pk"), "kind", "value", "created_at"
        ),
        "events": _events(user),
        "consents": _rows(
            ConsentRecord.objects.filter(user=user).order_by("consented_at", "pk"), "version", "source", "consented_at"
        ),
    }
    return data


SECTION_LABELS = {
    "profile": _("profile"),
    "memberships": _("communities"),
    "applications": _("questionnaire answers"),
    "invitations": _("invitations"),
    "orders": _("orders"),
    "money": _("payments, refunds, commissions"),
    "pickups": _("pickups"),
    "aftersales_requests": _("after-sales"),
    "reviews": _("reviews"),
    "nps_answers": _("survey answers"),
    "help_selling": _("help-selling"),
    "live": _("live activity"),
    "identifiers": _("identifiers"),
    "events": _("events"),
    "consents": _("consents"),
}


def labelled_counts(counts_: dict[str, int]) -> list[tuple[str, int]]:
    """A download's counts for a reader: (section in their language, records), the empty ones left out."""
    return [(str(label), counts_[key]) for key, label in SECTION_LABELS.items() if counts_.get(key)]


def counts(data: dict[str, Any]) -> dict[str, int]:
    """How many records each section holds (what the download log keeps instead of the data)."""

    def size(value: Any) -> int:
        if isinstance(value, list):
            return len(value)
        if isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
            return sum(len(v) for v in value.values())
        return 1

    return {key: size(value) for key, value in data.items() if key in SECTION_LABELS}


def as_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1).encode()
