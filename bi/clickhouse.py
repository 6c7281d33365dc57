"""The stream-backed tiles as ClickHouse SQL, over the export of :mod:`bi.stream_export` — the path for a brand
whose stream outgrows one PostgreSQL. Each query computes from the raw events the same parts the rollups keep
(:mod:`bi.rollups`: orders, amounts, refunds; NPS answers) by the same rules, and :func:`figures` turns them
into the tiles' figures with the metrics' own arithmetic. The tests and ``bench/dashboards.py`` run them in
embedded ClickHouse (``chdb``) against the same export and compare with PostgreSQL's figures.

In a ClickHouse server::

    CREATE TABLE events (<STRUCTURE>) ENGINE = MergeTree PARTITION BY toYYYYMM(occurred_at) ORDER BY (name, occurred_at);
    INSERT INTO events SELECT * FROM file('<out>/day=*/events.jsonl', JSONEachRow, '<STRUCTURE>');

(months, not days, as ClickHouse's partitions: it advises against many small ones). A day exported again
(late events) replaces its rows: ``ALTER TABLE events DELETE WHERE toDate(occurred_at, 'Asia/Shanghai') = '<day>'``
then insert that day's file.

then run ``SALES_SQL`` / ``NPS_SQL`` with the scope filled in (:func:`sales_sql`, :func:`nps_sql`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from . import rollups
from .metrics import sales as sales_metrics
from .metrics import service as service_metrics

STRUCTURE = (
    "id Int64, uuid String, name String, occurred_at DateTime64(6, 'UTC'), received_at DateTime64(6, 'UTC'), "
    "user_id Nullable(Int64), person_id Nullable(Int64), distinct_id String, source String, "
    "community_id Nullable(Int64), live_session_id Nullable(Int64), campaign_id Nullable(Int64), "
    "order_id Nullable(Int64), amount_fen Nullable(Int64), properties String"
)

CREATE_SQL = (
    "CREATE TABLE IF NOT EXISTS {table} ({structure}) ENGINE = MergeTree "
    "PARTITION BY toYYYYMM(occurred_at) ORDER BY (name, occurred_at)"
)
LOAD_SQL = "INSERT INTO {table} SELECT * FROM file('{path}/day=*/events.jsonl', JSONEachRow, '{structure}')"

# Each jielong's live session, as the rollup folds it: the latest opening that names one, or change (which may name
# none). ``argMax`` of a tuple: a change to no session (NULL) still wins.
SESSIONS_SQL = f"""
    SELECT campaign_id, session FROM (
      SELECT campaign_id, argMax(tuple(live_session_id), id).1 AS session FROM {{table}}
      WHERE (name = '{rollups.OPENED}' AND live_session_id IS NOT NULL OR name = '{rollups.CHANGED}')
        AND campaign_id IS NOT NULL
      GROUP BY campaign_id)
    WHERE session IS NOT NULL"""

# The orders that count, as the rollup folds them: joined; not cancelled; their jielong not failed; the latest
# amount (by stream id); their refunds; the live session that opened their jielong.
SALES_SQL = f"""
WITH
  joined AS (
    SELECT order_id, any(ifNull(campaign_id, 0)) AS campaign_id, any(ifNull(community_id, 0)) AS community_id,
           min(occurred_at) AS at
    FROM {{table}} WHERE name = '{rollups.JOINED}' AND order_id IS NOT NULL GROUP BY order_id),
  totals AS (
    SELECT order_id, argMax(amount_fen, id) AS fen FROM {{table}}
    WHERE name IN ('{rollups.JOINED}', '{rollups.UPDATED}') AND order_id IS NOT NULL AND amount_fen IS NOT NULL
    GROUP BY order_id),
  refunds AS (
    SELECT order_id, sum(ifNull(amount_fen, 0)) AS fen FROM {{table}}
    WHERE name = '{rollups.REFUND}' AND order_id IS NOT NULL GROUP BY order_id),
  sessions AS ({SESSIONS_SQL})
SELECT count(), sum(ifNull(t.fen, 0)), sum(ifNull(r.fen, 0))
FROM joined AS j
  LEFT JOIN totals AS t ON t.order_id = j.order_id
  LEFT JOIN refunds AS r ON r.order_id = j.order_id
