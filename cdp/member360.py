"""Member 360 (会员360): everything the platform knows about one person, on one operator's page.

Keyed on the account (``User``); the timeline reads the event stream through the person (``analytics.Person``,
with their merged ids and anonymous history) when one exists, else the account's own rows. Who may look, and
who may see the full phone number, is decided here (:func:`check_view`, :func:`phone_unmask`): operators
only — a leader sees their members on their community's pages, never this page — and every full number shown
is an audit row (:class:`cdp.models.PhoneUnmask`, shown on the page; and the audit log's entry) and an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.models import Request as AftersalesRequest
from analytics.models import Event, Person
from community.access import staff_brand_ids
from community.models import Brand, Community, Membership, User
from feedback.models import NpsSurvey
from fission import selectors as fission_selectors
from groupbuy import audit, clock, events
from groupbuy.errors import DomainError
from jielong.models import Campaign, Order
from livestream.models import LiveSession, WatchRecord

from . import events as cdp_events
from . import koc, rfm, segments, snapshots
from .models import PhoneUnmask

# The timeline's words for the facts a member's history is mostly made of; other events show their name.
EVENT_LABELS = {
    "community.member_joined": gettext_lazy("Joined a community"),
    "community.member_left": gettext_lazy("Left a community"),
    "community.role_changed": gettext_lazy("Community role changed"),
    "livestream.reserved": gettext_lazy("Reserved a live"),
    "livestream.entered": gettext_lazy("Entered a live"),
    "livestream.left": gettext_lazy("Left a live"),
    "livestream.commented": gettext_lazy("Commented in a live"),
    "livestream.asked": gettext_lazy("Asked a question in a live"),
    "jielong.order_joined": gettext_lazy("Joined a jielong"),
    "jielong.order_cancelled": gettext_lazy("Cancelled an order"),
    "jielong.order_paid": gettext_lazy("Paid"),
    "jielong.refund_issued": gettext_lazy("Refunded"),
    "fulfillment.order_picked_up": gettext_lazy("Picked up"),
    "aftersales.request_opened": gettext_lazy("Opened an after-sales request"),
    "feedback.review_posted": gettext_lazy("Posted a review"),
    "feedback.nps_answered": gettext_lazy("Answered the NPS question"),
    "fission.order_attributed": gettext_lazy("Order credited to a help-seller"),
    "analytics.link_opened": gettext_lazy("Opened a shared link"),
    "cdp.koc_designated": gettext_lazy("Designated KOC"),
    "cdp.phone_unmasked": gettext_lazy("Full phone shown to an operator"),
}
TIMELINE = 60
ORDERS = 20
LIVES = 20
SUBTREE_DEPTH = 3
SUBTREE_SIZE = 100


class MemberViewRefused(DomainError):
    """Someone other than an operator asked for a member's page or their full phone number."""


def check_view(*, viewer: User, member: User) -> None:
    """Operators may open any member's 360; nobody else (leaders use their community's member pages)."""
    if not viewer.is_authenticated or not viewer.is_operator:
        raise MemberViewRefused(
            _(
                "Member 360 is for the brand's operators. Leaders see their own members on their community's "
                "member list, with the phone masked."
            ),
            code="forbidden",
        )


def phone_unmask(*, viewer: User, member: User, now: datetime | None = None) -> str:
    """The full number, for an operator, logged (who, whose, when); refused for anyone else, nothing logged."""
    check_view(viewer=viewer, member=member)
    if not member.phone:
        raise MemberViewRefused(_("This member has no phone number."), code="no_phone")
    with transaction.atomic():
        PhoneUnmask.objects.create(viewer=viewer, member=member, at=now or clock.now())
        events.publish(cdp_events.PhoneUnmasked(user_id=member.pk, by=viewer.pk))
        audit.record("cdp.phone_unmasked", actor=viewer, target=member, brand_id=viewer.brand_id)
    return member.phone


@dataclass(frozen=True)
class ReferralNode:
    user: User
    depth: int
    net_fen: int


@dataclass(frozen=True)
class BrandFigures:
    brand: Brand
    ltv_fen: int
    rfm: rfm.RfmCell | None
    koc: koc.KocScore | None
    koc_rank: int | None
    koc_total: int
    segments: list


@dataclass(frozen=True)
class Member360:
    member: User
    person: Person | None
    memberships: list[Membership]
    timeline: list[Event]
    event_total: int
    orders: list[Order]
    order_count: int
    gmv_fen: int
    watch: list[WatchRecord]
    watched_seconds: int
    referrals: list[ReferralNode]
    referrals_truncated: bool
    earnings: dict
    aftersales: list[AftersalesRequest]
    nps: list[NpsSurvey]
    brands: list[BrandFigures]
    unmasks: list[PhoneUnmask]


def _timeline(member: User, person: Person | None):
    stream = Event.objects.filter(user_id=member.pk)
    if person is not None:
        from analytics import identity

        stream = Event.objects.filter(Q(pk__in=identity.person_events(person).values("pk")) | Q(user_id=member.pk))
    return stream


def _labelled(rows) -> list[Event]:
    rows = list(rows)
    for row in rows:
        row.label = EVENT_LABELS.get(row.name, "")
    return rows


