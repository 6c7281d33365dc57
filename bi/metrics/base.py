"""What every metric shares: the figure and person-row types, the sets they count (members a session was aimed
at, viewers, live joiners, the orders that count) and the drill-down rows (phones masked)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import time

from django.conf import settings
from django.db import connection, connections, router, transaction
from django.db.models import Avg, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from community.models import Membership, User
from jielong.models import Campaign, LedgerEntry, Order
from livestream.models import LiveSession, WatchRecord

from .. import rollups
from ..models import SESSION_BLOCK, LiveJoiner, MemberAims, SessionAims, ViewerSessions, WatchTotal
from ..scope import Scope

# 次日中午前送达: a parcel is on time when it reached its pickup point by noon of its delivery date.
ON_TIME_BY = time(12, 0)
ACTIVE_DAYS = 30  # 月活: any activity in the 30 days ending on the period's last day

PCT, LIFT, FEN, MINUTES, COUNT, SCORE = "pct", "lift", "fen", "minutes", "count", "score"


@dataclass(frozen=True)
class Figure:
    """A metric's value for a scope. Ratios keep their parts, so a board shows "210 / 270" under "78%"."""

    value: float | int | None
    numerator: int | None = None
    denominator: int | None = None


@dataclass(frozen=True)
class PersonRow:
    user_id: int
    name: str
    masked_phone: str
    detail: str  # what this person contributed: minutes watched, amount bought, score given…


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    formula: str
    counts: str  # the counting rules, in words, for the glossary
    unit: str
    compute: Callable[[Scope], Figure]
    # ``part`` is "numerator" (who counts) or "denominator" (whom it is measured against); plain figures
    # (GMV, minutes) have one list, their "numerator".
    people: Callable[[Scope, str], list[PersonRow]]
    has_denominator: bool = False
    # The figure counts parcels, not people: its list shows each person once with their parcels, and its page says
    # how many parcels that is.
    per_parcel: bool = False


# --- shared sets ----------------------------------------------------------------------------------------


def active_memberships(scope: Scope) -> QuerySet[Membership]:
    rows = Membership.objects.filter(status=Membership.Status.ACTIVE)
    if scope.community_ids is not None:
        rows = rows.filter(community_id__in=scope.community_ids)
    return rows


def in_scope_communities(scope: Scope) -> Q:
    """Users with an active membership in the scope's communities (every user when the scope is all)."""
    if scope.community_ids is None:
        return Q()
    return Q(
        Exists(
            Membership.objects.filter(
                user_id=OuterRef("pk"), status=Membership.Status.ACTIVE, community_id__in=scope.community_ids
            )
        )
    )


def targeted_members(scope: Scope) -> QuerySet[User]:
    """Members of the communities the scope's sessions were aimed at (within the scope's communities), who had
    joined before that session ended."""
    memberships = active_memberships(scope).filter(
        community__live_sessions__pk__in=scope.session_ids,
        joined_at__lt=F("community__live_sessions__ended_at"),
    )
    return User.objects.filter(pk__in=memberships.values("user_id"))


def watched_targeting_session(scope: Scope) -> Q:
    """Watched a session of the scope that was aimed at one of their (in-scope) communities."""
    # One join (membership ⋈ the session's target communities ⋈ the member's watch record of that session)
    # rather than a subquery per watch record per person: the planner hashes it (a year's board, 1.5 M
    # events: the nested form ran 40 s).
    watched = active_memberships(scope).filter(
        community__live_sessions__pk__in=scope.session_ids,
        community__live_sessions__watch_records__user_id=F("user_id"),
    )
    return Q(pk__in=watched.values("user_id"))


def viewers(scope: Scope) -> QuerySet[User]:
    """People who watched at least one of the scope's sessions (members of the scope's communities)."""
    watched = WatchRecord.objects.filter(session_id__in=scope.session_ids, user_id=OuterRef("pk"))
    return User.objects.filter(Exists(watched)).filter(in_scope_communities(scope))


