"""Reading the authorization matrix (``matrix.csv``) and asking the site one cell of it.

The table: one row per URL name (``admin:index`` stands for every ``admin:*`` name), the method it is asked
with (GET, or POST for the POST-only URLs, with ``data`` as a query string, else empty), its ``args`` (``name=world-value;…``; a value
``x|y`` is ``x`` for the ``link`` column and ``y`` for every other one: the live link versus a revoked one),
then one column per role (``world.ROLES``) and a note. A cell is the answer expected:

- ``200`` ``400`` ``403`` ``404`` ``405`` ``410`` …: that status;
- ``login``: a redirect to a sign-in page (member, staff or admin);
- ``302``: a redirect anywhere else;
- ``200-A``: 200, and nothing of brand A on the page (``world.MARK``): another brand's lists;
- ``200-a1``: 200, and nothing of community a1 on the page (``world.MARK_A1``): another community's leader;
- ``…+w``: and the request wrote to the database (PostgreSQL's per-transaction counters, ``QUIET_TABLES``
  aside): a refused cell without ``+w`` proves nothing changed;
- ``data`` may name the world's values: ``code=$pickup_code``; a ``data`` that starts with ``{`` is sent as
  JSON with an ``Idempotency-Key`` (the public API);
- ``…~reason``: the answer we want but do not get yet (e.g. ``404~tenancy``): the cell is left out until it
  passes, and then the suite says so (drop the ``~reason``).
"""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass
from pathlib import Path
from string import Template

from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from .world import MARK, MARK_A1, ROLES

TABLE = Path(__file__).with_name("matrix.csv")
SIGN_IN_PATHS = ("/m/login/", "/accounts/login/", "/admin/login/")


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    args: dict[str, str]
    cells: dict[str, str]
    note: str
    data: str = ""


def parse_args(spec: str) -> dict[str, str]:
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        key, _, value = part.partition("=")
        out[key.strip()] = value.strip()
    return out


def load(path: Path = TABLE) -> dict[str, Row]:
    rows = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for raw in csv.DictReader(fh):
            name = raw["url"].strip()
            assert name not in rows, f"{name} twice in {path.name}"
            cells = {role: (raw.get(role) or "").strip() for role in ROLES}
            method, args, note, data = raw["method"].strip().upper(), parse_args(raw["args"]), raw["note"], raw["data"]
            rows[name] = Row(name, method, args, cells, note, data.strip())
    return rows


def write(rows: list[Row], path: Path = TABLE) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["url", "method", "args", "data", *ROLES, "note"])
        for row in rows:
            args = ";".join(f"{k}={v}" for k, v in row.args.items())
            out.writerow([row.name, row.method, args, row.data, *(row.cells[r] for r in ROLES), row.note])


def split_cell(cell: str) -> tuple[str, str]:
    """``"404~tenancy"`` → ``("404", "tenancy")``."""
    expected, _, pending = cell.partition("~")
    return expected, pending


def url_for(row: Row, role: str, values: dict) -> str:
    kwargs = {}
    for key, ref in row.args.items():
        if "|" in ref:
            ref = ref.split("|")[0 if role == "link" else 1]
        kwargs[key] = str(values[ref]) if ref in values else ref
    return reverse(row.name, kwargs=kwargs or None)


def answer(response, wrote: bool) -> str:
    """The cell this response reads as."""
    status = response.status_code
    if status in (301, 302, 303):
        location = response.headers.get("Location", "")
        got = "login" if location.split("?")[0].endswith(SIGN_IN_PATHS) else "302"
    elif status == 200 and MARK.encode() not in _body(response):
        got = "200-A"
    elif status == 200 and MARK_A1.encode() not in _body(response):
        got = "200-a1"
    else:
        got = str(status)
    return got + ("+w" if wrote else "")


def matches(expected: str, got: str) -> bool:
    # A page without any of brand A's rows also answers a plain "200" (and "200-a1": nothing of a1's).
    if expected == got:
        return True
    return expected.replace("200-a1", "200") == got.replace("200-A", "200").replace("200-a1", "200") and (
        not expected.startswith("200-a1") or got.startswith(("200-a1", "200-A"))
    )


# Tables a request may write without changing anything anyone asked for: the session, the behaviour stream (a
# page view is an event; a real change also writes its own tables), a member's invitation code (made on first
# view), an API token's last use.
QUIET_TABLES = {
    "django_session",
    "stream_event",
    "analytics_event",
    "analytics_person",
    "analytics_distinctid",
    "community_invitation",
    "api_apitoken",
}


_WRITES_SQL = (
    "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables"
    f" WHERE relname NOT IN ({', '.join(repr(t) for t in sorted(QUIET_TABLES))})"
)


def _writes() -> int:
    """Rows inserted, updated or deleted so far in this transaction (PostgreSQL's own counters), the quiet
    tables aside."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_WRITES_SQL)
        return cursor.fetchone()[0]


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
        response.streaming_content = [content]
        return content
    return response.content


def ask(client: Client, row: Row, url: str, headers: dict, values: dict) -> str:
    before = _writes()
    data = Template(row.data).substitute({k: v for k, v in values.items() if not k.startswith("_")})
    if row.method == "POST" and data.startswith("{"):  # the public API: JSON, one idempotency key per cell
        headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
        response = client.post(url, data, content_type="application/json", headers=headers)
    elif row.method == "POST":
        response = client.post(url, QueryDict(data).dict(), headers=headers)
    else:
        response = client.get(url, headers=headers)
    got = answer(response, _writes() != before)
    return got
