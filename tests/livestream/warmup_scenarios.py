"""Shared warm-up scenario for tests/livestream/test_warmup_*.py: one community with a standard plan."""

from datetime import timedelta

from community.models import Membership
from livestream import services
from livestream.models import Reservation
from tests import factories


def setup_plan():
    """One community: a leader, a KOC and three members, two of whom reserved; the standard plan."""
    host = factories.host()
    community = factories.community()
    leader, koc, m1, m2, m3 = (factories.member() for _ in range(5))
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)
    factories.membership(user=koc, community=community, role=Membership.Role.KOC)
    for m in (m1, m2, m3):
        factories.membership(user=m, community=community)
    session = factories.live_session(hosts=[host], starts_in=timedelta(days=3), perk_summary="前50单八折")
    session.communities.set([community])
    Reservation.objects.create(session=session, user=m1)
    Reservation.objects.create(session=session, user=m2)
    services.warmup_plan_apply_standard(session=session, by=host)
    return session, host, leader, koc, (m1, m2, m3)


# 5 members × teaser, 1 KOC × story, 2 reserved × reminder and live-now, plus leader copies on 3 rounds.
EXPECTED_INBOX = 5 + 1 + 2 + 2
EXPECTED_LEADER_COPIES = 3
EXPECTED_SMS = 2 + 2


def after_start(session):
    return session.scheduled_start + timedelta(minutes=1)
