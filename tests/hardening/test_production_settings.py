"""The production settings, loaded as production loads them (a fresh interpreter, only the variables production
needs): HTTPS behind the proxy, the policy and the limits; and `check --deploy` finds nothing."""

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent

PROBE = """
import json
from django.conf import settings
print(json.dumps({
    name: getattr(settings, name)
    for name in (
        "DEBUG", "SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY", "X_FRAME_OPTIONS", "CONTENT_SECURITY_POLICY", "MIDDLEWARE",
        "CSP_STREAM_ORIGINS",
    )
}))
"""


def _production(tmp_path, command: list[str], **extra: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "groupbuy.settings.production",
        "GROUPBUY_DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": "p9#Lq2!vR7@kM4$wX1^nB8&cT5*zY3(dF6)gH0_jK-sA=eU+iO~" * 2,
        "ALLOWED_HOSTS": "groupbuy.example.com",
        "SMS_PROVIDER": "community.providers.sms.HttpSMSProvider",
        "MEDIA_HLS_PUBLIC_URL": "https://live.groupbuy.example.com/hls/",
        **extra,
    }
    return subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=90)


def test_production_serves_https_behind_the_proxy_with_the_policy(tmp_path):
    result = _production(tmp_path, [sys.executable, "-c", PROBE])
    assert result.returncode == 0, result.stderr
    s = json.loads(result.stdout)

    assert s["DEBUG"] is False
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True and s["SECURE_HSTS_PRELOAD"] is True
    assert s["SESSION_COOKIE_SECURE"] is True and s["CSRF_COOKIE_SECURE"] is True
    assert s["SESSION_COOKIE_HTTPONLY"] is True
    assert s["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert s["SECURE_REFERRER_POLICY"] == "same-origin"
    assert s["SECURE_CROSS_ORIGIN_OPENER_POLICY"] == "same-origin"
    assert s["X_FRAME_OPTIONS"] == "DENY"
    directives = s["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert not any("unsafe" in value for values in directives.values() for value in values)
    assert directives["media-src"] == ["'self'", "blob:", "https://live.groupbuy.example.com"]
    assert directives["connect-src"] == ["'self'", "https://live.groupbuy.example.com"]
    assert s["MIDDLEWARE"][:3] == [
        "django.middleware.security.SecurityMiddleware",
        "groupbuy.csp.CSPMiddleware",
        "groupbuy.middleware.SecurityHeadersMiddleware",
    ]


def test_check_deploy_finds_nothing_not_even_a_warning(tmp_path):
    result = _production(tmp_path, [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"])

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."
