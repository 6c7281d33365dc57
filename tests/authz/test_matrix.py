"""The authorization matrix (issue 16, item 5): every URL name × every role answers as ``matrix.csv`` says.

One world (``world.build``) for the module; one signed-in session per role; each cell is asked inside a
savepoint that is rolled back, so a POST that gets through changes nothing for the next cell. See
``matrix.py`` for how to read the table.
"""

from __future__ import annotations

import os
import time

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from . import matrix
from .world import ROLES, build

ROWS = matrix.load()
ADMIN_ROW = "admin:index"
RECORD = os.environ.get("AUTHZ_RECORD")  # a path: write what the site answers today there (to review by hand)


def url_names() -> set[str]:
    """Every named URL, with its namespaces (``community:ops-community``)."""
    names: set[str] = set()

    def walk(patterns, namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                inner = namespace
                if p.namespace:
                    inner = f"{namespace}:{p.namespace}" if namespace else p.namespace
                walk(p.url_patterns, inner)
            elif isinstance(p, URLPattern) and p.name:
                names.add(f"{namespace}:{p.name}" if namespace else p.name)

    walk(get_resolver().url_patterns, None)
    return names


def covered(name: str) -> bool:
    return name in ROWS or (name.startswith("admin:") and ADMIN_ROW in ROWS)


def test_every_url_name_has_a_row_and_every_row_a_url():
    names = url_names()
    missing = sorted(n for n in names if not covered(n))
    stale = sorted(n for n in ROWS if n not in names)
    assert not missing, f"URL names missing from {matrix.TABLE.name}: {missing}"
    assert not stale, f"rows of {matrix.TABLE.name} without a URL: {stale}"
    assert all(all(row.cells[r] for r in ROLES) for row in ROWS.values()), "an empty cell"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world and one session cookie per signed-in role, built once and rolled back at the end."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            made = build()
            cookies = {}
            for role, user in made.users.items():
                if user is not None:
                    client = Client()
                    client.force_login(user)
                    cookies[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
            made.values["_cookies"] = cookies
            yield made
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _client(world, role: str) -> Client:
    client = Client(raise_request_exception=bool(os.environ.get("AUTHZ_RAISE")))
    cookie = world.values["_cookies"].get(role)
    if cookie:
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    return client


def _headers(world, role: str) -> dict:
    token = world.values.get(f"_api_{role}")
    return {"Authorization": f"Bearer {token}"} if token else {}


def ask_row(world, row: matrix.Row) -> dict[str, str]:
    got = {}
    for role in ROLES:
        url = matrix.url_for(row, role, world.values)
        with transaction.atomic():
            got[role] = matrix.ask(_client(world, role), row, url, _headers(world, role), world.values)
            transaction.set_rollback(True)
    return got


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(ROWS))
def test_cell(world, name):
    row = ROWS[name]
    got = ask_row(world, row)
    wrong, now_pass = [], []
    for role in ROLES:
        expected, pending = matrix.split_cell(row.cells[role])
        ok = matrix.matches(expected, got[role])
        if pending and ok:
            now_pass.append(f"{role}: {expected} (drop ~{pending})")
        elif not pending and not ok:
            wrong.append(f"{role}: expected {expected}, got {got[role]}")
    assert not wrong, f"{name} ({row.method} {matrix.url_for(row, 'op', world.values)}): " + "; ".join(wrong)
    assert not now_pass, f"{name}: pending cells that now pass: " + "; ".join(now_pass)


@pytest.mark.django_db
@pytest.mark.skipif(not RECORD, reason="AUTHZ_RECORD=<path> writes today's answers to review")
def test_record(world):
    started, out, times = time.monotonic(), [], []
    only = os.environ.get("AUTHZ_ONLY", "").split(",")
    for row in ROWS.values():
        if not any(part in row.name for part in only):
            continue
        if not row.method:  # a new row: POST if the operator's GET is refused as a method
            probe = matrix.Row(row.name, "GET", row.args, row.cells, row.note, row.data)
            method = "GET"
            for role in ("op", "member", "token"):
                url = matrix.url_for(probe, role, world.values)
                with transaction.atomic():
                    if matrix.ask(_client(world, role), probe, url, {}, world.values) == "405":
                        method = "POST"
                    transaction.set_rollback(True)
            row = matrix.Row(row.name, method, row.args, row.cells, row.note, row.data)
        t = time.monotonic()
        got = ask_row(world, row)
        times.append((time.monotonic() - t, row.name))
        out.append(matrix.Row(row.name, row.method, row.args, got, row.note, row.data))
    matrix.write(out, path=matrix.Path(RECORD))
    print(sorted(times)[-25:])
    print(f"{len(out)} rows × {len(ROLES)} roles in {time.monotonic() - started:.1f} s")


@pytest.mark.django_db
def test_admin_is_for_superusers_only(world, client):
    """The ``admin:index`` row stands for every ``admin:*`` name; its one allowed role is not a column."""
    from tests import factories

    client.force_login(factories.operator(is_superuser=True, is_staff=True))
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/jielong/order/").status_code == 200
