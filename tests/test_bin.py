"""The scripts behind the README's two commands (bin/dev, bin/test, their bin/_common.sh) and CI's .ci/run.

The server start-up paths (a root machine's own cluster, a user's throwaway servers under var/) need a
machine without servers, so they are not run here; these tests cover what every run relies on.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent

SCRIPTS = ["bin/_common.sh", "bin/dev", "bin/test", ".ci/run"]


def bash(script: str) -> str:
    result = subprocess.run(
        ["bash", "-c", f"set -euo pipefail; source bin/_common.sh; {script}"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_scripts_are_shellcheck_clean():
    # bin/test installs shellcheck as root, like the other system packages the suite uses.
    assert shutil.which("shellcheck"), "shellcheck is not installed (Debian/Ubuntu: apt-get install shellcheck)"

    result = subprocess.run(["shellcheck", "-x", *SCRIPTS], cwd=BASE_DIR, capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        (
            "postgres://groupbuy:groupbuy@127.0.0.1:5432/groupbuy",
            "postgres|groupbuy|groupbuy|127.0.0.1|5432|groupbuy",
        ),
        ("redis://127.0.0.1:6379/1", "redis|||127.0.0.1|6379|1"),
        ("redis://localhost", "redis|||localhost||"),
        ("postgres://u:p%40ss@[::1]:5433/db?sslmode=disable", "postgres|u|p%40ss|::1|5433|db?sslmode=disable"),
    ],
    ids=["database-default", "redis-default", "no-port", "ipv6-and-query"],
)
def test_parse_url_splits_service_urls(url, parts):
    out = bash(f'parse_url "{url}"; echo "$URL_SCHEME|$URL_USER|$URL_PASSWORD|$URL_HOST|$URL_PORT|$URL_REST"')

    assert out.strip() == parts


@pytest.mark.parametrize(
    ("url", "moved"),
    [
        (
            "postgres://groupbuy:groupbuy@127.0.0.1:5432/groupbuy",
            "postgres://groupbuy:groupbuy@127.0.0.1:55432/groupbuy",
        ),
        ("redis://127.0.0.1:6379/15", "redis://127.0.0.1:55432/15"),
        ("postgres://u@[::1]/db", "postgres://u@[::1]:55432/db"),
    ],
    ids=["database", "redis", "ipv6-no-password"],
)
def test_url_with_port_keeps_everything_but_the_port(url, moved):
    assert bash(f'parse_url "{url}"; url_with_port 55432') == moved


def test_bin_test_fails_when_pytest_collects_nothing():
    # given the servers this run uses (bin/test leaves running ones alone)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}

    # when a -k matches no test
    result = subprocess.run(
        ["./bin/test", "tests/test_bin.py", "-k", "no_test_has_this_name", "-q", "-p", "no:cacheprovider"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    # then the run fails, and says why
    assert result.returncode == 5, result.stdout + result.stderr
    assert "pytest collected no tests" in result.stderr
    assert "passed" not in result.stdout


def test_ci_runs_exactly_the_readme_test_command():
    lines = [line for line in (BASE_DIR / ".ci/run").read_text().splitlines() if line and not line.startswith("#")]

    assert lines[-1] == "./bin/test"
    assert "./bin/test" in (BASE_DIR / "README.md").read_text()
