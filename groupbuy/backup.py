"""Backup and restore of an installation: the database (one consistent snapshot) and the media files.

A backup is a folder:

- ``database.dump`` — PostgreSQL: ``pg_dump -Fc`` of one exported snapshot, the same snapshot the manifest's row
  counts come from; or ``database.sqlite3`` — the embedded default: a copy made by SQLite's online backup API;
- ``media.tar`` — everything under ``MEDIA_ROOT`` (uploads, posters, clips);
- ``manifest.json`` — format and app version, the time (``groupbuy.clock``), the engine and server version, the
  latest migration of each app, the row count of every table and the SHA-256 of each file.

``restore`` checks the checksums and the engine, refuses a database that already has tables (or a ``MEDIA_ROOT``
with files) unless forced, restores both and compares every table's rows with the manifest.

The kernel imports no app: tables and migrations are read from the database itself. The management commands
``backup`` and ``restore`` (``groupbuy/web/management/commands/``) are thin wrappers around this module.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from psycopg import sql

from groupbuy import clock
from groupbuy.errors import DomainError

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP_FILE = "database.dump"
SQLITE_FILE = "database.sqlite3"
MEDIA_FILE = "media.tar"
POSTGRES, SQLITE = "postgresql", "sqlite"


class BackupError(DomainError):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Restored:
    tables: int
    rows: int
    media_files: int


# --- the database's shape -----------------------------------------------------------------------------------


def _engine(alias: str) -> str:
    vendor = connections[alias].vendor
    if vendor not in (POSTGRES, SQLITE):
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {vendor}.")
    return vendor


def _pg_params(alias: str) -> dict:
    db = connections[alias].settings_dict
    params = {
        "dbname": db["NAME"],
        "user": db["USER"] or None,
        "password": db["PASSWORD"] or None,
        "host": db["HOST"] or None,
        "port": str(db["PORT"]) if db["PORT"] else None,
    }
    return {k: v for k, v in params.items() if v}


def _pg_env(params: dict) -> dict:
    """libpq's environment for pg_dump/pg_restore: the password never shows in the process list."""
    names = {"dbname": "PGDATABASE", "user": "PGUSER", "password": "PGPASSWORD", "host": "PGHOST", "port": "PGPORT"}
    return {**os.environ, **{names[k]: v for k, v in params.items()}}


def _pg_tables(cursor) -> list[str]:
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename",
    )
    return [row[0] for row in cursor.fetchall()]


def _pg_counts(cursor) -> dict[str, int]:
    counts = {}
    for table in _pg_tables(cursor):
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        counts[table] = cursor.fetchone()[0]
    return counts


def _migrations(rows: list[tuple[str, str]]) -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in rows:
        latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))


