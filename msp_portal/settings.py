"""Settings for MSP Portal.

One module, read from the environment once (django-environ). Production behaviour is switched by
environment variables; `make run` and the tests work with none set (SQLite under var/, an
embedded Celery broker, console e-mail).
https://docs.djangoproject.com/en/5.2/ref/settings/
"""

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env")

# The files of a setup without services: the embedded SQLite database, the file-system broker's
# queue, beat's schedule, export files and collected static files. Folders are made as needed.
VAR_DIR = Path(env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))

# ---------------------------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-not-for-production-use-0123456789"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The public base URL, used in e-mails (password reset, delivery notices) sent from jobs that
# have no request to build absolute URLs from.
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tables2",
    "django_filters",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "axes",
    "csp",
    "msp_portal",
    "accounts",
    "customers",
    "audit",
    "points",
    "billing_jobs",
    "customer_portal",
    "exports",
    "merges",
    "bench",
    "webhooks",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
]

MIDDLEWARE = [
    # A request id for the logs and the tasks a request queues; latency and queries per view.
    "msp_portal.observability.RequestIdMiddleware",
    "msp_portal.observability.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy on every response (CONTENT_SECURITY_POLICY).
    "csp.middleware.CSPMiddleware",
    "msp_portal.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "msp_portal.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.TwoFactorMiddleware",
    "accounts.middleware.SessionActivityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "msp_portal.middleware.RequestContextMiddleware",
    "msp_portal.middleware.OverlapMiddleware",
    # django-axes wants to be last: it turns lockouts raised by authentication into responses.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "msp_portal.urls"
WSGI_APPLICATION = "msp_portal.wsgi.application"
ASGI_APPLICATION = "msp_portal.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
                "msp_portal.context_processors.portal",
                "accounts.context_processors.two_factor",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------------
# Database
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-db-url
# ---------------------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] != ":memory:":
        # SQLite creates the file but not its folder: a fresh checkout has no var/ yet.
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # The embedded database is shared by the web process and the Celery worker of `make run`:
    # WAL lets readers and one writer work at once, IMMEDIATE takes the write lock when a
    # transaction starts (instead of failing on upgrade), and the timeout waits for it.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

# ---------------------------------------------------------------------------------------------
# Authentication: e-mail login, lockout (django-axes), two-factor (django-otp)
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
# ---------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Passwordless sign-in with a passkey (accounts.passkeys).
    "django_otp_webauthn.backends.WebAuthnBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)  # hours
# Lock an account after repeated failures, and a client (address + browser) that tries many
# accounts; the account lock is what users see, the client lock slows guessing across accounts.
AXES_LOCKOUT_PARAMETERS = ["username", ["ip_address", "user_agent"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
OTP_TOTP_ISSUER = "MSP Portal"
# Days an organization that did not require two-factor sign-in before it became the default
# gives its members to enrol (the deadline is recorded per organization by accounts 0009).
PORTAL_TWO_FACTOR_GRACE_DAYS = env.int("PORTAL_TWO_FACTOR_GRACE_DAYS", default=14)
# Sensitive actions (msp_portal.permissions.SENSITIVE_VIEWS) ask for a second factor, or the
# password of a user without one, when the last check is older than this.
PORTAL_REAUTHENTICATION_SECONDS = env.int("PORTAL_REAUTHENTICATION_SECONDS", default=10 * 60)

# Passkeys (WebAuthn) with django-otp-webauthn. The relying party id is the site's host name;
# origins are the exact scheme://host[:port] the browser shows. WebAuthn needs a secure context:
# https, or http://localhost in development.
# https://django-otp-webauthn.readthedocs.io/en/latest/reference/settings.html
OTP_WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default="localhost")
OTP_WEBAUTHN_RP_NAME = env.str("WEBAUTHN_RP_NAME", default="MSP Portal")
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list("WEBAUTHN_ALLOWED_ORIGINS", default=["http://localhost:8000"])

# Sessions end after a working day, or when the browser closes.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# ---------------------------------------------------------------------------------------------
# Security (production defaults; `manage.py check --deploy` passes with DEBUG off)
# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
# ---------------------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): the portal's own scripts, styles and images only — no
# inline script or style attribute, no eval (htmx runs with allowEval off, see base.html), never
# framed, forms posted only to the portal. `CSP_REPORT_ONLY=true` sends it as
# Content-Security-Policy-Report-Only instead (to try a change on production traffic); either
# way browsers report violations to /csp-report/, which logs them.
_CSP_DIRECTIVES = {
    "default-src": [SELF],
    "script-src": [SELF],
    "style-src": [SELF],
    # Bootstrap draws its icons (menu, select arrow, close) as data: SVG images.
    "img-src": [SELF, "data:"],
    "font-src": [SELF],
    "connect-src": [SELF],
    "object-src": [NONE],
    "base-uri": [SELF],
    "frame-ancestors": [NONE],
    "form-action": [SELF],
    "report-uri": "/csp-report/",
}
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _CSP_DIRECTIVES}
    CONTENT_SECURITY_POLICY = None
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _CSP_DIRECTIVES}
# Permissions-Policy: every browser feature the portal never uses, denied to it and to anything it
# embeds. Passkeys (publickey-credentials-*) stay allowed to the portal itself.
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), encrypted-media=(), fullscreen=(), "
    "geolocation=(), gyroscope=(), hid=(), magnetometer=(), microphone=(), midi=(), payment=(), "
    "picture-in-picture=(), screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=(), "
    "publickey-credentials-create=(self), publickey-credentials-get=(self)"
)
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

