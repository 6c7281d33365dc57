"""The event stream exported for ClickHouse (for a brand whose stream outgrows one PostgreSQL): JSONEachRow,
one file per local day of ``occurred_at`` — ``<out>/day=YYYY-MM-DD/events.jsonl`` — a layout ClickHouse reads
as it is (``file('<out>/day=*/events.jsonl', JSONEachRow, <STRUCTURE>)``, or ``INSERT … SELECT`` into a
``MergeTree`` partitioned by ``toDate(occurred_at)``; see :mod:`bi.clickhouse`).

Times are UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``; ``properties`` is the event's JSON as a string. A day is
written whole to a temporary file and renamed over the old one, so re-exporting a day (an event arrived late)
replaces its partition and a reader never sees half a file. The periodic task re-exports the days whose events
were received in the last two days (``export_recent``).

Why JSONEachRow rather than Parquet: no dependency in production (ClickHouse ingests both; compress the files
for transport if the volume asks for it).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models.functions import TruncDate
from django.utils import timezone

from groupbuy import clock
from groupbuy.stream.models import Event

FILE = "events.jsonl"
COLUMNS = (
    "id",
    "uuid",
    "name",
    "occurred_at",
    "received_at",
    "user_id",
    "person_id",
    "distinct_id",
    "source",
    "community_id",
    "live_session_id",
    "campaign_id",
    "order_id",
    "amount_fen",
    "properties",
)
RECENT = timedelta(days=2)


def _bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    tz = timezone.get_current_timezone()
    start = datetime.combine(since, time.min, tzinfo=tz) if since else None
    end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=tz) if until else None
    return start, end


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class _Partitions:
    """Open per-day files, written to ``.tmp`` and renamed into place at the end."""

    def __init__(self, out: Path) -> None:
        self.out, self.files, self.counts = out, {}, {}

    def write(self, day: str, line: bytes) -> None:
        handle = self.files.get(day)
        if handle is None:
            folder = self.out / f"day={day}"
            folder.mkdir(parents=True, exist_ok=True)
            handle = self.files[day] = open(folder / (FILE + ".tmp"), "wb")  # noqa: SIM115 (closed in close())
            self.counts[day] = 0
        handle.write(line)
        handle.write(b"\n")
        self.counts[day] += 1

    def close(self) -> dict[str, int]:
        for day, handle in self.files.items():
            handle.close()
            folder = self.out / f"day={day}"
            os.replace(folder / (FILE + ".tmp"), folder / FILE)
        return dict(sorted(self.counts.items()))


def _export_postgresql(parts: _Partitions, start: datetime | None, end: datetime | None) -> None:
    tz = settings.TIME_ZONE.replace("'", "")
    where = ["TRUE"]
    if start:
        where.append(f"occurred_at >= '{start.isoformat()}'::timestamptz")
    if end:
        where.append(f"occurred_at < '{end.isoformat()}'::timestamptz")
    fields = ", ".join(
        f"'{c}', "
        + (
            f"to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
            if c in ("occurred_at", "received_at")
            else "properties::text"
            if c == "properties"
            else c
        )
        for c in COLUMNS
    )
    # CSV with delimiter and quote characters JSON never holds raw: the lines come out as PostgreSQL wrote them.
    sql = (
        f"COPY (SELECT to_char(occurred_at AT TIME ZONE '{tz}', 'YYYY-MM-DD'), json_build_object({fields}) "
        f"FROM stream_event WHERE {' AND '.join(where)}) TO STDOUT (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"
    )
    rest = b""
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for chunk in copy:
            lines = (rest + bytes(chunk)).split(b"\n")
            rest = lines.pop()
            for line in lines:
                day, _sep, body = line.partition(b"\x01")
                parts.write(day.decode(), body)
    if rest:
        day, _sep, body = rest.partition(b"\x01")
        parts.write(day.decode(), body)


def _export_python(parts: _Partitions, start: datetime | None, end: datetime | None) -> None:
    rows = Event.objects.order_by("pk")
    if start:
        rows = rows.filter(occurred_at__gte=start)
    if end:
        rows = rows.filter(occurred_at__lt=end)
    fields = ["pk" if c == "id" else c for c in COLUMNS]
    for values in rows.values_list(*fields).iterator(chunk_size=5000):
        row = dict(zip(COLUMNS, values, strict=True))
        day = timezone.localtime(row["occurred_at"]).date().isoformat()
        row["uuid"] = str(row["uuid"])
        row["occurred_at"], row["received_at"] = _utc(row["occurred_at"]), _utc(row["received_at"])
        row["properties"] = json.dumps(row["properties"], ensure_ascii=False)
        parts.write(day, json.dumps(row, ensure_ascii=False).encode())


def export(out: Path, *, since: date | None = None, until: date | None = None) -> dict[str, int]:
    """Write the events that occurred from ``since`` to ``until`` (local days, inclusive; open when None) as
    day partitions under ``out``; returns events per day written."""
    parts = _Partitions(Path(out))
    start, end = _bounds(since, until)
    try:
        if connection.vendor == "postgresql":
            _export_postgresql(parts, start, end)
        else:
            _export_python(parts, start, end)
    finally:
        written = parts.close()
    return written


def export_recent(*, now: datetime | None = None) -> int:
    """Re-export every day that received events in the last two days (late events included)."""
    out = getattr(settings, "STREAM_EXPORT_DIR", "")
    if not out:
        return 0
    since = (now or clock.now()) - RECENT
    days = (
        Event.objects.filter(received_at__gte=since)
        .annotate(day=TruncDate("occurred_at"))
        .values_list("day", flat=True)
        .distinct()
    )
    return sum(sum(export(Path(out), since=day, until=day).values()) for day in sorted(days))