def _sqlite_counts(db: sqlite3.Connection) -> dict[str, int]:
    tables = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {table: db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


# --- pg_dump and pg_restore matching the server ---------------------------------------------------------------


def _major(text: str) -> int:
    found = re.search(r"(\d+)(?:\.\d+)?", text)
    if not found:
        raise BackupError(f"Cannot read a PostgreSQL version from {text!r}.")
    return int(found.group(1))


def pg_program(name: str, server_major: int) -> str:
    """``pg_dump`` or ``pg_restore`` of the server's major version, or newer (an older one refuses a newer
    server, and a dump is best read by the same major). ``PG_BIN_DIR`` names the folder explicitly; otherwise
    Debian's ``/usr/lib/postgresql/<major>/bin`` (the server's major first), then the one on PATH."""
    candidates: list[Path] = []
    if os.environ.get("PG_BIN_DIR"):
        candidates.append(Path(os.environ["PG_BIN_DIR"]) / name)
    else:
        installed = sorted(
            (p for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}") if p.parent.parent.name.isdigit()),
            key=lambda p: (int(p.parent.parent.name) != server_major, int(p.parent.parent.name)),
        )
        candidates += installed
        on_path = shutil.which(name)
        if on_path:
            candidates.append(Path(on_path))
    found_versions = []
    for candidate in candidates:
        if not candidate.exists():
            continue
        output = subprocess.run([str(candidate), "--version"], capture_output=True, text=True, check=False).stdout
        named = re.search(r"\(PostgreSQL\)\s+(\d+)", output)
        major = int(named.group(1)) if named else _major(output)
        found_versions.append(f"{candidate} ({major})")
        if major >= server_major:
            return str(candidate)
    have = ", ".join(found_versions) or "none"
    raise BackupError(
        f"{name} {server_major} or newer is needed for this PostgreSQL {server_major} server (found: {have}). "
        f"Install the client of the server's version (Debian/Ubuntu: apt-get install postgresql-client-{server_major}, "
        f"from apt.postgresql.org if your release lacks it) or set PG_BIN_DIR to its bin folder."
    )


# --- files --------------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_entry(path: Path) -> dict:
    return {"sha256": _sha256(path), "bytes": path.stat().st_size}


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def _media_files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0


def _tar_media(root: Path, target: Path) -> int:
    with tarfile.open(target, "w") as tar:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() or (path.is_dir() and not any(path.iterdir())):
                    tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
    return _media_files(root)


def _app_version() -> str:
    """The project's version (pyproject.toml; the image and a checkout both have it)."""
    try:
        with (Path(settings.BASE_DIR) / "pyproject.toml").open("rb") as handle:
            return tomllib.load(handle)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


# --- backup -------------------------------------------------------------------------------------------------


def backup(target: Path, *, alias: str = "default") -> dict:
    """Write a backup of database ``alias`` and ``MEDIA_ROOT`` into the folder ``target`` (new or empty).
    Returns the manifest."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} is not an empty folder: a backup goes into a new or empty folder.")
    engine = _engine(alias)
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    try:
        return _backup_into(target, engine, alias)
    except BaseException:
        # No half backup left behind to be mistaken for a whole one.
        if created:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for child in target.iterdir():
                child.unlink(missing_ok=True)
        raise


def _backup_into(target: Path, engine: str, alias: str) -> dict:
    manifest: dict = {"format": FORMAT, "app_version": _app_version(), "created_at": clock.now().isoformat()}
    files: dict[str, dict] = {}
    if engine == POSTGRES:
        manifest.update(_backup_postgres(target / PG_DUMP_FILE, alias))
        files[PG_DUMP_FILE] = _file_entry(target / PG_DUMP_FILE)
    else:
        manifest.update(_backup_sqlite(target / SQLITE_FILE, alias))
        files[SQLITE_FILE] = _file_entry(target / SQLITE_FILE)
    media_root = _media_root()
    manifest["media_files"] = _tar_media(media_root, target / MEDIA_FILE)
    files[MEDIA_FILE] = _file_entry(target / MEDIA_FILE)
    manifest["files"] = files
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def _backup_postgres(dump: Path, alias: str) -> dict:
    """Counts and dump from one snapshot: a repeatable-read transaction exports its snapshot, counts every table
    in it and stays open while pg_dump reads the same snapshot (``--snapshot``)."""
    params = _pg_params(alias)
    with psycopg.connect(**params) as conn, conn.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
        snapshot, server_version = cursor.fetchone()
        counts = _pg_counts(cursor)
        rows = []
        if "django_migrations" in counts:
            cursor.execute("SELECT app, name FROM django_migrations")
            rows = cursor.fetchall()
        program = pg_program("pg_dump", _major(server_version))
        result = subprocess.run(
            [program, "-Fc", "--no-owner", "--no-acl", f"--snapshot={snapshot}", "-f", str(dump)],
            env=_pg_env(params),
            capture_output=True,
            text=True,
            check=False,
        )
        conn.rollback()
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    dump_version = subprocess.run([program, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "engine": POSTGRES,
        "server_version": server_version,
        "dumped_with": dump_version,
        "migrations": _migrations(rows),
        "tables": counts,
    }


def _backup_sqlite(copy: Path, alias: str) -> dict:
    source = connections[alias].settings_dict["NAME"]
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)  # a consistent copy while the app keeps writing (it retries around writers)
    db = sqlite3.connect(copy)
    try:
        counts = _sqlite_counts(db)
        rows = db.execute("SELECT app, name FROM django_migrations").fetchall() if "django_migrations" in counts else []
        server_version = sqlite3.sqlite_version
    finally:
        db.close()
    return {"engine": SQLITE, "server_version": server_version, "migrations": _migrations(rows), "tables": counts}


# --- restore ------------------------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict:
    source = Path(source)
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} holds no {MANIFEST}: is it a backup folder made by `manage.py backup`?")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"This backup has format {manifest.get('format')!r}; this version reads format {FORMAT}.")
    for name, entry in manifest["files"].items():
        file = source / name
        if not file.is_file():
            raise BackupError(f"{name} is missing from {source}.")
        if _sha256(file) != entry["sha256"]:
            raise BackupError(f"{name} does not match its checksum in the manifest: the backup is damaged.")
    return manifest


def _check_migrations_known(manifest: dict) -> None:
    """A backup made by a newer version holds a schema this code does not know: refuse before touching anything
    (an older backup is fine: ``migrate`` brings it forward)."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = sorted(
        f"{app}.{name}" for app, name in manifest.get("migrations", {}).items() if (app, name) not in known
    )
    if unknown:
        raise BackupError(
            "This backup was made by a newer version of the app (migrations unknown here: "
            + ", ".join(unknown)
            + "). Install that version or a later one, then restore."
        )


