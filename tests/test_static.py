"""The production static build (as the Dockerfile runs it) succeeds.

Production uses whitenoise's manifest storage: a CSS/JS reference to a file that is not there
fails the build here rather than as a 500 after deployment.
"""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VENDOR = ["htmx.min.js", "echarts.min.js", "hls.min.js", "zxing-wasm-reader.js", "zxing_reader.wasm"]


def test_vendor_files_come_from_the_npm_build():
    for name in VENDOR:
        assert (BASE_DIR / "static" / "vendor" / name).stat().st_size > 10_000, name
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "static/vendor/htmx.min.js"], cwd=BASE_DIR, capture_output=True
    )
    assert ignored.returncode == 0, "static/vendor must stay out of git"


def test_production_collectstatic_builds_a_complete_manifest(tmp_path):
    (tmp_path / "static_build.py").write_text(
        f"from groupbuy.settings.production import *  # noqa: F403\nSTATIC_ROOT = {str(tmp_path / 'staticfiles')!r}\n"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "static_build",
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{BASE_DIR}",
        "SECRET_KEY": "build-only-not-secret",
        "SMS_CONSOLE_ALLOWED": "true",  # a build step: no text messages are sent
        "GROUPBUY_DATA_DIR": str(tmp_path / "data"),
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    manifest = (tmp_path / "staticfiles" / "staticfiles.json").read_text()
    for name in VENDOR:
        assert f'"vendor/{name}"' in manifest