def live_joiners(scope: Scope) -> QuerySet[User]:
    """Viewers who joined the jielong of a session they watched, with an order that was not cancelled."""
    orders = Order.objects.filter(
        user_id=OuterRef("pk"),
        campaign__live_session_id__in=scope.session_ids,
        campaign__live_session__watch_records__user_id=OuterRef("pk"),
    ).exclude(status=Order.Status.CANCELLED)
    return viewers(scope).filter(Exists(orders))


# --- the same counts from the watch facts (PostgreSQL) ---------------------------------------------------------
#
# On PostgreSQL the watch records are mirrored, in their own transactions, into ``bi.models.ViewerSessions`` (a
# bit per session a member watched), ``bi.models.WatchTotal`` (records and seconds per session) and, with the
# memberships and the sessions' targets and ends, ``bi.models.MemberAims`` (the sessions aimed at a member, and
# those of them they watched); see ``bi/migrations/0004_watch_facts.py``. The counts below are the querysets' above, as a few hash joins over
# one row per member instead of a distinct over every watch record of the period (a year's board: 0.9 M watch
# records at 1.5 M events). tests/bi/test_live_facts.py holds the two paths equal.


def use_trigger_facts() -> bool:
    """Whether the tiles read the facts triggers keep (PostgreSQL: the watch facts of migration 0004, the parcel days
    of 0008, the referred members of 0009) or the domain rows (the watch records, the parcels, the memberships)."""
    return connection.vendor == "postgresql"


