"""DATABASE_REPLICA_URL in the settings: absent, everything is on the primary; present, a second alias with the
primary's pool; with the embedded SQLite default, refused (a replica follows a PostgreSQL primary)."""

import json

from tests.test_settings import load

PROBE = """
import json
from django.conf import settings
print(json.dumps({
    "aliases": sorted(settings.DATABASES),
    "alias": settings.DATABASE_REPLICA_ALIAS,
    "routers": settings.DATABASE_ROUTERS,
    "replica": {k: settings.DATABASES.get("replica", {}).get(k) for k in ("HOST", "NAME", "OPTIONS")},
    "default": {"OPTIONS": settings.DATABASES["default"].get("OPTIONS")},
}))
"""


def _probe(tmp_path, monkeypatch, **env) -> dict:
    monkeypatch.setattr("tests.test_settings.PROBE", PROBE)
    result = load("groupbuy.settings.local", tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_a_replica_there_is_one_database(tmp_path, monkeypatch):
    config = _probe(tmp_path, monkeypatch, DATABASE_URL="postgres://u:p@db.example:5432/shop")
    assert config["aliases"] == ["default"] and config["alias"] == ""
    assert config["routers"] == ["groupbuy.db.ReplicaRouter"]


def test_a_replica_url_adds_the_replica_alias_with_the_primarys_pool(tmp_path, monkeypatch):
    config = _probe(
        tmp_path,
        monkeypatch,
        DATABASE_URL="postgres://u:p@db.example:5432/shop",
        DATABASE_REPLICA_URL="postgres://u:p@replica.example:5432/shop",
    )
    assert config["aliases"] == ["default", "replica"] and config["alias"] == "replica"
    assert config["replica"]["HOST"] == "replica.example" and config["replica"]["NAME"] == "shop"
    # The primary's pool size; a replica that is down is given up on in 3 s (groupbuy.db reads the primary).
    assert config["replica"]["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 8, "timeout": 3}
    assert config["replica"]["OPTIONS"]["connect_timeout"] == 3
    assert config["default"]["OPTIONS"]["pool"]["timeout"] == 10


def test_a_replica_beside_the_embedded_sqlite_default_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("tests.test_settings.PROBE", PROBE)
    result = load("groupbuy.settings.local", tmp_path, DATABASE_REPLICA_URL="postgres://u:p@replica.example/shop")
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL needs DATABASE_URL to be PostgreSQL" in result.stderr