# ---------------------------------------------------------------------------------------------
# Internationalization: Japanese first, English complete; business dates in Asia/Tokyo
# ---------------------------------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "portal_language"
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------------------------
# Static files: vendored assets served by WhiteNoise, no CDN
# ---------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# Hashed, compressed file names need `collectstatic`; development and tests serve the sources.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST

# Generated files (background exports) go through the named storage "exports": the local file
# system under MEDIA_ROOT by default (`make run` needs nothing), S3-compatible object storage
# (django-storages) when EXPORTS_S3_BUCKET is set, so web and worker hosts share no disk.
# Downloads are then redirects to a presigned URL valid EXPORTS_DOWNLOAD_URL_SECONDS.
EXPORTS_S3_BUCKET = env.str("EXPORTS_S3_BUCKET", default="")
EXPORTS_DOWNLOAD_URL_SECONDS = env.int("EXPORTS_DOWNLOAD_URL_SECONDS", default=300)
if EXPORTS_S3_BUCKET:
    STORAGES["exports"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": EXPORTS_S3_BUCKET,
            # Empty: the AWS endpoint of the region; set for MinIO, Ceph or another provider.
            "endpoint_url": env.str("EXPORTS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("EXPORTS_S3_REGION", default="") or None,
            # Empty: boto3's own chain (instance role, AWS_* variables, ~/.aws).
            "access_key": env.str("EXPORTS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("EXPORTS_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("EXPORTS_S3_PREFIX", default=""),
            "addressing_style": env.str("EXPORTS_S3_ADDRESSING_STYLE", default="") or None,
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": EXPORTS_DOWNLOAD_URL_SECONDS,
            "file_overwrite": True,
        },
    }
else:
    # No location: FileSystemStorage follows MEDIA_ROOT (also when a test changes it).
    STORAGES["exports"] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}

# ---------------------------------------------------------------------------------------------
# E-mail (console by default)
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-email-url
# ---------------------------------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="MSP Portal <no-reply@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# ---------------------------------------------------------------------------------------------
# Celery: Redis when CELERY_BROKER_URL is set; otherwise an embedded file-system broker that
# needs no server, so `make run` still runs the worker and the scheduled jobs.
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# ---------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)  # the transport writes there, creating nothing
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        # Broadcast (remote control) bindings; by default a "control" folder in the working directory.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
else:
    # A task not acknowledged within this time is delivered again; long billing chunks must
    # finish well inside it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    # A prefix on every broker key: several portals (or tests) on one Redis database.
    if env.str("CELERY_BROKER_KEY_PREFIX", default=""):
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = env.str("CELERY_BROKER_KEY_PREFIX")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
REDIS_URL = env.str("REDIS_URL", default="")
# Queues (routed by task name, here only): `billing` keeps the daily run, its chunks and its
# finish (due cancellations are settled inside the run) apart from `exports`, so large exports
# never delay the 25th; everything else — e-mail, provisioning, reminders, and the tasks of any
# app added later — goes to `default`. Workers consume one queue or several (`-Q billing`);
# `make run`'s single worker consumes all three.
CELERY_TASK_DEFAULT_QUEUE = "default"
PORTAL_CELERY_QUEUES = ("billing", "exports", "default")
# What a worker started without --queues consumes: all three, and "celery", the queue every task
# went to before they were routed (messages queued by an older release are still run).
CELERY_TASK_QUEUES = [Queue(name) for name in (*PORTAL_CELERY_QUEUES, "celery")]
CELERY_TASK_ROUTES = {
    "billing_jobs.tasks.billing_scan": {"queue": "billing"},
    "billing_jobs.tasks.run_daily_billing": {"queue": "billing"},
    "billing_jobs.tasks.charge_chunk": {"queue": "billing"},
    "billing_jobs.tasks.finish_run": {"queue": "billing"},
    "exports.tasks.*": {"queue": "exports"},
}

