"""The live tiles' fast paths (PostgreSQL): the watch facts the triggers keep (``bi.models.ViewerSessions``,
``bi.models.WatchTotal``) equal their recomputation from the watch records after every kind of write, and the
tiles computed from them (社群→直播观看, 直播→接龙, 平均观看时长) and 福利售罄用时's single window query give the
same figures as the watch-record querysets and the per-jielong reading, over a seeded random data set and
scopes of every shape."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F

from bi import metrics
from bi.metrics import base, live
from bi.models import ViewerSessions, WatchTotal
from bi.scope import Scope
from community.models import Membership
from groupbuy import clock
from jielong.models import Campaign, Order
from livestream.models import LiveSession, WatchRecord
from tests import factories as f
from tests.concurrency import held_writes
from tests.migrations import migrated_back

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the watch facts are kept on PostgreSQL"),
]


def _facts() -> tuple[dict, dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT user_id, block, sessions::text FROM bi_viewer_sessions "
            "WHERE position('1' in sessions::text) > 0 ORDER BY 1, 2"
        )
        bits = {(u, b): s for u, b, s in cursor.fetchall()}
        cursor.execute(
            "SELECT session_id, shard, records, seconds FROM bi_watch_total WHERE records <> 0 OR seconds <> 0"
        )
        totals = {(s, shard): (r, sec) for s, shard, r, sec in cursor.fetchall()}
    return bits, totals


def _recomputed() -> tuple[dict, dict]:
    bits: dict[tuple[int, int], list[str]] = {}
    totals: dict[tuple[int, int], list[int]] = {}
    for session_id, user_id, seconds in WatchRecord.objects.values_list("session_id", "user_id", "seconds_watched"):
        row = bits.setdefault((user_id, session_id // 1024), ["0"] * 1024)
        row[session_id % 1024] = "1"
        total = totals.setdefault((session_id, user_id % 8), [0, 0])
        total[0] += 1
        total[1] += seconds
    return {k: "".join(v) for k, v in bits.items()}, {k: tuple(v) for k, v in totals.items()}


def _record(session, user, seconds=60):
    now = clock.now()
    return WatchRecord.objects.create(
        session=session, user=user, first_seen_at=now, last_seen_at=now, seconds_watched=seconds
    )


def test_watch_facts_follow_every_write_to_the_watch_records():
    s1, s2 = f.live_session(title="S1"), f.live_session(title="S2")
    a, b, c = f.member(), f.member(), f.member()
    assert _facts() == ({}, {})

    _record(s1, a, 120)  # the heartbeat's first write
    _record(s2, a, 30)
    now = clock.now()
    WatchRecord.objects.bulk_create(  # one statement, several rows
        [
            WatchRecord(session=s, user=u, first_seen_at=now, last_seen_at=now, seconds_watched=10)
            for s, u in ((s1, b), (s2, b), (s1, c))
        ]
    )
    assert _facts() == _recomputed()

    record = WatchRecord.objects.get(session=s1, user=a)  # the heartbeat's later writes: seconds move, no pair
    for _ in range(3):
        WatchRecord.objects.filter(pk=record.pk).update(seconds_watched=F("seconds_watched") + 10)
    assert _facts() == _recomputed()

    moved = WatchRecord.objects.get(session=s2, user=b)
    moved.user = c  # a pair changed (an admin fix): b's bit for S2 cleared, c's set
    moved.save()
    assert _facts() == _recomputed()

    WatchRecord.objects.filter(session=s1, user=b).delete()  # one deleted
    assert _facts() == _recomputed()
    a.delete()  # a member erased: their records cascade
    assert _facts() == _recomputed()
    s2.delete()  # a session removed: its records cascade
    assert _facts() == _recomputed()

    with connection.cursor() as cursor:  # bulk SQL, as an import or the benchmark writes
        cursor.execute(
            "INSERT INTO livestream_watchrecord (session_id, user_id, first_seen_at, last_seen_at, seconds_watched) "
            "SELECT %s, id, now(), now(), 45 FROM community_user WHERE id NOT IN "
            "(SELECT user_id FROM livestream_watchrecord WHERE session_id = %s)",
            [s1.pk, s1.pk],
        )
    assert _facts() == _recomputed()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's transaction: its deferred checks first
        cursor.execute("TRUNCATE livestream_watchrecord")
    assert _facts() == ({}, {})


def test_a_session_id_past_the_first_block_lands_in_its_own_block():
    session = f.live_session(title="far")
    LiveSession.objects.filter(pk=session.pk).update(id=2 * 1024 + 5)
    session = LiveSession.objects.get(pk=2 * 1024 + 5)
    member = f.member()
    _record(session, member)
    assert list(ViewerSessions.objects.values_list("user_id", "block")) == [(member.pk, 2)]
    assert _facts() == _recomputed()
    assert list(WatchTotal.objects.values_list("session_id", "records", "seconds")) == [(session.pk, 1, 60)]


def _aims() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT user_id, block, aimed::text, watched::text FROM bi_member_aims "
            "WHERE position('1' in aimed::text) > 0 OR position('1' in watched::text) > 0"
        )
        return {(u, b): (a, w) for u, b, a, w in cursor.fetchall()}


def _aims_recomputed() -> dict:
    """From the models: aimed — an active membership in a community the session was aimed at, joined before it
    ended; watched — a watch record and an active membership in a community the session was aimed at."""
    rows: dict[tuple[int, int], tuple[list[str], list[str]]] = {}

    def mark(user_id: int, session_id: int, which: int) -> None:
        row = rows.setdefault((user_id, session_id // 1024), (["0"] * 1024, ["0"] * 1024))
        row[which][session_id % 1024] = "1"

    watched = set(WatchRecord.objects.values_list("user_id", "session_id"))
    for m in Membership.objects.filter(status=Membership.Status.ACTIVE):
        for session in LiveSession.objects.filter(communities=m.community_id):
            if session.ended_at is not None and m.joined_at < session.ended_at:
                mark(m.user_id, session.pk, 0)
            if (m.user_id, session.pk) in watched:
                mark(m.user_id, session.pk, 1)
    return {k: ("".join(a), "".join(w)) for k, (a, w) in rows.items()}


def _session_counts() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_id, sum(aimed), sum(watched) FROM bi_session_aims GROUP BY 1")
        return {s: (a, w) for s, a, w in cursor.fetchall() if (a, w) != (0, 0)}


def _counts_of(aims: dict) -> dict:
    """Per session, the rows with its aimed bit, and with its aimed and watched bits."""
    counts: dict[int, list[int]] = {}
    for (_user, block), (aimed, watched) in aims.items():
        for bit, (a, w) in enumerate(zip(aimed, watched, strict=True)):
            if a == "1":
                count = counts.setdefault(block * 1024 + bit, [0, 0])
                count[0] += 1
                count[1] += w == "1"
    return {s: tuple(c) for s, c in counts.items()}


def _assert_aims() -> None:
    """The member aims are their recomputation from the models, and the sessions' counts are those bits'."""
    recomputed = _aims_recomputed()
    assert _aims() == recomputed
    assert _session_counts() == _counts_of(recomputed)


def test_member_aims_follow_memberships_targets_ends_and_watch_records():
    now = clock.now()
    a, b = f.community(name="A"), f.community(name="B")
    s1, s2 = f.live_session(title="S1"), f.live_session(title="S2")
    LiveSession.objects.filter(pk__in=[s1.pk, s2.pk]).update(ended_at=now - timedelta(days=1))
    s1.communities.set([a])
    x, y, z = f.member(), f.member(), f.member()
    f.membership(user=x, community=a, joined_at=now - timedelta(days=10))
    f.membership(user=y, community=a, joined_at=now)  # joined after the lives ended: not aimed at, may watch
    f.membership(user=z, community=b, joined_at=now - timedelta(days=10))
    _record(s1, x)
    _record(s1, y)
    _record(s1, z)  # watched, but S1 was not aimed at B
    _assert_aims()
    assert _aims()[(x.pk, s1.pk // 1024)][0][s1.pk % 1024] == "1"
    assert _session_counts() == {s1.pk: (1, 1)}  # x; y joined after it ended; z's B was not aimed at

    s2.communities.set([a, b])  # aimed at both afterwards
    _record(s2, z)
    _assert_aims()
    s1.communities.add(b)  # z's watch of S1 now counts
    _assert_aims()
    s1.communities.remove(a)
    _assert_aims()
    LiveSession.objects.filter(pk=s2.pk).update(ended_at=now + timedelta(hours=1))  # y joined before it ended
    _assert_aims()
    session = LiveSession.objects.get(pk=s2.pk)
    session.ended_at = None  # save() writes every column
    session.save()
    _assert_aims()
    Membership.objects.filter(user=x).update(status=Membership.Status.LEFT)
    Membership.objects.filter(user=z).update(community=a)
    Membership.objects.filter(user=y).update(joined_at=now - timedelta(days=30), last_active_at=now)
    _assert_aims()
    WatchRecord.objects.filter(user=z).delete()
    Membership.objects.filter(user=y).delete()
    _assert_aims()
    x.delete()
    s1.delete()
    _assert_aims()
    LiveSession.objects.filter(pk=s2.pk).update(ended_at=now - timedelta(days=1))
    _record(s2, z)
    assert _session_counts() == {s2.pk: (1, 1)}
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's transaction: its deferred checks first
        cursor.execute("TRUNCATE livestream_watchrecord")
    assert _session_counts() == {s2.pk: (1, 0)}
    _assert_aims()


@pytest.mark.django_db(transaction=True)
def test_two_changes_of_one_members_aims_at_the_same_moment_both_count():
    """Each member's first watch of a live, and the live aimed at one more community of theirs (which recomputes
    the member's pair of it), land at the same moment in two transactions, each held a moment before its commit.
    The second waits for the first on the member's row — the key check of its insert, and the row lock migration
    0015 takes to close the moment between that check and its update — and recomputes after the first commits:
    the bits are the models' and both sessions' counts the bits'. (Removing the lock alone does not fail this test:
    the key check serializes this order; the lock is for a write that lands inside the refresh.)"""
    now = clock.now()
    home = f.community()
    early, late = f.live_session(title="early"), f.live_session(title="late")
    LiveSession.objects.filter(pk__in=[early.pk, late.pk]).update(ended_at=now - timedelta(hours=1))
    early.communities.set([home])
    late.communities.set([home])
    users = [f.member() for _ in range(6)]
    writes = []
    for user in users:
        f.membership(user=user, community=home, joined_at=now - timedelta(days=60))
        other = f.community()
        f.membership(user=user, community=other, joined_at=now - timedelta(days=60))
        _record(late, user)
        watch = lambda u=user: _record(early, u)  # noqa: E731
        aimed = lambda c=other: early.communities.add(c)  # noqa: E731
        writes += [(watch, 0), (aimed, 0.1)]
    held_writes(writes)
    _assert_aims()
    assert _session_counts() == {early.pk: (6, 6), late.pk: (6, 6)}


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_sessions_counts_from_the_bits():
    now = clock.now()
    home = f.community()
    session = f.live_session()
    LiveSession.objects.filter(pk=session.pk).update(ended_at=now - timedelta(hours=1))
    users = [f.member() for _ in range(3)]
    with migrated_back("bi", "0014_member_activity"):
        session.communities.set([home])
        for user in users:
            f.membership(user=user, community=home, joined_at=now - timedelta(days=5))
        _record(session, users[0])
    _assert_aims()
    assert _session_counts() == {session.pk: (3, 1)}


# --- the tiles: the fast paths against the watch-record querysets -------------------------------------------


def _world(seed: int):
    """Communities, members (some with two memberships, some left, some joined late), ended sessions aimed at
    random communities, watch records, live and other jielongs with orders (some cancelled) and perk places."""
    rng = random.Random(seed)
    now = clock.now()
    communities = [f.community(name=f"C{i}") for i in range(4)]
    sessions = []
    for i in range(7):
        start = now - timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 12))
        s = f.live_session(title=f"S{i}", status=LiveSession.Status.ENDED, started_at=start)
        LiveSession.objects.filter(pk=s.pk).update(
            started_at=start, ended_at=None if i == 6 else start + timedelta(hours=1)
        )
        if i == 5:  # an id in the second block of 1,024: the boards span two rows per member
            LiveSession.objects.filter(pk=s.pk).update(id=1024 + seed)
            s = LiveSession.objects.get(pk=1024 + seed)
        s.communities.set(rng.sample(communities, rng.randint(1, 3)))
        sessions.append(s)
    people = [f.member(nickname=f"m{i}") for i in range(40)]
    for person in people:
        for community in rng.sample(communities, rng.choice((1, 1, 2))):
            f.membership(
                user=person,
                community=community,
                status=rng.choice([Membership.Status.ACTIVE] * 4 + [Membership.Status.LEFT]),
                joined_at=now - timedelta(days=rng.randint(0, 90)),
            )
    for s in sessions:
        for person in rng.sample(people, rng.randint(5, 25)):
            _record(s, person, rng.randint(0, 3600))
    # Later changes the member aims follow: a member leaves, another's join moves after the lives, a session
    # is aimed at one more community and no longer at another, a session's end moves.
    Membership.objects.filter(user=people[0]).update(status=Membership.Status.LEFT)
    Membership.objects.filter(user=people[1]).update(joined_at=now)
    sessions[0].communities.add(communities[3])
    sessions[1].communities.remove(*sessions[1].communities.all()[:1])
    LiveSession.objects.filter(pk=sessions[2].pk).update(ended_at=now - timedelta(days=30))
    seq = 0
    for i in range(10):
        session = rng.choice([*sessions, None])
        opens = now - timedelta(days=rng.randint(0, 40))
        campaign = f.campaign(
            title=f"J{i}",
            communities=rng.sample(communities, rng.randint(1, 2)),
            live_session=session,
            perk_limit=rng.choice([0, 2, 3]),
            opens_at=opens,
        )
        for place, person in enumerate(rng.sample(people, rng.randint(0, 8))):
            seq += 1
            Order.objects.create(
                campaign=campaign,
                user=person,
                community=rng.choice(communities),
                seq=seq,
                status=rng.choice([Order.Status.JOINED, Order.Status.JOINED, Order.Status.CANCELLED]),
                is_perk=place < 4,
                total_fen=rng.randint(100, 5000),
                created_at=opens + timedelta(minutes=rng.randint(-5, 90)),
            )
    return communities, sessions


def _scopes(communities, sessions) -> list[Scope]:
    today = clock.localdate()
    ended = tuple(s.pk for s in sessions)

    def scope(community_ids, session_ids, picked=False, days=90) -> Scope:
        return Scope(today - timedelta(days=days - 1), today, community_ids, session_ids, picked, "", {})

    ids = [c.pk for c in communities]
    return [
        scope(None, ended),
        scope(None, ended[:3], days=30),
        scope((ids[0],), ended),
        scope((ids[1], ids[2]), ended[2:]),
        scope(tuple(ids), ended),
        scope(None, (ended[1],), picked=True),
        scope((ids[3],), (ended[4],), picked=True),
        scope(None, ()),
        # two days ten years back: before anything happened
        Scope(today - timedelta(days=3650), today - timedelta(days=3649), None, (), False, "", {}),
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_fast_tiles_equal_the_watch_record_queries(seed, monkeypatch, settings):
    settings.BI_ROLLUPS = False  # the orders here have no stream rows: the joiners from the orders (test_live_joiners)
    communities, sessions = _world(seed)
    scopes = _scopes(communities, sessions)
    keys = ("community_to_viewer", "viewer_to_joiner", "average_watch")
    fast = [{key: metrics.METRICS[key].compute(s) for key in keys} for s in scopes]
    monkeypatch.setattr(live, "use_trigger_facts", lambda: False)
    plain = [{key: metrics.METRICS[key].compute(s) for key in keys} for s in scopes]
    assert fast == plain
    assert any(figures["community_to_viewer"].numerator for figures in fast)  # the data set is not all empty
    assert any(figures["viewer_to_joiner"].numerator for figures in fast)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_community_to_viewer_from_the_latest_sessions_equals_the_bits_and_the_watch_records(seed, monkeypatch):
    """Boards of every community whose sessions run from their first one to the latest with bits (a period up to
    today) count from each row's latest aimed and watched session (migration 0011) — also with a live under way
    and an ended session left out of the board, whose rows are decided by their bits — and give the figures of the
    masks, of the bit tests one session at a time, and of the watch records."""
    _communities, sessions = _world(seed)
    LiveSession.objects.filter(pk=sessions[5].pk).delete()  # one block of session ids
    under_way = sessions[6].pk  # watched, not ended: never on a board
    ended = sorted(s.pk for s in sessions[:5])
    with connection.cursor() as cursor:  # the stored latest sessions are the highest bits
        cursor.execute("SELECT block, aimed::text, watched::text, last_aimed, last_watched FROM bi_member_aims")
        for block, aimed, watched, last_aimed, last_watched in cursor.fetchall():
            for bits, last in ((aimed, last_aimed), (watched, last_watched)):
                assert last == (block * 1024 + bits.rindex("1") if "1" in bits else None)
    today = clock.localdate()
    boards = _boards(today, [ended, ended[1:], ended[3:], ended[:2] + ended[3:], [ended[-1]]])  # 4th: one left out

    def figures() -> list:
        return [metrics.METRICS["community_to_viewer"].compute(scope) for scope in boards]

    with monkeypatch.context() as m:
        m.setattr(base, "FEW_SESSIONS", 0)
        for scope in boards:
            assert base._targeted_counts_from_latest(scope) is not None  # this path, not the masks'
        found = figures()
        m.setattr(base, "LEFT_OUT_MAX", -1)  # the masks
        assert figures() == found
    assert any(figure.numerator for figure in found) and under_way > max(ended)
    assert figures() == found  # a bit test per session (five or fewer)
    monkeypatch.setattr(live, "use_trigger_facts", lambda: False)  # the watch records
    assert figures() == found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_viewers_from_the_latest_sessions_and_the_watch_records_equal_the_masks(seed, monkeypatch):
    """直播观看→接龙's viewers on boards of every community: from each viewer row's latest session (migration 0013) —
    a live under way and a session left out of the board decided by their bits — and, for a few sessions, from the
    watch records' index; the counts of the masks and of the watch-record query."""
    _communities, sessions = _world(seed)
    LiveSession.objects.filter(pk=sessions[5].pk).delete()  # one block of session ids
    ended = sorted(s.pk for s in sessions[:5])
    with connection.cursor() as cursor:  # the stored latest session is the highest bit
        cursor.execute("SELECT block, sessions::text, last_session FROM bi_viewer_sessions")
        for block, bits, last in cursor.fetchall():
            assert last == (block * 1024 + bits.rindex("1") if "1" in bits else None)
    boards = _boards(clock.localdate(), [ended, ended[1:], ended[3:], ended[:2] + ended[3:], [ended[-1]]])
    expected = [base.viewers(scope).count() for scope in boards]
    assert all(expected)
    assert [base.viewer_count(scope) for scope in boards] == expected  # five or fewer sessions: the watch records
    with monkeypatch.context() as m:
        m.setattr(base, "FEW_SESSIONS", 0)
        assert all(base._latest_shape(scope) is not None for scope in boards)
        assert [base.viewer_count(scope) for scope in boards] == expected  # the latest sessions
        m.setattr(base, "LEFT_OUT_MAX", -1)
        assert [base.viewer_count(scope) for scope in boards] == expected  # the masks