def _session_masks(session_ids: Iterable[int]) -> tuple[list[int], list[str]]:
    """The sessions as ``ViewerSessions`` masks: the blocks they fall in, and per block its bits as text."""
    blocks: dict[int, bytearray] = {}
    for pk in session_ids:
        bits = blocks.setdefault(pk // SESSION_BLOCK, bytearray(b"0" * SESSION_BLOCK))
        bits[pk % SESSION_BLOCK] = ord("1")
    keys = sorted(blocks)
    return keys, [blocks[k].decode() for k in keys]


@contextmanager
def read_cursor(*, work_mem: str = "") -> Iterator:
    """A cursor on the database the boards read: the replica inside ``groupbuy.db.replica_reads()``, where the
    ORM's reads go too, else the primary. Every hand-written statement of a tile goes through it.

    ``work_mem`` (PostgreSQL): memory per sort or hash for the statement's transaction only, for a tile that groups
    a year of orders by customer (``settings.BI_WORK_MEM``). In the server's default 4 MB that aggregate spilled to
    disk: at 10 M events LTV took 1.6 s, 0.96 s with 64 MB. Not for every tile: the on-time and monthly-active
    statements planned slower with it (README, dashboards benchmark)."""
    alias = router.db_for_read(Order)
    db = connections[alias]
    if db.vendor != "postgresql" or not work_mem:
        with db.cursor() as cursor:
            yield cursor
        return
    with transaction.atomic(using=alias), db.cursor() as cursor:
        cursor.execute("SELECT current_setting('work_mem'), set_config('work_mem', %s, true)", [work_mem])
        before = cursor.fetchone()[0]
        try:
            yield cursor
        finally:  # inside a caller's transaction, the rest of it keeps the memory it had
            cursor.execute("SELECT set_config('work_mem', %s, true)", [before])


def customer_work_mem() -> str:
    """``read_cursor``'s ``work_mem`` for the statements that group every order by customer (LTV, 裂变新客)."""
    return getattr(settings, "BI_WORK_MEM", "")


def set_based() -> bool:
    """Whether the tiles count in hand-written statements (PostgreSQL) rather than the plain ORM path."""
    return connection.vendor == "postgresql"


def read_one(query: str, params, *, work_mem: str = "") -> tuple:
    """The one row of a hand-written statement, read where the boards read (``read_cursor``)."""
    with read_cursor(work_mem=work_mem) as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()


def _tables() -> dict[str, str]:
    return {
        "viewer": ViewerSessions._meta.db_table,
        "aims": MemberAims._meta.db_table,
        "session_aims": SessionAims._meta.db_table,
        "total": WatchTotal._meta.db_table,
        "membership": Membership._meta.db_table,
        "session": LiveSession._meta.db_table,
        "target": LiveSession.communities.through._meta.db_table,
        "order": Order._meta.db_table,
        "campaign": Campaign._meta.db_table,
        "joiner": LiveJoiner._meta.db_table,
        "block": str(SESSION_BLOCK),
    }


def _members_in_scope(scope: Scope, column: str) -> str:
    """SQL: ``column`` (a user id) has an active membership in the scope's communities (true for all)."""
    if scope.community_ids is None:
        return "TRUE"
    return (
        f"{column} IN (SELECT user_id FROM {Membership._meta.db_table} "
        f"WHERE status = %(active)s AND community_id = ANY(%(communities)s))"
    )


def _params(scope: Scope) -> dict:
    blocks, masks = _session_masks(scope.session_ids)
    return {
        "sessions": list(scope.session_ids),
        "blocks": blocks,
        "masks": masks,
        "zero": "0" * SESSION_BLOCK,
        "active": Membership.Status.ACTIVE,
        "communities": list(scope.community_ids or ()),
        "cancelled": Order.Status.CANCELLED,
    }


def viewer_count(scope: Scope) -> int:
    """``viewers(scope).count()``: members with a bit set in the scope's sessions' masks. Over every community, a few
    sessions (one picked, a day's) count their watch records' members from the records' index, and a period up to
    today each row's latest session (migration 0013), as :func:`_targeted_counts_from_latest` does."""
    if not scope.session_ids:
        return 0
    if scope.community_ids is None:
        if len(scope.session_ids) <= FEW_SESSIONS:
            records = WatchRecord.objects.filter(session_id__in=scope.session_ids)
            return records.values("user_id").distinct().count()
        latest = _latest_shape(scope)
        if latest is not None:
            first, left_out = latest
            return read_one(
                f"""{_AIMS_MASKS}
                SELECT coalesce(sum(n), 0)::bigint FROM (
                  SELECT count(*) AS n FROM {{viewer}} AS v
                  WHERE v.last_session >= %(first)s AND v.last_session <> ALL(%(left_out)s::bigint[])
                  UNION ALL
                  SELECT count(*) FROM {{viewer}} AS v JOIN m ON m.block = v.block
                  WHERE v.last_session = ANY(%(left_out)s::bigint[]) AND (v.sessions & m.mask) <> m.zero) AS parts
                """.format(**_tables()),
                {**_params(scope), "first": first, "left_out": left_out},
            )[0]
    params = _params(scope)
    count = "count(*)" if len(params["blocks"]) == 1 else "count(DISTINCT v.user_id)"  # one row per member and block
    return read_one(
        f"""WITH m AS MATERIALIZED (SELECT block, mask::bit({{block}}) AS mask
                                  FROM unnest(%(blocks)s::int[], %(masks)s::text[]) AS m(block, mask))
            SELECT {count} FROM {{viewer}} AS v JOIN m ON m.block = v.block
            WHERE (v.sessions & m.mask) <> %(zero)s::bit({{block}}) AND {_members_in_scope(scope, "v.user_id")}
        """.format(**_tables()),
        params,
    )[0]


def live_joiner_count(scope: Scope) -> int:
    """``live_joiners(scope).count()``: holders of an order not cancelled in a jielong one of the scope's
    sessions launched, who watched that session (its bit). The orders come from the index of the orders not
    cancelled (``order_one_active_per_member``, its predicate spelled the same), the bits by one hash join."""
    if not scope.session_ids:
        return 0
    if rollups.enabled():
        return _live_joiner_count_from_facts(scope)
    return read_one(
        f"""WITH p AS MATERIALIZED (
              SELECT o.user_id, c.live_session_id AS session_id
              FROM {{campaign}} AS c JOIN {{order}} AS o ON o.campaign_id = c.id
              WHERE c.live_session_id = ANY(%(sessions)s) AND NOT (o.status = %(cancelled)s)
                AND {_members_in_scope(scope, "o.user_id")})
            SELECT count(DISTINCT p.user_id)
            FROM p JOIN {{viewer}} AS v ON v.user_id = p.user_id AND v.block = p.session_id / {{block}}
            WHERE get_bit(v.sessions, (p.session_id %% {{block}})::int) = 1
        """.format(**_tables()),
        _params(scope),
    )[0]


def _live_joiner_count_from_facts(scope: Scope) -> int:
    """:func:`live_joiner_count` from the stream's facts (``bi.models.LiveJoiner``, migration 0012): the members of
    the rows of the scope's sessions with an order that counts and a watch, read from their partial index; the members
    the stream after the cursor moves are counted as it leaves them."""
    moved = rollups.live_joiners_moved_by_tail(scope.session_ids)
    stored = read_one(
        f"""SELECT count(DISTINCT j.user_id) FROM {{joiner}} AS j
            WHERE j.session_id = ANY(%(sessions)s) AND j.orders > 0 AND j.watched
              AND j.user_id <> ALL(%(moved)s::bigint[]) AND {_members_in_scope(scope, "j.user_id")}""".format(
            **_tables()
        ),
        {**_params(scope), "moved": list(moved)},
    )[0]
    counted = [user_id for user_id, counts in moved.items() if counts]
    if counted and scope.community_ids is not None:
        counted = set(
            active_memberships(scope).filter(user_id__in=counted).values_list("user_id", flat=True).distinct()
        )
    return stored + len(counted)


def targeted_counts(scope: Scope) -> tuple[int, int]:
    """(``targeted_members(scope).filter(watched_targeting_session(scope)).count()``,
    ``targeted_members(scope).count()``) in one statement: per community the scope's sessions aimed at it (the
    latest end, the mask per block), then every active membership in those communities: aimed at when joined
    before that end, watched when the member's bits meet that mask; a member counts once, by any of theirs."""
    if not scope.session_ids:
        return 0, 0
    if scope.community_ids is None:
        return _targeted_counts_all(scope)
    watched, members = read_one(
        """WITH t AS MATERIALIZED (
              SELECT t.community_id, s.id AS session_id, s.ended_at
              FROM {session} AS s JOIN {target} AS t ON t.livesession_id = s.id
              WHERE s.id = ANY(%(sessions)s) AND t.community_id = ANY(%(communities)s)),
            k AS MATERIALIZED (
              SELECT community_id, session_id / {block} AS block,
                     max(max(ended_at)) OVER (PARTITION BY community_id) AS ended_at,
                     bit_or(set_bit(%(zero)s::bit({block}), (session_id %% {block})::int, 1)) AS mask
              FROM t GROUP BY 1, 2)
            SELECT count(*) FILTER (WHERE watched), count(*) FROM (
              SELECT user_id, bool_or(aimed) AS aimed, bool_or(watched) AS watched FROM (
                -- the booleans first (OFFSET 0): the grouping then carries no bit strings
                SELECT m.user_id, m.joined_at < k.ended_at AS aimed,
                       (v.sessions & k.mask) <> %(zero)s::bit({block}) AS watched
                FROM {membership} AS m JOIN k ON k.community_id = m.community_id
                  LEFT JOIN {viewer} AS v ON v.user_id = m.user_id AND v.block = k.block
                WHERE m.status = %(active)s OFFSET 0) AS r
              GROUP BY user_id) AS per_member
            WHERE aimed
        """.format(**_tables()),
        _params(scope),
    )
    return watched, members


# The scope's sessions as a mask per block of session ids (``_params``'s blocks and masks), and the block's zero.
_AIMS_MASKS = """WITH m AS MATERIALIZED (SELECT block, mask::bit({block}) AS mask, %(zero)s::bit({block}) AS zero
                                FROM unnest(%(blocks)s::int[], %(masks)s::text[]) AS m(block, mask))"""

# A board of every community with at most this many sessions in one block (one picked, a day's) tests their bits
# one by one: cheaper than a mask's AND per row (a new bit string each).
FEW_SESSIONS = 8
# At most this many sessions from a board's first one on may be left out of it (a live under way, one planned
# long ago and started late) for the latest-session counts below; more (a series' board), and the bits decide.
LEFT_OUT_MAX = 16


def _sessions_with_bits_from(first: int) -> list[int]:
    """The sessions from id ``first`` on that can have a bit in ``MemberAims`` (ended: aimed; watched) or in
    ``ViewerSessions`` (watched)."""
    return list(
        LiveSession.objects.filter(
            Q(ended_at__isnull=False) | Exists(WatchRecord.objects.filter(session_id=OuterRef("pk"))), pk__gte=first
        ).values_list("pk", flat=True)
    )


def _latest_shape(scope: Scope) -> tuple[int, list[int]] | None:
    """(the scope's first session, the sessions with bits from it on that the scope leaves out) when those are at
    most ``LEFT_OUT_MAX`` and every session with bits from the first on is in its block; else None (a series, a
    period that ends in the past, two blocks)."""
    first = min(scope.session_ids)
    with_bits = _sessions_with_bits_from(first)
    left_out = sorted(set(with_bits) - set(scope.session_ids))
    if not with_bits or len(left_out) > LEFT_OUT_MAX or max(with_bits) // SESSION_BLOCK != first // SESSION_BLOCK:
        return None  # (no bits from the first on: the masks find nobody)
    return first, left_out


def _targeted_counts_from_latest(scope: Scope) -> tuple[int, int] | None:
    """:func:`_targeted_counts_all` from each row's latest aimed and watched session (migration 0011), when the
    scope's sessions are all the sessions with bits from its first one on, in one block, but for a few left out:
    a row was aimed at by one of them exactly when its latest aimed session is at least the first and not one
    left out — counted from the index — and a row whose latest is one left out is decided by its bits. None when
    the scope is not of that shape (a series, a period that ends in the past, two blocks)."""
    latest = _latest_shape(scope)
    if latest is None:
        return None
    first, left_out = latest
    params = {**_params(scope), "first": first, "left_out": left_out}
    return read_one(
        f"""{_AIMS_MASKS}
            SELECT coalesce(sum(watched), 0)::bigint, coalesce(sum(aimed), 0)::bigint FROM (
              SELECT count(*) FILTER (WHERE a.last_watched >= %(first)s) AS watched, count(*) AS aimed
              FROM {{aims}} AS a
              WHERE a.last_aimed >= %(first)s AND a.last_aimed <> ALL(%(left_out)s::bigint[])
                AND (a.last_watched IS NULL OR a.last_watched <> ALL(%(left_out)s::bigint[]))
              UNION ALL
              SELECT count(*) FILTER (WHERE (a.watched & m.mask) <> m.zero), count(*)
              FROM {{aims}} AS a JOIN m ON m.block = a.block
              WHERE (a.last_aimed = ANY(%(left_out)s::bigint[]) OR a.last_watched = ANY(%(left_out)s::bigint[]))
                AND (a.aimed & m.mask) <> m.zero) AS parts""".format(**_tables()),
        params,
    )


def _targeted_counts_all(scope: Scope) -> tuple[int, int]:
    """:func:`targeted_counts` over every community, from ``bi.models.MemberAims``: a member was aimed at by
    one of the sessions (their aimed bits meet the mask) and watched one aimed at them (their watched bits)."""
    if len(scope.session_ids) == 1:  # one picked: its counts (migration 0015)
        return read_one(
            "SELECT coalesce(sum(watched), 0)::bigint, coalesce(sum(aimed), 0)::bigint FROM {session_aims} "
            "WHERE session_id = %(session)s".format(**_tables()),
            {"session": next(iter(scope.session_ids))},
        )
    blocks = {pk // SESSION_BLOCK for pk in scope.session_ids}
    if len(blocks) == 1 and len(scope.session_ids) <= FEW_SESSIONS:  # a day's: a bit test per session
        bits = [pk % SESSION_BLOCK for pk in scope.session_ids]

        def any_of(column: str) -> str:
            return " OR ".join([f"get_bit(a.{column}, %s) = 1"] * len(bits))

        return read_one(
            f"""SELECT count(*) FILTER (WHERE {any_of("watched")}), count(*) FROM {MemberAims._meta.db_table} AS a
                WHERE a.block = %s AND ({any_of("aimed")})""",
            [*bits, *blocks, *bits],
        )
    latest = _targeted_counts_from_latest(scope)
    if latest is not None:
        return latest
    params = _params(scope)
    aimed = "(a.aimed & m.mask) <> m.zero"
    watched = "(a.watched & m.mask) <> m.zero"
    if len(params["blocks"]) == 1:  # one row per member; the watched AND only for the members aimed at
        query = f"""{_AIMS_MASKS}
            SELECT count(*) FILTER (WHERE watched), count(*) FROM (
              SELECT {watched} AS watched FROM {{aims}} AS a JOIN m ON m.block = a.block WHERE {aimed}) AS aimed"""
    else:
        query = f"""{_AIMS_MASKS}
            SELECT count(*) FILTER (WHERE aimed AND watched), count(*) FILTER (WHERE aimed) FROM (
              SELECT bool_or({aimed}) AS aimed, bool_or({watched}) AS watched
              FROM {{aims}} AS a JOIN m ON m.block = a.block GROUP BY a.user_id) AS per_member"""
    watched_count, members = read_one(query.format(**_tables()), params)
    return watched_count, members


def watch_average_seconds(scope: Scope) -> float | None:
    """``Avg("seconds_watched")`` of the scope's watch records: over every community from the per-session
    totals (the same numeric division as ``avg``), else over the watch records of the scope's members."""
    if scope.community_ids is None:
        if not scope.session_ids:
            return None
        average = read_one(
            "SELECT sum(seconds) / nullif(sum(records), 0) FROM {total} WHERE session_id = ANY(%(sessions)s)".format(
                **_tables()
            ),
            {"sessions": list(scope.session_ids)},
        )[0]
        return None if average is None else float(average)
    members = Membership.objects.filter(status=Membership.Status.ACTIVE, community_id__in=scope.community_ids)
    return WatchRecord.objects.filter(
        session_id__in=scope.session_ids, user_id__in=members.values("user_id")
    ).aggregate(a=Avg("seconds_watched"))["a"]


def orders(scope: Scope, *, cancelled: bool = False) -> QuerySet[Order]:
    """Orders that count as sales: not cancelled (unless ``cancelled``); of the picked session's (or series')
    campaigns, else placed in the period; in the scope's communities."""
    rows = Order.objects.all() if cancelled else Order.objects.exclude(status=Order.Status.CANCELLED)
    if scope.session_picked:
        rows = rows.filter(campaign__live_session_id__in=scope.session_ids)
    else:
        rows = rows.filter(created_at__gte=scope.start, created_at__lt=scope.end)
    if scope.community_ids is not None:
        rows = rows.filter(community_id__in=scope.community_ids)
    return rows


def refunds_fen(order_rows: QuerySet[Order]) -> int:
    return (
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, order_id__in=order_rows.values("pk")).aggregate(
            s=Sum("amount_fen")
        )["s"]
        or 0
    )


def ratio(numerator: int, denominator: int) -> Figure:
    return Figure(numerator / denominator if denominator else None, numerator, denominator)


# --- people -------------------------------------------------------------------------------------------


def person_rows(details: dict[int, str] | Iterable[int]) -> list[PersonRow]:
    """Rows for the drill-down list: name, masked phone (community.phones.mask_phone, via the user), detail."""
    details = details if isinstance(details, dict) else dict.fromkeys(details, "")
    users = User.objects.filter(pk__in=list(details)).only("pk", "nickname", "username", "phone")
    rows = [PersonRow(u.pk, u.display_name, u.masked_phone, details[u.pk]) for u in users]
    rows.sort(key=lambda r: (r.name, r.user_id))
    return rows


def minutes_text(seconds: float | int | None) -> str:
    return str(_("%(minutes)s min") % {"minutes": round((seconds or 0) / 60)})


def yuan_text(fen: int | None) -> str:
    from groupbuy.money import format_fen

    return format_fen(fen or 0)