def referral_subtree(member: User, *, brand_ids: frozenset[int] | None = None) -> tuple[list[ReferralNode], bool]:
    """Whom they invited, and whom those invited (depth ≤ 3, ≤ 100 people), breadth first; with ``brand_ids``,
    only invitations into those brands' communities, and only spend there (a brand operator's view)."""
    invitations = Membership.objects.all()
    counted = rfm.counted_orders()
    if brand_ids is not None:
        invitations = invitations.filter(community__brand__in=brand_ids)
        counted = counted.filter(campaign__brand__in=brand_ids)
    nodes: list[ReferralNode] = []
    seen = {member.pk}
    level = [member.pk]
    truncated = False
    spent = {}
    for depth in range(1, SUBTREE_DEPTH + 1):
        children = list(
            invitations.filter(invited_by_id__in=level)
            .exclude(user_id__in=seen)
            .order_by("joined_at", "pk")
            .values_list("user_id", flat=True)
            .distinct()[: SUBTREE_SIZE + 1]
        )
        next_level = []
        for user_id in children:
            if user_id in seen:
                continue
            if len(nodes) + len(next_level) >= SUBTREE_SIZE:
                truncated = True
                break
            seen.add(user_id)
            next_level.append(user_id)
        if not next_level:
            break
        spent.update(rfm.net_spend_by_user(counted.filter(user_id__in=next_level)))
        users = User.objects.in_bulk(next_level)
        nodes.extend(ReferralNode(users[pk], depth, spent.get(pk, 0)) for pk in next_level)
        level = next_level
        if truncated:
            break
    return nodes, truncated


def member_360(*, viewer: User, member: User, now: datetime | None = None) -> Member360:
    check_view(viewer=viewer, member=member)
    cached = now is None  # as of now: the brand's models from their snapshot (cdp.snapshots)
    now = now or clock.now()
    person = Person.objects.filter(user=member).first()
    if person is not None and person.merged_into_id:
        person = None  # an absorbed person owns nothing; the account's own rows remain
    stream = _timeline(member, person)
    orders = rfm.counted_orders().filter(user=member)
    watch = WatchRecord.objects.filter(user=member).select_related("session")
    all_orders = Order.objects.filter(user=member)
    memberships_qs = Membership.objects.filter(user=member)
    requests = AftersalesRequest.objects.filter(user=member)
    surveys = NpsSurvey.objects.filter(user=member, score__isnull=False)
    allowed = staff_brand_ids(viewer)
    if allowed is not None:
        # A brand's operator sees the person as their brand knows them: nothing of another brand's
        # communities, lives, orders, after-sales or surveys; brand-neutral events (sign-in) stay.
        stream = stream.exclude(community_id__in=Community.objects.exclude(brand__in=allowed).values("pk"))
        stream = stream.exclude(campaign_id__in=Campaign.objects.exclude(brand__in=allowed).values("pk"))
        stream = stream.exclude(live_session_id__in=LiveSession.objects.exclude(series__brand__in=allowed).values("pk"))
        orders = orders.filter(campaign__brand__in=allowed)
        all_orders = all_orders.filter(campaign__brand__in=allowed)
        watch = watch.filter(session__series__brand__in=allowed)
        memberships_qs = memberships_qs.filter(community__brand__in=allowed)
        requests = requests.filter(brand__in=allowed)
        surveys = surveys.filter(brand__in=allowed)
    totals = orders.aggregate(n=Count("pk"), s=Sum("total_fen"))
    memberships = list(memberships_qs.select_related("community__brand", "invited_by").order_by("joined_at"))
    brands = {m.community.brand_id: m.community.brand for m in memberships}
    figures = []
    for brand in sorted(brands.values(), key=lambda b: b.pk):
        if cached:
            snapshot = snapshots.brand_snapshot(brand_id=brand.pk)
            scores, cells = snapshot.scores, snapshot.cells
        else:
            scores, cells = koc.koc_scores(brand_id=brand.pk, now=now), rfm.rfm_cells(brand_id=brand.pk, now=now)
        rank = next((i for i, s in enumerate(scores, start=1) if s.user_id == member.pk), None)
        figures.append(
            BrandFigures(
                brand=brand,
                ltv_fen=rfm.lifetime_value(user_id=member.pk, brand_id=brand.pk, until=now),
                rfm=cells.get(member.pk),
                koc=scores[rank - 1] if rank else None,
                koc_rank=rank,
                koc_total=len(scores),
                segments=segments.segments_of(user_id=member.pk, brand_id=brand.pk, now=now),
            )
        )
    referrals, truncated = referral_subtree(member, brand_ids=allowed)
    return Member360(
        member=member,
        person=person,
        memberships=memberships,
        timeline=_labelled(stream.order_by("-occurred_at", "-pk")[:TIMELINE]),
        event_total=stream.count(),
        orders=list(all_orders.select_related("campaign", "community").order_by("-created_at", "-pk")[:ORDERS]),
        order_count=totals["n"] or 0,
        gmv_fen=totals["s"] or 0,
        watch=list(watch.order_by("-first_seen_at", "-pk")[:LIVES]),
        watched_seconds=watch.aggregate(s=Sum("seconds_watched"))["s"] or 0,
        referrals=referrals,
        referrals_truncated=truncated,
        earnings=fission_selectors.person_earnings(user=member, brand_ids=allowed),
        aftersales=list(requests.select_related("order__campaign").order_by("-opened_at")[:10]),
        nps=list(surveys.select_related("campaign").order_by("-answered_at")[:10]),
        brands=figures,
        unmasks=list(PhoneUnmask.objects.filter(member=member).select_related("viewer")[:5]),
    )