def current_tables(alias: str = "default") -> dict[str, int]:
    """Every table of the database ``alias`` with its row count (what a restore would replace)."""
    if _engine(alias) == POSTGRES:
        with psycopg.connect(**_pg_params(alias)) as conn, conn.cursor() as cursor:
            return _pg_counts(cursor)
    name = connections[alias].settings_dict["NAME"]
    if not Path(name).exists():
        return {}
    db = sqlite3.connect(name)
    try:
        return _sqlite_counts(db)
    finally:
        db.close()


def restore(source: Path, *, force: bool = False, alias: str = "default") -> Restored:
    """Restore the backup in ``source`` into database ``alias`` and ``MEDIA_ROOT``. Both must be empty unless
    ``force``, which first removes every table and every media file."""
    source = Path(source)
    manifest = read_manifest(source)
    engine = _engine(alias)
    if manifest["engine"] != engine:
        raise BackupError(
            f"This is a {manifest['engine']} backup and the database is {engine}: restore it into a {manifest['engine']} "
            "database (set DATABASE_URL)."
        )
    _check_migrations_known(manifest)
    existing = current_tables(alias)
    media_root = _media_root()
    media_now = _media_files(media_root)
    if not force and (existing or media_now):
        held = []
        if existing:
            held.append(f"{len(existing)} tables with {sum(existing.values())} rows")
        if media_now:
            held.append(f"{media_root} holds {media_now} files")
        raise BackupError(
            "The target is not empty (" + "; ".join(held) + "). Restore into an empty database and media folder, "
            "or pass --force to replace everything in them."
        )
    connections[alias].close()
    if engine == POSTGRES:
        _restore_postgres(source / PG_DUMP_FILE, alias, clear=bool(existing))
    else:
        _restore_sqlite(source / SQLITE_FILE, alias)
    restored_files = _restore_media(source / MEDIA_FILE, media_root)
    after = current_tables(alias)
    wrong = {t: (n, after.get(t)) for t, n in manifest["tables"].items() if after.get(t) != n}
    extra = sorted(set(after) - set(manifest["tables"]))
    if wrong or extra:
        raise BackupError(f"The restored database differs from the manifest: {wrong or ''} {extra or ''}".strip())
    return Restored(tables=len(after), rows=sum(after.values()), media_files=restored_files)


def _restore_postgres(dump: Path, alias: str, *, clear: bool) -> None:
    params = _pg_params(alias)
    with psycopg.connect(**params, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), current_schema()")
        server_version, schema = cursor.fetchone()
        if clear:
            cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    program = pg_program("pg_restore", _major(server_version))
    result = subprocess.run(
        [
            program,
            "--no-owner",
            "--no-acl",
            "--exit-on-error",
            "--single-transaction",
            "-d",
            params["dbname"],
            str(dump),
        ],
        env=_pg_env(params),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed (nothing was restored): {result.stderr.strip()}")


def _restore_sqlite(copy: Path, alias: str) -> None:
    target = connections[alias].settings_dict["NAME"]
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(copy) as src, sqlite3.connect(target) as dst:
        src.backup(dst)  # replaces the whole target database, page by page


def _restore_media(archive: Path, root: Path) -> int:
    if root.is_dir():
        for child in root.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")  # no absolute paths, no "..", no devices
    return _media_files(root)
