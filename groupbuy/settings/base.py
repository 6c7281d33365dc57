"""Settings shared by every mode, read from the environment through one ``env`` object.

With nothing set, the app runs on an embedded default that needs no server: an SQLite file under
``var/``, an in-memory channel layer, a local-memory cache and a Celery broker kept in files under
``var/celery`` (so a worker with ``--beat`` still runs scheduled work). Set ``DATABASE_URL`` and
``REDIS_URL`` to switch to PostgreSQL and Redis.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A .env file is optional; real deployments pass the environment directly.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("GROUPBUY_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
# Earlier keys, still accepted: sessions and signed links they signed, and the webhook secrets they sealed
# (groupbuy.sealed). Rotate by moving the old key here.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "groupbuy.web.admin_site.SuperuserAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "rest_framework",
    "csp",  # django-csp: its system checks of CONTENT_SECURITY_POLICY (the middleware is in MIDDLEWARE)
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files for the API reference, served locally (no CDN)
    # Layered bottom-up: each app may import only from the apps above it.
    "groupbuy.stream",  # the kernel's durable event stream
    "groupbuy.audit",  # the kernel's audit log
    "community",
    "catalogue",
    "livestream",
    "media",
    "jielong",
    "fulfillment",
    "aftersales",
    "feedback",
    "highlights",
    "fission",
    "analytics",
    "cdp",
    "bi",
    "api",
    "webhooks",
    "privacy",
    "groupbuy.web",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "groupbuy.csp.CSPMiddleware",  # Content-Security-Policy (CONTENT_SECURITY_POLICY below), django-csp's
    "groupbuy.middleware.SecurityHeadersMiddleware",  # Permissions-Policy; bodies over the upload limits
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "groupbuy.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "groupbuy.audit.middleware.AuditPlaceMiddleware",
    "analytics.middleware.DeviceIdMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "groupbuy.urls"
ASGI_APPLICATION = "groupbuy.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "groupbuy.web.context_processors.shell",
                "privacy.context_processors.consent",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# PostgreSQL through psycopg 3 with Django's built-in connection pool when DATABASE_URL is set;
# an SQLite file otherwise (the embedded default).
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'groupbuy.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN", default=2),
        "max_size": env.int("DB_POOL_MAX", default=8),
        "timeout": 10,
    }
    # The pool replaces persistent connections; Django refuses both at once.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
USES_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# An optional PostgreSQL read replica (streaming replication from the primary). Only the reads that ask for it
# (dashboards and exports, inside groupbuy.db.replica_reads()) go there; everything else stays on the primary.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
DATABASE_REPLICA_ALIAS = ""
if DATABASE_REPLICA_URL:
    from django.core.exceptions import ImproperlyConfigured

    if not USES_POSTGRES:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs DATABASE_URL to be PostgreSQL (the replica's primary).")
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"]["OPTIONS"] = {**DATABASES["replica"].get("OPTIONS", {}), **DATABASES["default"]["OPTIONS"]}
    # A replica that is down must not hold a board for the pool's wait: after 3 s groupbuy.db gives up on it
    # and the board reads the primary (and leaves the replica alone for REPLICA_RETRY_SECONDS).
    DATABASES["replica"]["OPTIONS"]["connect_timeout"] = 3
    DATABASES["replica"]["OPTIONS"]["pool"] = {**DATABASES["default"]["OPTIONS"]["pool"], "timeout": 3}
    DATABASES["replica"]["CONN_MAX_AGE"] = 0
    DATABASE_REPLICA_ALIAS = "replica"
DATABASE_ROUTERS = ["groupbuy.db.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# "Once per target" constraints with NULLS NOT DISTINCT (fulfillment's batch_move_once) exist on PostgreSQL;
# the embedded SQLite demo has no such constraints, and its writes are serial anyway.
SILENCED_SYSTEM_CHECKS = ["models.W047"]
AUTH_USER_MODEL = "community.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "web:staff-login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Member sessions must survive an app restart: they live in the database, for 30 days.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30

# --- Redis: cache, Channels layer, Celery broker -------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

# Redis pub/sub ignores the db number: two installs sharing one Redis would hear each other's
# messages. Each install's channel and group names carry its own prefix; the default is derived from
# the Redis db the install uses (installs on one db share everything else there too).
CHANNEL_PREFIX = env.str("CHANNEL_PREFIX", default="") or f"groupbuy.db{urlsplit(REDIS_URL).path.strip('/') or 0}."

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Redis down must cost a request a second at most, not a hang: fail fast and degrade.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub: a group message is published once and each app process fans it out to its
            # own watchers (the core layer writes one Redis entry per watcher: 1,000 per snapshot).
            # Delivery is at most once either way; snapshots are whole and versioned.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": CHANNEL_PREFIX},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Single process only: fine for the embedded default, where one ASGI server serves everyone.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # kombu's own with messages written whole (groupbuy/filesystem_broker.py: a half-written one stopped the worker).
    CELERY_BROKER_TRANSPORT = "groupbuy.filesystem_broker:Transport"
    _celery_dir = DATA_DIR / "celery"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "store_processed": False,
        # Exchange bindings (and the workers' control channel); kombu's default is ./control in the cwd.
        "control_folder": str(_celery_dir / "control"),
    }
    # kombu's filesystem transport does not create its folders; the worker and every producer need them.
    for _folder in ("queue", "processed", "control"):
        (_celery_dir / _folder).mkdir(parents=True, exist_ok=True)
else:
    # Redis redelivers an unacked task after this; our long waits are database rows, not ETAs.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False


# Each periodic task sweeps everything due, so a copy that waited longer than one interval is redundant:
# it expires instead of piling up while the worker is down (a backlog of 120 sweeps after an hour).
def _every(seconds: float, task: str) -> dict:
    return {"task": task, "schedule": seconds, "options": {"expires": seconds}}


CELERY_BEAT_SCHEDULE = {
    "jielong-close-due-campaigns": _every(30.0, "jielong.tasks.close_due_campaigns"),
    "jielong-deliver-owed-after-join-work": _every(30.0, "jielong.tasks.deliver_owed_after_join_work"),
    "livestream-run-warmup": _every(15.0, "livestream.tasks.run_warmup"),
    "community-publish-due-posts": _every(30.0, "community.tasks.publish_due_posts"),
    "fulfillment-split-due-days": _every(60.0, "fulfillment.tasks.split_due_days"),
    "fulfillment-send-notices": _every(30.0, "fulfillment.tasks.send_notices"),
    "fulfillment-mark-uncollected": _every(600.0, "fulfillment.tasks.mark_uncollected"),
    # The NPS survey after pickup: the sweep behind the pickup subscriber (a lost hook costs 5 minutes).
    "feedback-ask-nps": _every(300.0, "feedback.tasks.ask_nps"),
    # After-sales: SLA escalation and the shortage sweep behind the ShortageRecorded subscriber.
    "aftersales-escalate-due": _every(300.0, "aftersales.tasks.escalate_due"),
    # Highlights: ready recordings the recording_ready subscriber missed, clips whose cutting was lost.
    "highlights-sweep": _every(120.0, "highlights.tasks.sweep"),
    # Help-sellers and commissions: the sweeps behind the join subscriber and the pickup/refund hooks.
    "fission-attribute-orders": _every(300.0, "fission.tasks.attribute_orders"),
    "fission-catch-up-commissions": _every(600.0, "fission.tasks.catch_up_commissions"),
    # Recordings: remux any FLV whose on_record_done was lost; delete recordings past retention.
    "media-sweep-recordings": _every(600.0, "media.tasks.sweep_recordings"),
    # The event stream's durable consumers (identity resolution, ...), each from its cursor.
    "stream-relay": _every(15.0, "groupbuy.stream.tasks.relay"),
    # BI: fold the stream into the dashboards' rollups; re-export recent days for ClickHouse (when configured).
    "bi-rollups-catch-up": _every(30.0, "bi.tasks.rollups_catch_up"),
    "bi-stream-export": _every(3600.0, "bi.tasks.stream_export_recent"),
    # CDP: each brand's RFM, KOC and LTV snapshot computed again before the pages find it old (cdp.snapshots).
    "cdp-models-refresh": _every(60.0, "cdp.tasks.models_refresh"),
    # Stock low (catalogue.stock_low): SKUs that fell below the threshold since their last restock.
    "catalogue-announce-low-stock": _every(60.0, "catalogue.tasks.announce_low_stock"),
    # Webhooks out: stream rows fanned out to the endpoints' deliveries, then every due delivery sent (or retried).
    "webhooks-run": _every(5.0, "webhooks.tasks.run"),
    # Privacy: anonymise the accounts whose deletion request has passed its cooling-off.
    "privacy-process-due-deletions": _every(3600.0, "privacy.tasks.process_due_deletions"),
    # The public API forgets idempotency keys after a week.
    "api-purge-idempotency-records": _every(3600.0, "api.tasks.purge_idempotency_records"),
}

# The sales and NPS tiles read the stream's rollups (bi.rollups) instead of counting domain rows (every order's
# facts are in the event stream, the demo's history too; `rollups_rebuild --check` compares the two paths).
BI_ROLLUPS = env.bool("BI_ROLLUPS", default=True)
# Memory per sort or hash for the board statements that group every order by customer (LTV, 裂变新客占比):
# PostgreSQL's work_mem, set for that statement's transaction only; empty: the server's own (4 MB by default).
BI_WORK_MEM = env.str("BI_WORK_MEM", default="64MB")
# Where the periodic export writes the stream's day partitions for ClickHouse (bi.stream_export); empty: off.
STREAM_EXPORT_DIR = env.str("STREAM_EXPORT_DIR", default="")

# --- Fulfilment: pickup (核销) -----------------------------------------------------------------
# How long after a 核销 the counter may undo it (a wrong code, a mix-up), with a reason.
FULFILMENT_PICKUP_UNDO_MINUTES = env.int("FULFILMENT_PICKUP_UNDO_MINUTES", default=10)
# How long an order may wait at the pickup point before it is 超时未取 and the member is reminded (once).
FULFILMENT_UNCOLLECTED_AFTER_HOURS = env.int("FULFILMENT_UNCOLLECTED_AFTER_HOURS", default=48)

# --- Help-sellers (帮卖) and commissions (fission) -----------------------------------------------------
# How long a help-seller's link counts before an order (last touch), and the leaders' pickup-point commission in
# basis points (1 % = 100): the defaults until an operator sets the brand's own.
FISSION_ATTRIBUTION_DAYS = env.int("FISSION_ATTRIBUTION_DAYS", default=7)
FISSION_LEADER_RATE_BP = env.int("FISSION_LEADER_RATE_BP", default=0)

# --- Live media: nginx-rtmp ingest, HLS, recordings (media app; README "Live media") -------------
# nginx-rtmp runs beside the app (`./bin/media` locally, the media-server service in docker-compose.yml); its
# config is rendered from these by `manage.py media_server`. Encoders publish to MEDIA_RTMP_PUBLIC_URL, members
# play HLS from MEDIA_HLS_PUBLIC_URL, nginx calls the app back at MEDIA_CALLBACK_URL with MEDIA_CALLBACK_SECRET.
MEDIA_SERVER_DIR = Path(env.str("MEDIA_SERVER_DIR", default=str(DATA_DIR / "media-server")))
MEDIA_SERVER_HOST = env.str("MEDIA_SERVER_HOST", default="127.0.0.1")  # where the app reaches nginx
MEDIA_RTMP_PORT = env.int("MEDIA_RTMP_PORT", default=1935)
MEDIA_HTTP_PORT = env.int("MEDIA_HTTP_PORT", default=8088)
MEDIA_RTMP_PUBLIC_URL = env.str("MEDIA_RTMP_PUBLIC_URL", default="")  # default rtmp://<host>:<port>/live
MEDIA_HLS_PUBLIC_URL = env.str("MEDIA_HLS_PUBLIC_URL", default="")  # default http://<host>:<http port>/hls/
MEDIA_CALLBACK_URL = env.str("MEDIA_CALLBACK_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}")
MEDIA_CALLBACK_SECRET = env.str("MEDIA_CALLBACK_SECRET", default="")  # default: derived from SECRET_KEY
MEDIA_SERVER_USER = env.str("MEDIA_SERVER_USER", default="nobody")  # nginx's workers when started as root
MEDIA_HLS_FRAGMENT_SECONDS = env.int("MEDIA_HLS_FRAGMENT_SECONDS", default=1)
MEDIA_HLS_PLAYLIST_SECONDS = env.int("MEDIA_HLS_PLAYLIST_SECONDS", default=6)
MEDIA_UPDATE_SECONDS = env.int("MEDIA_UPDATE_SECONDS", default=3)  # a rotated key is cut off within this
MEDIA_RELAY_TIMEOUT_SECONDS = env.int("MEDIA_RELAY_TIMEOUT_SECONDS", default=5)  # ffmpeg -rw_timeout of relays
MEDIA_RECORDING_RETENTION_DAYS = env.int("MEDIA_RECORDING_RETENTION_DAYS", default=90)
MEDIA_NGINX = env.str("MEDIA_NGINX", default="/usr/sbin/nginx")
MEDIA_RTMP_MODULE = env.str("MEDIA_RTMP_MODULE", default="/usr/lib/nginx/modules/ngx_rtmp_module.so")
MEDIA_FFMPEG = env.str("MEDIA_FFMPEG", default="ffmpeg")
MEDIA_FFPROBE = env.str("MEDIA_FFPROBE", default="ffprobe")
# nginx calls back with the callback URL's host name (``web`` in docker-compose.yml): let it in.
_media_callback_host = urlsplit(MEDIA_CALLBACK_URL).hostname or ""
if _media_callback_host and _media_callback_host not in ALLOWED_HOSTS and "*" not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(_media_callback_host)

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="CN")

# --- Static and media ----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
# Uploaded and generated pictures (posters, post and item photos) are served by the app itself, also in
# production; a proxy that serves MEDIA_ROOT directly (see docker-compose.yml) can turn this off.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The public API (/api/v1/, the api app): its schema, rate limit per token, body limit, sync settle.
SPECTACULAR_SETTINGS = {
    "TITLE": "Groupbuy API",
    "DESCRIPTION": "The public API for integrations: a brand's communities, members (masked), catalogue, live "
    "sessions, jielong campaigns and orders (incremental sync), fulfilment and pickup verification, after-sales, "
    "refunds, commissions and dashboard figures. Authenticate with `Authorization: Bearer <token>` (made by an "
    "operator under Integrations → API tokens) or an operator's session. Errors: "
    '`{"error": {"code", "message", "fields"}}` with stable codes.',
    "VERSION": "1.0.0",
    # 3.1: the schema also publishes the webhooks sent to integrations (their bodies and headers).
    "OAS_VERSION": "3.1.0",
    "WEBHOOKS": "webhooks.schema.WEBHOOKS",  # one dotted path to the list (imported lazily)
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "PREPROCESSING_HOOKS": ["api.schema.only_public_api"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema.strict_request_bodies"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ParcelStateEnum": "fulfillment.models.Parcel.State",
        "StorageEnum": "catalogue.models.Product.StorageType",
    },
}
API_RATE = env.str("API_RATE", default="600/min")

# --- Proxies ------------------------------------------------------------------------------------
# Addresses (or networks) of the reverse proxies in front of the app: only requests from these may say
# who the client is in X-Forwarded-For (rate limits count per client address). None by default.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- Webhooks out (webhooks app; docs/webhooks.md) ------------------------------------------------
# Endpoints on loopback or private networks are refused (the app's own network is not the operator's to
# probe), unless this is on: a self-hosted ERP on the LAN, the local tests' receiver.
WEBHOOKS_ALLOW_PRIVATE_URLS = env.bool("WEBHOOKS_ALLOW_PRIVATE_URLS", default=DEBUG)

# --- Providers (things this machine cannot reach sit behind these) ------------------------
SMS_PROVIDER = env.str("SMS_PROVIDER", default="community.providers.sms.ConsoleSMSProvider")
# Sign-in texts go only to numbers of these regions (ISO codes): any other destination is SMS toll fraud
# waiting to happen. The per-number, per-address and hourly limits are in community/services/signin.py.
SMS_ALLOWED_REGIONS = env.list("SMS_ALLOWED_REGIONS", default=["CN"])
# The installation's ceiling of sign-in texts an hour (the bill's ceiling whatever an attacker does).
SIGNIN_SMS_HOUR = (env.int("SIGNIN_SMS_PER_HOUR", default=3000), 3600)
# --- Privacy (PIPL): the notice's version, deletion's cooling-off (privacy app) -------------------------------
# The privacy notice members accept; raise it with a new templates/member/privacy/notice_<version>.html and
# every member who accepted an older one is asked again (a light banner) on their next visit.
PRIVACY_NOTICE_VERSION = env.str("PRIVACY_NOTICE_VERSION", default="2")
# Days between a member's deletion request and the anonymisation, during which they may cancel it.
PRIVACY_DELETION_COOLING_OFF_DAYS = env.int("PRIVACY_DELETION_COOLING_OFF_DAYS", default=7)
POSTER_FONT_PATH = env.str("POSTER_FONT_PATH", default="/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Hardening: content security policy, secure headers, upload limits ----------------------------------
# No inline script or style anywhere (templates carry no <script> bodies, on*= handlers or style=""
# attributes; tests/test_security_templates.py keeps it so): an injected tag or attribute cannot run.
# Scripts set element.style (the CSSOM), which style-src does not govern; htmx's own indicator <style> is off
# (templates/base.html's htmx-config). The live stream's HLS server is another origin (its own port): hls.js
# fetches playlists and segments from it (connect-src) into MediaSource blobs (media-src blob:); Safari plays
# it natively (media-src). A session's own external HLS URL is allowed on its pages only (groupbuy.csp).
# connect-src 'self' covers the same host's ws:/wss: (CSP Level 3: Chromium, Firefox, Safari >= 15.4);
# "ws: wss:" would let a script talk to any host.
_hls_public = urlsplit(MEDIA_HLS_PUBLIC_URL or f"http://{MEDIA_SERVER_HOST}:{MEDIA_HTTP_PORT}/hls/")
CSP_STREAM_ORIGINS = [f"{_hls_public.scheme}://{_hls_public.netloc}"] if _hls_public.netloc else []
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # data: for the inline SVG/PNG QR codes and posters; blob: for pictures previewed before upload.
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:", *CSP_STREAM_ORIGINS],
        "connect-src": ["'self'", *CSP_STREAM_ORIGINS],
        # hls.js transmuxes in a worker it may start from a blob: URL.
        "worker-src": ["'self'", "blob:"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        # The campaign builder's preview frames the member page (its view allows frame-ancestors 'self').
        "frame-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    },
}
# Browser features: the pickup scanner (核销) uses the camera on our own pages; nothing uses the rest.
PERMISSIONS_POLICY = {
    "camera": ["self"],
    "microphone": [],
    "geolocation": [],
    "payment": [],
    "usb": [],
    "serial": [],
    "bluetooth": [],
    "midi": [],
    "magnetometer": [],
    "gyroscope": [],
    "accelerometer": [],
    "display-capture": [],
    "fullscreen": ["self"],
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Request bodies. Forms and JSON are small: 2.5 MB (Django refuses a bigger non-file body, and
# groupbuy.middleware refuses one announced bigger by Content-Length before anything reads it, also for the
# API's JSON). Files stream to a temporary file above 2.5 MB. A whole multipart request may carry up to
# UPLOAD_MAX_REQUEST_BYTES (nine 10 MB photos and the form); each upload has its own smaller limit where it is
# read (groupbuy.images: bytes, pixels, decompression bombs; community.roster: size, rows, zip bombs). The
# proxy's limit (deploy/nginx.conf client_max_body_size) matches UPLOAD_MAX_REQUEST_BYTES.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Bulk actions tick one box per order (a campaign's orders pass 1,000); 2,000 fields still bound the parse.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
DATA_UPLOAD_MAX_NUMBER_FILES = 20
UPLOAD_MAX_REQUEST_BYTES = env.int("UPLOAD_MAX_REQUEST_BYTES", default=100 * 1024 * 1024)
