"""The KOC score (KOC 识别): who brings customers, leads the jielong and loves the brand, ranked with reasons.

For one brand at ``now``, each active member of its communities gets four components (last 365 days unless
said otherwise):

* **referral GMV** — net spend of the people in their referral subtree (whom they invited, and whom those
  invited, down to ``SUBTREE_DEPTH`` levels and ``SUBTREE_SIZE`` people);
* **early-join leadership** — jielongs they joined within the first ``EARLY_MINUTES`` minutes (from its
  opening, or its first join) that at least ``FOLLOWERS`` others joined after them;
* **live engagement** — minutes watched of the brand's lives in the last ``ENGAGEMENT_DAYS`` days;
* **NPS** — their average answer (0–10) to the brand's NPS question.

Each component is divided by the largest among the brand's members (0–1; NPS by 10), and

    score = 100 × (0.40 × referral GMV + 0.25 × leadership + 0.20 × engagement + 0.15 × NPS)

so 100 is a member who leads in all four. "Designate as KOC" makes them the community's KOC through the
community's own role change (``community.services.membership_role_set``) and keeps an audit row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Avg, Min, Sum
from django.utils.translation import gettext as _

from community.models import Membership, User
from community.services import membership_role_set
from feedback.models import NpsSurvey
from groupbuy import clock, events
from groupbuy.errors import DomainError
from groupbuy.money import format_fen
from jielong.models import Campaign
from livestream.models import WatchRecord

from . import events as cdp_events
from .models import KocDesignation
from .rfm import WINDOW_DAYS, counted_orders, net_spend_by_user

WEIGHTS = {"referral": 0.40, "leadership": 0.25, "engagement": 0.20, "nps": 0.15}
SUBTREE_DEPTH = 3
SUBTREE_SIZE = 500
EARLY_MINUTES = 10
FOLLOWERS = 3
ENGAGEMENT_DAYS = 90


class KocRefused(DomainError):
    """A designation the operator may not make (not an operator, not an active member, already KOC/leader)."""


@dataclass
class KocScore:
    user_id: int
    referral_fen: int = 0
    referred_people: int = 0
    led_jielongs: int = 0
    watched_seconds: int = 0
    nps: float | None = None
    score: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def reasons(self) -> list[str]:
        """The components that count, in words, the largest contribution first."""
        words = {
            "referral": _("%(people)s people they brought bought %(amount)s")
            % {"people": self.referred_people, "amount": format_fen(self.referral_fen)},
            "leadership": _("led %(n)s jielongs in their first %(minutes)s minutes")
            % {"n": self.led_jielongs, "minutes": EARLY_MINUTES},
            "engagement": _("watched %(minutes)s min of lives in %(days)s days")
            % {"minutes": round(self.watched_seconds / 60), "days": ENGAGEMENT_DAYS},
            "nps": _("NPS answer %(score)s") % {"score": f"{self.nps:.0f}"}
            if self.nps is not None
            else _("no NPS answer"),
        }
        order = sorted((k for k in WEIGHTS if self.parts.get(k, 0) > 0), key=lambda k: -self.parts[k])
        return [f"{words[k]} (+{self.parts[k]:.0f})" for k in order]


def _subtrees(children: dict[int, set[int]], roots: set[int]) -> dict[int, set[int]]:
    out = {}
    for root in roots:
        seen: set[int] = set()
        level = {root}
        for _depth in range(SUBTREE_DEPTH):
            level = {c for p in level for c in children.get(p, ()) if c not in seen and c != root}
            for c in sorted(level):
                if len(seen) >= SUBTREE_SIZE:
                    break
                seen.add(c)
            if not level or len(seen) >= SUBTREE_SIZE:
                break
        out[root] = seen
    return out


def _leaders(orders, *, brand_id: int) -> dict[int, int]:
    """{user id: jielongs they joined early that ≥ FOLLOWERS others joined after them}."""
    rows = list(orders.order_by("campaign_id", "created_at", "pk").values_list("campaign_id", "user_id", "created_at"))
    opens = dict(Campaign.objects.filter(pk__in={r[0] for r in rows}).values_list("pk", "opens_at"))
    firsts = dict(orders.values("campaign_id").annotate(t=Min("created_at")).values_list("campaign_id", "t"))
    by_campaign: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for campaign_id, user_id, at in rows:
        by_campaign[campaign_id].append((user_id, at))
    led: dict[int, int] = defaultdict(int)
    for campaign_id, joins in by_campaign.items():
        start = opens.get(campaign_id) or firsts[campaign_id]
        start = min(start, firsts[campaign_id])
        early_until = start + timedelta(minutes=EARLY_MINUTES)
        counted: set[int] = set()
        for i, (user_id, at) in enumerate(joins):
            if at >= early_until:
                break
            followers = len({u for u, _a in joins[i + 1 :] if u != user_id})
            if followers >= FOLLOWERS and user_id not in counted:
                counted.add(user_id)
                led[user_id] += 1
    return led


def koc_scores(*, brand_id: int, now: datetime | None = None) -> list[KocScore]:
    """Every active member of the brand's communities, best first (ties by user id)."""
    now = now or clock.now()
    members = set(
        Membership.objects.filter(community__brand_id=brand_id, status=Membership.Status.ACTIVE).values_list(
            "user_id", flat=True
        )
    )
    if not members:
        return []
    orders = counted_orders(brand_id=brand_id).filter(
        created_at__gte=now - timedelta(days=WINDOW_DAYS), created_at__lt=now
    )
    spent = net_spend_by_user(orders, until=now)
    children: dict[int, set[int]] = defaultdict(set)
    for user_id, inviter_id in Membership.objects.filter(
        community__brand_id=brand_id, invited_by__isnull=False
    ).values_list("user_id", "invited_by_id"):
        children[inviter_id].add(user_id)
    subtrees = _subtrees(children, members & set(children))
    led = _leaders(orders, brand_id=brand_id)
    watched = dict(
        WatchRecord.objects.filter(
            session__series__brand_id=brand_id,
            first_seen_at__gte=now - timedelta(days=ENGAGEMENT_DAYS),
            first_seen_at__lt=now,
        )
        .values("user_id")
        .annotate(s=Sum("seconds_watched"))
        .values_list("user_id", "s")
    )
    nps = dict(
        NpsSurvey.objects.filter(
            brand_id=brand_id,
            score__isnull=False,
            answered_at__gte=now - timedelta(days=WINDOW_DAYS),
            answered_at__lt=now,
        )
        .values("user_id")
        .annotate(a=Avg("score"))
        .values_list("user_id", "a")
    )
    scores = []
    for user_id in members:
        tree = subtrees.get(user_id, set())
        scores.append(
            KocScore(
                user_id=user_id,
                referral_fen=max(0, sum(spent.get(c, 0) for c in tree)),
                referred_people=len(tree),
                led_jielongs=led.get(user_id, 0),
                watched_seconds=watched.get(user_id, 0) or 0,
                nps=float(nps[user_id]) if user_id in nps else None,
            )
        )
    top = {
        "referral": max(s.referral_fen for s in scores) or 1,
        "leadership": max(s.led_jielongs for s in scores) or 1,
        "engagement": max(s.watched_seconds for s in scores) or 1,
    }
    for s in scores:
        s.parts = {
            "referral": 100 * WEIGHTS["referral"] * s.referral_fen / top["referral"],
            "leadership": 100 * WEIGHTS["leadership"] * s.led_jielongs / top["leadership"],
            "engagement": 100 * WEIGHTS["engagement"] * s.watched_seconds / top["engagement"],
            "nps": 100 * WEIGHTS["nps"] * (s.nps or 0) / 10,
        }
        s.score = round(sum(s.parts.values()), 1)
    scores.sort(key=lambda s: (-s.score, s.user_id))
    return scores