WHERE j.order_id NOT IN (SELECT order_id FROM {{table}} WHERE name = '{rollups.CANCELLED}' AND order_id IS NOT NULL)
  AND j.campaign_id NOT IN (SELECT campaign_id FROM {{table}} WHERE name = '{rollups.FAILED}' AND campaign_id IS NOT NULL)
  AND {{where}}
"""

NPS_SQL = f"""
WITH
  sessions AS ({SESSIONS_SQL})
SELECT count(), countIf(score >= {rollups.PROMOTER_MIN}), countIf(score <= {rollups.DETRACTOR_MAX})
FROM (
  SELECT occurred_at AS at, ifNull(community_id, 0) AS community_id, ifNull(campaign_id, 0) AS campaign_id,
         JSONExtract(properties, 'score', 'Nullable(Int64)') AS score
  FROM {{table}} WHERE name = '{rollups.NPS}') AS j
WHERE {{where}}
"""


def _ids(values) -> str:
    return ", ".join(str(int(v)) for v in values) or "-1"


def _utc(at: datetime) -> str:
    return f"toDateTime64('{at.astimezone(UTC):%Y-%m-%d %H:%M:%S}', 6, 'UTC')"


def _where(scope, *, live: bool | None = None) -> str:
    """The scope as ClickHouse conditions on ``j`` (at, community_id, campaign_id)."""
    if scope.session_picked:
        parts = [f"j.campaign_id IN (SELECT campaign_id FROM sessions WHERE session IN ({_ids(scope.session_ids)}))"]
    else:
        parts = [f"j.at >= {_utc(scope.start)}", f"j.at < {_utc(scope.end)}"]
    if scope.community_ids is not None:
        parts.append(f"j.community_id IN ({_ids(scope.community_ids)})")
    if live is not None:
        parts.append(f"j.campaign_id {'' if live else 'NOT '}IN (SELECT campaign_id FROM sessions)")
    return " AND ".join(parts)


def sales_sql(scope, *, table: str = "events", live: bool | None = None) -> str:
    return SALES_SQL.format(table=table, where=_where(scope, live=live))


def nps_sql(scope, *, table: str = "events") -> str:
    return NPS_SQL.format(table=table, where=_where(scope))


def _numbers(session, sql: str) -> list[int]:
    text = session.query(sql, "TabSeparated").bytes().decode().strip()
    return [int(float(v)) if v not in ("\\N", "nan") else 0 for v in text.split("\t")]


# The tiles ClickHouse answers: each is the metric's own arithmetic over parts ClickHouse computed.
TILES = ("gmv_gross", "gmv_net", "average_order_value", "aov_live_lift", "nps")


def tile_sql(key: str, scope, *, table: str = "events") -> list[tuple[str, str]]:
    """The queries behind one tile, named by the part they compute."""
    if key == "nps":
        return [("answers", nps_sql(scope, table=table))]
    if key == "aov_live_lift":
        return [
            ("live", sales_sql(scope, table=table, live=True)),
            ("other", sales_sql(scope, table=table, live=False)),
        ]
    return [("sales", sales_sql(scope, table=table))]


def tile(session, key: str, scope, *, table: str = "events"):
    """One tile's figure from ClickHouse (``session``: a chdb session or anything with ``query(sql, fmt)``)."""
    parts = {name: _numbers(session, sql) for name, sql in tile_sql(key, scope, table=table)}
    if key == "nps":
        return service_metrics.nps_figure(rollups.Answers(*parts["answers"]))
    if key == "aov_live_lift":
        return sales_metrics.lift_figure(rollups.Sales(*parts["live"]), rollups.Sales(*parts["other"]))
    return sales_metrics.FROM_SALES[key](rollups.Sales(*parts["sales"]))


def figures(session, scope, *, table: str = "events") -> dict:
    return {key: tile(session, key, scope, table=table) for key in TILES}


def load(session, path: str, *, table: str = "events") -> None:
    """Create ``table`` in the session and load the export under ``path`` into it."""
    session.query(CREATE_SQL.format(table=table, structure=STRUCTURE))
    session.query(LOAD_SQL.format(table=table, path=path, structure=STRUCTURE.replace("'", "\\'")))