# ---------------------------------------------------------------------------------------------
# Billing jobs (DESIGN.md §5.6, §7): the daily run's knobs
# ---------------------------------------------------------------------------------------------
# How many due periods the daily run charges on its own (1: the latest 25th only); older gaps
# are reported by verify_ledger and charged with `manage.py charge_period`.
PORTAL_BILLING_CATCHUP_PERIODS = env.int("PORTAL_BILLING_CATCHUP_PERIODS", default=1)
# Customer ids per chunk task of the monthly charge.
PORTAL_BILLING_CHUNK_SIZE = env.int("PORTAL_BILLING_CHUNK_SIZE", default=5000)
# Days a balance may stay negative before the account is flagged suspended (利用停止).
PORTAL_SUSPENSION_GRACE_DAYS = env.int("PORTAL_SUSPENSION_GRACE_DAYS", default=30)
# Days of the month on which shortage reminders and auto-replenish run.
PORTAL_REMINDER_DAYS = [int(day) for day in env.list("PORTAL_REMINDER_DAYS", default=["20", "24"])]

# ---------------------------------------------------------------------------------------------
# Caches (local memory unless Redis is configured)
# ---------------------------------------------------------------------------------------------
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# ---------------------------------------------------------------------------------------------
# Logging: to stderr, so the process manager collects it
# ---------------------------------------------------------------------------------------------
# PORTAL_LOG_FORMAT=json: one JSON object a line, for a log collector. Every record carries the
# request id (msp_portal.observability), also in the tasks a request queued.
PORTAL_LOG_FORMAT = env.str("PORTAL_LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "msp_portal.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "msp_portal.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if PORTAL_LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
# Celery workers keep this logging configuration instead of installing their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# ---------------------------------------------------------------------------------------------
# Metrics: /metrics in the Prometheus text format (msp_portal.observability), off unless enabled,
# answered only to the bearer token or to an address in the allowed networks.
# ---------------------------------------------------------------------------------------------
PORTAL_METRICS_ENABLED = env.bool("PORTAL_METRICS_ENABLED", default=False)
PORTAL_METRICS_TOKEN = env.str("PORTAL_METRICS_TOKEN", default="")
PORTAL_METRICS_ALLOWED_NETWORKS = env.list("PORTAL_METRICS_ALLOWED_NETWORKS", default=[])
# A worker's own task series (runtime, failures) on this port; 0: not served.
PORTAL_METRICS_WORKER_PORT = env.int("PORTAL_METRICS_WORKER_PORT", default=0)
PORTAL_METRICS_WORKER_ADDRESS = env.str("PORTAL_METRICS_WORKER_ADDRESS", default="127.0.0.1")

# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"
PORTAL_PAGE_SIZES = [25, 50, 100, 200]

# ---------------------------------------------------------------------------------------------
# Customer accounts: approval promise and provisioning (DESIGN.md §3)
# ---------------------------------------------------------------------------------------------
# 「原則3営業日」: the approval queue's due date, in Japanese business days.
PORTAL_APPROVAL_BUSINESS_DAYS = env.int("PORTAL_APPROVAL_BUSINESS_DAYS", default=3)
# Merge and transfer requests (DESIGN.md §11): a pending request expires after this many days
# (the daily run marks it); an MSP admin may search other MSPs' accounts this many times a day.
PORTAL_REQUEST_EXPIRY_DAYS = env.int("PORTAL_REQUEST_EXPIRY_DAYS", default=30)
PORTAL_MERGE_SEARCHES_PER_DAY = env.int("PORTAL_MERGE_SEARCHES_PER_DAY", default=5)
# The class that creates tenants in the service; the simulated one needs nothing.
PORTAL_PROVISIONING_BACKEND = env.str(
    "PORTAL_PROVISIONING_BACKEND", default="customers.provisioning.SimulatedProvisioningBackend"
)
# Account codes for which the simulated backend fails (to rehearse the failure path).
PORTAL_SIMULATED_PROVISIONING_FAIL_CODES = env.list("PORTAL_SIMULATED_PROVISIONING_FAIL_CODES", default=[])
# Attempts after the first before an account is marked provisioning_failed.
PORTAL_PROVISIONING_MAX_RETRIES = env.int("PORTAL_PROVISIONING_MAX_RETRIES", default=5)

# ---------------------------------------------------------------------------------------------
# Exports (DESIGN.md §8): up to this many rows an Excel export downloads directly; more run as
# a background job whose file is kept this many hours, for the requesting user only.
# ---------------------------------------------------------------------------------------------
PORTAL_EXPORT_DIRECT_MAX_ROWS = env.int("PORTAL_EXPORT_DIRECT_MAX_ROWS", default=20_000)
PORTAL_EXPORT_RETENTION_HOURS = env.int("PORTAL_EXPORT_RETENTION_HOURS", default=24)
# Data rows per Excel sheet before the export continues on a new one (Excel's limit, less the
# header); lowered only by tests.
PORTAL_EXPORT_XLSX_SHEET_ROWS = 1_048_575

# ---------------------------------------------------------------------------------------------
# Webhooks (DESIGN.md §13, docs/webhooks.md)
# ---------------------------------------------------------------------------------------------
# Endpoints may be plain HTTP and local or private addresses only when this is on (development,
# and tests that run a receiver on the loopback); otherwise HTTPS to public addresses only.
PORTAL_WEBHOOK_ALLOW_LOCAL = env.bool("PORTAL_WEBHOOK_ALLOW_LOCAL", default=DEBUG)
# Seconds a receiver has to answer one attempt (connect and response).
PORTAL_WEBHOOK_TIMEOUT_SECONDS = env.int("PORTAL_WEBHOOK_TIMEOUT_SECONDS", default=10)
# Seconds between a failed attempt and the next: the Standard Webhooks schedule (5 s, 5 min,
# 30 min, 2 h, 5 h, then 10 h twice), its last two waits shortened to 8 h so that the eighth and
# last attempt falls within 24 hours of the first.
PORTAL_WEBHOOK_RETRY_DELAYS = [
    int(seconds)
    for seconds in env.list(
        "PORTAL_WEBHOOK_RETRY_DELAYS", default=["5", "300", "1800", "7200", "18000", "28800", "28800"]
    )
]
# An endpoint whose attempts have all failed for this many days is disabled, its admins e-mailed.
PORTAL_WEBHOOK_DISABLE_AFTER_DAYS = env.int("PORTAL_WEBHOOK_DISABLE_AFTER_DAYS", default=3)
# REST API (DESIGN.md §13, docs/api.md): Django REST framework with API keys, the OpenAPI schema
# by drf-spectacular (docs served offline from drf-spectacular-sidecar)
# https://www.django-rest-framework.org/api-guide/settings/
# https://drf-spectacular.readthedocs.io/en/latest/settings.html
# ---------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.KeyScopeAndRole"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.KeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MSP Portal API",
    "DESCRIPTION": "Customer accounts, points, approvals and job runs of the MSP Portal. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_problem_responses",
    ],
}
# Requests per key per window ("600/min", "10/s", "20000/hour").
PORTAL_API_RATE_LIMIT = env.str("PORTAL_API_RATE_LIMIT", default="600/min")
PORTAL_API_PAGE_SIZE = 50
PORTAL_API_MAX_PAGE_SIZE = 1000
# A new key's default validity, and the longest one (days).
PORTAL_API_KEY_DEFAULT_DAYS = 90
PORTAL_API_KEY_MAX_DAYS = 365