def _boards(today, boards) -> list[Scope]:
    return [Scope(today - timedelta(days=89), today, None, tuple(ids), False, "", {}) for ids in boards]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_perk_sellout_in_one_query_equals_reading_each_jielong(seed):
    communities, sessions = _world(seed)
    for scope in _scopes(communities, sessions):
        campaigns = list(live._perk_campaigns(scope))
        found = {c.pk: live._sold_out(c) for c in campaigns}
        spans = [x[0] for x in found.values() if x is not None]
        minutes = round(sum(s.total_seconds() for s in spans) / len(spans) / 60, 1) if spans else None
        assert metrics.perk_sellout(scope) == metrics.Figure(minutes, len(spans), len(campaigns))
        takers: dict[int, str] = {}
        for c in campaigns:
            if found[c.pk]:
                for user_id in found[c.pk][1]:
                    takers.setdefault(user_id, c.title)
        people = metrics.perk_sellout_people(scope, "numerator")
        assert {p.user_id: p.detail for p in people} == takers


def test_perk_sellout_counts_a_jielong_whose_places_were_all_taken_and_not_one_short():
    now = clock.now()
    full = f.campaign(title="full", perk_limit=2, opens_at=now - timedelta(minutes=30))
    short = f.campaign(title="short", perk_limit=3, opens_at=now - timedelta(minutes=30))
    community = f.community()
    people = [f.member(nickname=f"p{i}") for i in range(4)]
    rows = [
        (full, people[0], 1, 5, Order.Status.JOINED),
        (full, people[1], 2, 7, Order.Status.CANCELLED),  # a cancelled place does not count
        (full, people[2], 3, 12, Order.Status.JOINED),
        (short, people[3], 4, 3, Order.Status.JOINED),
        (short, people[0], 5, 4, Order.Status.JOINED),
    ]
    for campaign, person, seq, minutes, status in rows:
        Order.objects.create(
            campaign=campaign,
            user=person,
            community=community,
            seq=seq,
            status=status,
            is_perk=True,
            total_fen=100,
            created_at=campaign.opens_at + timedelta(minutes=minutes),
        )
    today = clock.localdate()
    scope = Scope(today - timedelta(days=1), today, None, (), False, "", {})
    assert metrics.perk_sellout(scope) == metrics.Figure(12.0, 1, 2)
    assert {p.user_id: p.detail for p in metrics.perk_sellout_people(scope, "numerator")} == {
        people[0].pk: "full",
        people[2].pk: "full",
    }
    assert Campaign.objects.count() == 2
