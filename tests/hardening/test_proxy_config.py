"""The production proxies (deploy/nginx/groupbuy.conf on the host, deploy/compose/proxy.conf in compose) refuse
bodies above the app's own limit; the host's is valid nginx; docker-compose.yml points to it."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

CONFIG = Path(settings.BASE_DIR) / "deploy" / "nginx" / "groupbuy.conf"
UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def _sizes(text: str) -> list[int]:
    return [
        int(number) * UNITS[unit.lower()]
        for number, unit in re.findall(r"^\s*client_max_body_size\s+(\d+)([kKmMgG]?);", text, re.M)
    ]


def test_the_apps_server_takes_exactly_the_apps_largest_request():
    sizes = _sizes(CONFIG.read_text())

    assert sizes[0] == settings.UPLOAD_MAX_REQUEST_BYTES
    assert sizes[1:] == [1024]  # the HLS host: players send no bodies


def test_the_compose_load_balancer_takes_the_same_largest_request():
    sizes = _sizes((Path(settings.BASE_DIR) / "deploy" / "compose" / "proxy.conf").read_text())

    assert sizes == [settings.UPLOAD_MAX_REQUEST_BYTES]


def test_the_compose_file_names_the_proxy_config():
    assert "deploy/nginx/groupbuy.conf" in (Path(settings.BASE_DIR) / "docker-compose.yml").read_text()


@pytest.mark.skipif(not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()), reason="no nginx here")
@pytest.mark.skipif(not shutil.which("openssl"), reason="no openssl here")
def test_nginx_accepts_the_config(tmp_path):
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=groupbuy.test"),
            *("-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")),
        ],
        check=True,
        capture_output=True,
    )
    site = re.sub(r"/etc/letsencrypt/live/[^/]+/fullchain\.pem", str(tmp_path / "cert.pem"), CONFIG.read_text())
    site = re.sub(r"/etc/letsencrypt/live/[^/]+/privkey\.pem", str(tmp_path / "key.pem"), site)
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path};\n  include {tmp_path}/site.conf;\n}}\n"
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"

    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
