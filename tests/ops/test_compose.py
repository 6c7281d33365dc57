"""The production compose file's shape past one machine: a load balancer in front of web replicas, worker
replicas, exactly one beat, an optional read replica the app is pointed at by DATABASE_REPLICA_URL."""

import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


def _services() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())["services"]


def test_web_and_workers_scale_behind_one_published_port_and_beat_stays_one():
    services = _services()
    assert services["beat"]["deploy"]["replicas"] == 1
    assert services["web"]["deploy"]["replicas"] == "${WEB_REPLICAS:-2}"
    assert services["worker"]["deploy"]["replicas"] == "${WORKER_REPLICAS:-2}"
    # Replicas cannot share a host port: only the load balancer publishes the app's.
    assert "ports" not in services["web"]
    assert services["proxy"]["ports"] == ["127.0.0.1:${PORT:-8000}:8000"]
    conf = (BASE_DIR / "deploy" / "compose" / "proxy.conf").read_text()
    assert "server web:8000 resolve;" in conf and "proxy_set_header Upgrade" in conf
    assert "./deploy/compose/proxy.conf:/etc/nginx/conf.d/default.conf:ro" in services["proxy"]["volumes"]


def test_the_read_replica_is_optional_streams_from_the_primary_and_reaches_the_app_by_its_setting():
    services = _services()
    replica = services["postgres-replica"]
    assert replica["profiles"] == ["replica"]
    assert "pg_basebackup -h postgres" in replica["command"][-1] and "-R" in replica["command"][-1]
    assert replica["image"] == services["postgres"]["image"] == "postgres:${PG_MAJOR:-16}-bookworm"
    hba = (BASE_DIR / "deploy" / "compose" / "pg_hba.conf").read_text()
    assert "host    replication  all   all      scram-sha-256" in hba
    assert "hba_file=/etc/postgresql/pg_hba.conf" in services["postgres"]["command"]
    for name in ("web", "worker", "beat", "migrate", "media-server"):
        assert services[name]["environment"]["DATABASE_REPLICA_URL"] == "${DATABASE_REPLICA_URL:-}"
        assert "postgres-replica" not in services[name].get("depends_on", {})  # the app starts without it


@pytest.mark.skipif(not Path("/usr/sbin/nginx").exists(), reason="no nginx here")
def test_nginx_accepts_the_load_balancers_config(tmp_path):
    """Syntax, with the replicas' name as an address: Debian's nginx predates ``resolve`` (1.27.3), and ``web``
    resolves only on the compose network."""
    conf = (BASE_DIR / "deploy" / "compose" / "proxy.conf").read_text()
    conf = conf.replace("server web:8000 resolve;", "server 127.0.0.1:8000;").replace("listen 8000;", "listen 18000;")
    (tmp_path / "proxy.conf").write_text(conf)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n access_log off;\n client_body_temp_path {tmp_path};\n include {tmp_path}/proxy.conf;\n}}\n"
    )
    result = subprocess.run(
        ["/usr/sbin/nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