def koc_score_of(*, user_id: int, brand_id: int, now: datetime | None = None) -> tuple[KocScore | None, int | None]:
    """A member's score and rank (1 = best) in the brand, or (None, None) when they are not a member."""
    for rank, s in enumerate(koc_scores(brand_id=brand_id, now=now), start=1):
        if s.user_id == user_id:
            return s, rank
    return None, None


def koc_designate(*, by: User, membership: Membership, now: datetime | None = None) -> KocDesignation:
    """Make the member a KOC of the membership's community, from the ranking; logged with the score."""
    if not by.is_operator:
        raise KocRefused(_("Only operators can designate KOCs."), code="forbidden")
    if membership.status != Membership.Status.ACTIVE:
        raise KocRefused(_("This person is not an active member."), code="not_active")
    if membership.role != Membership.Role.MEMBER:
        raise KocRefused(
            _("%(name)s is already %(role)s of this community.")
            % {"name": membership.user.display_name, "role": membership.get_role_display()},
            code="has_role",
        )
    score, _rank = koc_score_of(user_id=membership.user_id, brand_id=membership.community.brand_id, now=now)
    with transaction.atomic():
        membership_role_set(by=by, membership=membership, role=Membership.Role.KOC)
        designation = KocDesignation.objects.create(
            member_id=membership.user_id,
            community_id=membership.community_id,
            by=by,
            score=score.score if score else 0.0,
            reasons=score.reasons if score else [],
            at=now or clock.now(),
        )
        events.publish(
            cdp_events.KocDesignated(
                user_id=membership.user_id, community_id=membership.community_id, score=designation.score, by=by.pk
            )
        )
        return designation
