"""Backup and restore: the round trip on PostgreSQL (a second database, compared table by table and row by row),
the refusals that protect a database in use and a damaged backup, and the embedded SQLite default."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from psycopg import sql

from groupbuy import backup
from jielong import ledger, services
from tests import factories as f
from tests.bi import scenario

BASE_DIR = Path(settings.BASE_DIR)


def _params(name: str) -> dict:
    db = settings.DATABASES["default"]
    return {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "password": db["PASSWORD"], "dbname": name}


def _url(name: str) -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{name}"


@pytest.fixture
def second_database():
    """An empty database beside the test database, dropped afterwards."""
    name = f"{settings.DATABASES['default']['NAME']}_restore"
    with psycopg.connect(**_params("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(**_params("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``manage.py`` as an operator runs it: its own process, configured by the environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "MEDIA_", "GROUPBUY_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _counts(name: str) -> dict[str, int]:
    with psycopg.connect(**_params(name)) as conn, conn.cursor() as cursor:
        return backup._pg_counts(cursor)


def _sample(name: str, tables: list[str]) -> dict[str, list[tuple]]:
    """The first 25 rows of each table by its first column (the primary key on every app table)."""
    with psycopg.connect(**_params(name)) as conn, conn.cursor() as cursor:
        rows = {}
        for table in tables:
            cursor.execute(sql.SQL("SELECT * FROM {} ORDER BY 1 LIMIT 25").format(sql.Identifier(table)))
            rows[table] = cursor.fetchall()
        return rows


@pytest.mark.django_db(transaction=True)
def test_a_postgresql_backup_restores_into_an_empty_database_with_every_row(tmp_path, settings, second_database):
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media" / "posters").mkdir(parents=True)
    (tmp_path / "media" / "posters" / "c1.png").write_bytes(b"\x89PNG poster bytes")
    with time_machine.travel(scenario.NOW, tick=False):
        scenario.build()  # communities, sessions, jielongs, orders, refunds, parcels, NPS: many tables
        given = f.open_campaign(members=2, threshold=1)
        operator = f.operator()
        order = services.order_join(
            campaign_id=given.campaign.pk, user=given.members[0], quantities={given.item.pk: 3}
        ).order
        services.order_mark_paid(order_id=order.pk, by=operator)
        ledger.refund_issue(order=order, amount_fen=500, key="backup-test", by=operator)
        call_command("backup", str(tmp_path / "backup"))

    source = settings.DATABASES["default"]["NAME"]
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["engine"] == "postgresql" and manifest["created_at"].startswith("2031-03-18T07:00")
    assert manifest["tables"] == _counts(source)
    assert manifest["tables"]["jielong_order"] >= 8 and manifest["tables"]["jielong_ledgerentry"] >= 2
    assert set(manifest["files"]) == {"database.dump", "media.tar"} and manifest["media_files"] == 1

    env = {"DATABASE_URL": _url(second_database), "MEDIA_ROOT": str(tmp_path / "restored-media")}
    env["DJANGO_SETTINGS_MODULE"] = "groupbuy.settings.test"
    restored = _manage("restore", str(tmp_path / "backup"), **env)

    assert restored.returncode == 0, restored.stderr
    assert _counts(second_database) == manifest["tables"]
    non_empty = sorted(t for t, n in manifest["tables"].items() if n)
    assert len(non_empty) >= 20
    assert _sample(second_database, non_empty) == _sample(source, non_empty)
    assert (tmp_path / "restored-media" / "posters" / "c1.png").read_bytes() == b"\x89PNG poster bytes"

    # Again into the database that now holds data: refused with a clear message, nothing touched.
    (tmp_path / "restored-media" / "posters" / "c1.png").write_bytes(b"changed")
    again = _manage("restore", str(tmp_path / "backup"), **env)
    assert again.returncode != 0
    assert "The target is not empty" in again.stderr and "--force" in again.stderr
    assert (tmp_path / "restored-media" / "posters" / "c1.png").read_bytes() == b"changed"

    # --force replaces what is there.
    forced = _manage("restore", "--force", str(tmp_path / "backup"), **env)
    assert forced.returncode == 0, forced.stderr
    assert _counts(second_database) == manifest["tables"]
    assert (tmp_path / "restored-media" / "posters" / "c1.png").read_bytes() == b"\x89PNG poster bytes"


def test_pg_dump_matches_the_server_version():
    """pg_dump refuses a newer server, and a fresh CI machine must have one: ./bin/test installs the client."""
    with psycopg.connect(**_params("postgres")) as conn:
        server_major = int(conn.execute("SHOW server_version").fetchone()[0].split(".")[0])
    program = backup.pg_program("pg_dump", server_major)
    output = subprocess.run([program, "--version"], capture_output=True, text=True, check=True).stdout
    assert int(output.split("(PostgreSQL)")[1].split(".")[0]) >= server_major
    with pytest.raises(backup.BackupError, match=f"postgresql-client-{server_major + 50}"):
        backup.pg_program("pg_dump", server_major + 50)


@pytest.mark.django_db
def test_a_damaged_or_unknown_folder_and_a_non_empty_target_folder_are_refused(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    with pytest.raises(backup.BackupError, match=r"holds no manifest\.json"):
        backup.read_manifest(tmp_path)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(backup.BackupError, match="not an empty folder"):
        backup.backup(tmp_path / "busy")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["notes.txt"]

    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "media.tar").write_bytes(b"tar")
    manifest = {"format": 1, "engine": "postgresql", "tables": {}, "files": {"media.tar": {"sha256": "0" * 64}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(backup.BackupError, match="does not match its checksum"):
        backup.restore(folder)

    # A backup of a newer version (a migration this code does not have) is refused before anything is touched.
    manifest.update(files={}, migrations={"jielong": "0999_from_the_future", "auth": "0001_initial"})
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(backup.BackupError, match=r"newer version of the app .*jielong\.0999_from_the_future"):
        backup.restore(folder, force=True)


def test_the_embedded_sqlite_default_round_trips(tmp_path):
    """The SQLite path (sqlite3's online backup API), as ./bin/dev's installation would run it."""
    source = tmp_path / "source.sqlite3"
    with sqlite3.connect(source) as db:
        db.execute("CREATE TABLE jielong_order (id INTEGER PRIMARY KEY, total_fen INTEGER, note TEXT)")
        db.executemany("INSERT INTO jielong_order VALUES (?, ?, ?)", [(n, n * 100, f"第{n}单") for n in range(1, 41)])
        db.execute("CREATE TABLE django_migrations (id INTEGER PRIMARY KEY, app TEXT, name TEXT, applied TEXT)")
        db.execute("INSERT INTO django_migrations VALUES (1, 'jielong', '0001_initial', '')")
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "clip.mp4").write_bytes(b"mp4")
    env = {"DJANGO_SETTINGS_MODULE": "groupbuy.settings.local", "GROUPBUY_DATA_DIR": str(tmp_path / "data")}

    made = _manage(
        "backup", str(tmp_path / "bk"), DATABASE_URL=f"sqlite:///{source}", MEDIA_ROOT=str(tmp_path / "media"), **env
    )
    assert made.returncode == 0, made.stderr
    target = tmp_path / "target.sqlite3"
    restored = _manage(
        "restore", str(tmp_path / "bk"), DATABASE_URL=f"sqlite:///{target}", MEDIA_ROOT=str(tmp_path / "m2"), **env
    )

    assert restored.returncode == 0, restored.stderr
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert manifest["engine"] == "sqlite" and manifest["tables"] == {"django_migrations": 1, "jielong_order": 40}
    assert manifest["migrations"] == {"jielong": "0001_initial"}
    with sqlite3.connect(source) as a, sqlite3.connect(target) as b:
        assert (
            a.execute("SELECT * FROM jielong_order").fetchall() == b.execute("SELECT * FROM jielong_order").fetchall()
        )
    assert (tmp_path / "m2" / "clip.mp4").read_bytes() == b"mp4"
