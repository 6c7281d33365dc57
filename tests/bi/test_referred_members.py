"""The referral facts behind 裂变新客占比 (``bi.models.ReferredMember``): the triggers on the memberships and the
viewer facts keep "brought in by someone who has watched a live" equal to a recomputation from the memberships
and the watch records, through every writer and when an inviter's first watch and an invitee's membership are
written at the same moment (PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection

from bi.models import ReferredMember
from community.models import Membership, User
from groupbuy import clock
from livestream.models import WatchRecord
from tests import factories as f
from tests.concurrency import held_writes
from tests.migrations import migrated_back

ACTIVE, LEFT = Membership.Status.ACTIVE, Membership.Status.LEFT


def stored() -> set[int]:
    return set(ReferredMember.objects.values_list("user_id", flat=True))


def recomputed() -> set[int]:
    viewers = set(WatchRecord.objects.values_list("user_id", flat=True))
    return set(Membership.objects.filter(status=ACTIVE, invited_by_id__in=viewers).values_list("user_id", flat=True))


def watch(session, user) -> WatchRecord:
    now = clock.now()
    return WatchRecord.objects.create(session=session, user=user, first_seen_at=now, last_seen_at=now)


@pytest.mark.django_db
def test_the_facts_follow_the_memberships_and_the_inviters_watch_records():
    session = f.live_session()
    home, other = f.community(), f.community()
    inviter, quiet = f.member(), f.member()
    b, c, d = f.member(), f.member(), f.member()

    joined = f.membership(user=b, community=home, invited_by=inviter)
    f.membership(user=c, community=home, invited_by=quiet)
    assert stored() == recomputed() == set()  # nobody who invited has watched yet

    record = watch(session, inviter)  # the inviter's first watch brings b in
    assert stored() == recomputed() == {b.pk}
    watch(f.live_session(), inviter)  # a second watch changes nothing
    assert stored() == {b.pk}

    Membership.objects.filter(pk=joined.pk).update(status=LEFT)
    assert stored() == recomputed() == set()
    Membership.objects.filter(pk=joined.pk).update(status=ACTIVE)  # back in
    assert stored() == recomputed() == {b.pk}

    # Invited into a second community by someone who never watched: still referred by the first.
    second = f.membership(user=b, community=other, invited_by=quiet)
    Membership.objects.filter(pk=joined.pk).update(invited_by=None)
    assert stored() == recomputed() == set()
    Membership.objects.filter(pk=second.pk).update(invited_by=inviter)
    assert stored() == recomputed() == {b.pk}

    # Bulk: one statement of several memberships; then the inviter's watch records go, then come back.
    Membership.objects.bulk_create([Membership(user=u, community=other, invited_by=inviter) for u in (c, d)])
    assert stored() == recomputed() == {b.pk, c.pk, d.pk}
    WatchRecord.objects.filter(user=inviter).exclude(pk=record.pk).delete()
    assert stored() == {b.pk, c.pk, d.pk}  # one watch record left
    record.delete()
    assert stored() == recomputed() == set()
    watch(session, inviter)
    assert stored() == recomputed() == {b.pk, c.pk, d.pk}

    Membership.objects.filter(user=d).delete()
    assert stored() == recomputed() == {b.pk, c.pk}
    User.objects.filter(pk=inviter.pk).delete()  # erasure: the watch records go, the invitations are cleared
    assert stored() == recomputed() == set()


@pytest.mark.django_db
def test_a_truncate_of_the_memberships_or_the_watch_records_empties_the_facts():
    inviter, b = f.member(), f.member()
    f.membership(user=b, community=f.community(), invited_by=inviter)
    watch(f.live_session(), inviter)
    assert stored() == {b.pk}
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign-key checks first, as at a commit
        cursor.execute("TRUNCATE livestream_watchrecord")
    assert stored() == recomputed() == set()
    watch(f.live_session(), inviter)
    assert stored() == {b.pk}
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE community_membership CASCADE")
    assert stored() == recomputed() == set()


PAIRS = 6


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("invitee_first", [True, False])
def test_an_inviters_first_watch_and_the_invitees_membership_at_the_same_moment(invitee_first):
    """Each pair: one transaction writes the inviter's first watch record, another activates the invitee's
    membership (a new one, or one re-activated); each holds its write a moment before committing. Neither sees the
    other's rows when it writes — without the user-row locks the flag would be lost — and the facts end equal."""
    session = f.live_session()
    home = f.community()
    pairs = []
    for n in range(PAIRS):
        inviter, invitee = f.member(), f.member()
        left = f.membership(user=invitee, community=home, invited_by=inviter, status=LEFT) if n % 2 else None
        pairs.append((inviter, invitee, left))
    writes = []
    for inviter, invitee, left in pairs:
        if left is None:
            join = lambda invitee=invitee, inviter=inviter: f.membership(  # noqa: E731
                user=invitee, community=home, invited_by=inviter
            )
        else:
            join = lambda left=left: Membership.objects.filter(pk=left.pk).update(status=ACTIVE)  # noqa: E731
        first = lambda inviter=inviter: watch(session, inviter)  # noqa: E731
        writes += [(join, 0 if invitee_first else 0.1), (first, 0.1 if invitee_first else 0)]
    held_writes(writes)
    assert stored() == recomputed() == {invitee.pk for _inviter, invitee, _left in pairs}


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_facts_from_the_memberships_already_there():
    inviter, b, c = f.member(), f.member(), f.member()
    home = f.community()
    f.membership(user=b, community=home, invited_by=inviter)
    watch(f.live_session(), inviter)
    with migrated_back("bi", "0008_parcel_days"):
        f.membership(user=c, community=home, invited_by=inviter)  # while there were no triggers
    assert stored() == recomputed() == {b.pk, c.pk}
