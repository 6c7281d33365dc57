"""Production: refuses to start without a real secret key or with DEBUG on."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import SECRET_KEY, env

if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in production.")
if env.bool("DEBUG", default=False):
    raise ImproperlyConfigured("DEBUG must be off in production.")
DEBUG = False
SMS_SHOW_CODE = False

# The console SMS provider sends nothing (it logs, codes redacted): a production install with it cannot
# sign members in. Refuse it unless the operator says this is a trial without texts.
if SMS_PROVIDER == "community.providers.sms.ConsoleSMSProvider" and not env.bool(  # noqa: F405
    "SMS_CONSOLE_ALLOWED", default=False
):
    raise ImproperlyConfigured(
        "SMS_PROVIDER is the console provider, which sends no text messages. Set SMS_PROVIDER "
        "(e.g. community.providers.sms.HttpSMSProvider with SMS_HTTP_URL), or SMS_CONSOLE_ALLOWED=true for a trial."
    )

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HTTPS everywhere: the proxy terminates TLS and sets X-Forwarded-Proto. A plain-HTTP trial turns the
# secure cookies, the redirect and HSTS off together with SECURE_COOKIES=false.
_HTTPS = env.bool("SECURE_COOKIES", default=True)
SESSION_COOKIE_SECURE = _HTTPS
CSRF_COOKIE_SECURE = _HTTPS
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_HTTPS)
# Health probes inside the compose network speak plain HTTP to the app port.
# nginx-rtmp's callbacks too: it calls the app over the compose network and takes a redirect as "no".
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^internal/media/"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=_HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
STORAGES["staticfiles"]["BACKEND"] = (  # noqa: F405
    "whitenoise.storage.CompressedManifestStaticFilesStorage"
)
