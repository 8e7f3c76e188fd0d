"""The portal's one settings module, driven by environment variables (see README.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import dj_database_url

from portal.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_int,
    env_list,
    env_storage,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

# "development" (the embedded default) or "production" (secure cookies, HSTS, a real secret key).
ENVIRONMENT = env_str("DJANGO_ENV", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfiguredEnv(f"DJANGO_ENV must be development or production; got {ENVIRONMENT!r}")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DJANGO_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfiguredEnv("DJANGO_DEBUG must be off when DJANGO_ENV=production")

if PRODUCTION:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfiguredEnv("DJANGO_SECRET_KEY must be at least 50 varied characters")
else:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", "development-only-insecure-key-do-not-use-in-production-0123456789")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# Absolute base URL for links in emails sent by workers (no request there).
SITE_URL = env_str("PORTAL_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Who runs this portal, as printed in every attestation report's basis of preparation.
PORTAL_OPERATOR_NAME = env_str("PORTAL_OPERATOR_NAME", "the organisation running this portal")
PORTAL_OPERATOR_CONTACT = env_str("PORTAL_OPERATOR_CONTACT", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "django_htmx",
    "django_scopes",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "portal",
    "principles",
    "assessments",
    "supplychain",
    "reports",
]

MIDDLEWARE = [
    "portal.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "portal.session_user.AuthenticationMiddleware",  # Django's, the person read by one SELECT
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.tenancy.TenantMiddleware",
    "portal.middleware.DebugNotFoundMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

# --- Database: SQLite under var/ unless DATABASE_URL is set ---------------------------------
DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "sqlite"))
CONN_MAX_AGE = env_int("DJANGO_CONN_MAX_AGE", 60, minimum=0)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=CONN_MAX_AGE, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, plus the row-level-security context of each transaction (portal/rls.py).
        DATABASES["default"]["ENGINE"] = "portal.dbbackend"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "portal.sqlite3"),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# PostgreSQL: the role the application connects as in production, granted its privileges after each
# migrate (which runs as the tables' owner). It must not own the tables or bypass row-level security.
PORTAL_DB_APP_ROLE = env_str("PORTAL_DB_APP_ROLE", "")
# Only where migrate creates that role (compose): its password, set each time migrate runs.
PORTAL_DB_APP_PASSWORD = env_str("PORTAL_DB_APP_PASSWORD", "")
# The key that signs each transaction's row-level-security context (portal/rls.py): the database
# honours a context only with a valid signature, so the application role alone (an SQL injection, a
# leaked DATABASE_URL) cannot choose which tenants it sees. Derived from the secret key unless set;
# migrate installs it in the database, so change it (or the secret key) only together with a migrate.
PORTAL_RLS_KEY = env_str("PORTAL_RLS_KEY", "")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and the shared cache ----------------------------------------------
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss"))


def _redis_db(url: str, offset: int) -> str:
    """The same Redis server, the database number shifted, so clearing the cache spares the queue."""
    parsed = urlparse(url)
    db = int(parsed.path.lstrip("/") or 0)
    return urlunparse(parsed._replace(path=f"/{db + offset}"))


if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "portal.cache.RedisCache",  # one Redis client per pool (portal/cache.py)
            "LOCATION": env_str("CACHE_URL", _redis_db(REDIS_URL, 1)),
            "KEY_PREFIX": "portal",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery (DESIGN.md section 9) -----------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL  # embedded default: tasks run in-process
# ... and slow ones (report rendering, data exports) published during a request run in a background
# thread after the response, so the page shows their progress (portal/background.py). The test
# suite turns it off to run tasks in line, except the test that proves it.
PORTAL_EAGER_TASKS_IN_BACKGROUND = env_bool("PORTAL_EAGER_TASKS_IN_BACKGROUND", True)
# The queue tasks are published to, by web processes and by tasks running in workers alike.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 180, minimum=2)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 3600}  # above the longest task
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 512_000)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING below, with request ids
# A task that fails for a reason that may pass (mail server down, storage unwritable) runs again
# after this many seconds, doubling on each attempt, up to the maximum (portal.tasking).
# The fewest responses a workforce survey needs before any result (overall or for a group) is shown;
# a survey may ask for more, never fewer. Never below 5: a lower value refuses to start.
PORTAL_SURVEY_MIN_RESPONSES = env_int("PORTAL_SURVEY_MIN_RESPONSES", 5, minimum=5)
PORTAL_TASK_RETRY_SECONDS = env_int("PORTAL_TASK_RETRY_SECONDS", 60, minimum=1)
PORTAL_TASK_RETRY_MAX_SECONDS = env_int("PORTAL_TASK_RETRY_MAX_SECONDS", 600, minimum=1)
# Webhooks (portal.webhooks): each request's timeout; the first retry's wait (doubling up to 6 hours) and
# how long a delivery is retried before it is marked failed; after how many days of failures (no success
# since) an endpoint is paused and its owners told. Endpoints must be https in production; requests never
# go to private, loopback, link-local or reserved addresses, except loopback when allowed (tests only).
PORTAL_WEBHOOK_TIMEOUT_SECONDS = env_int("PORTAL_WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1)
PORTAL_WEBHOOK_RETRY_SECONDS = env_int("PORTAL_WEBHOOK_RETRY_SECONDS", 60, minimum=1)
PORTAL_WEBHOOK_RETRY_HOURS = env_int("PORTAL_WEBHOOK_RETRY_HOURS", 24, minimum=1)
PORTAL_WEBHOOK_PAUSE_AFTER_DAYS = env_int("PORTAL_WEBHOOK_PAUSE_AFTER_DAYS", 3, minimum=1)
PORTAL_WEBHOOKS_ALLOW_HTTP = not PRODUCTION and env_bool("PORTAL_WEBHOOKS_ALLOW_HTTP", True)
PORTAL_WEBHOOKS_ALLOW_LOOPBACK = not PRODUCTION and env_bool("PORTAL_WEBHOOKS_ALLOW_LOOPBACK", False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-invitation-emails": {
        "task": "portal.tasks.sweep_invitation_emails",
        "schedule": timedelta(minutes=2),
    },
    "sweep-stuck-notification-emails": {
        "task": "portal.tasks.sweep_outbox",
        "schedule": timedelta(minutes=2),
    },
    "sweep-stuck-supplier-invitations": {
        "task": "supplychain.tasks.sweep_supplier_invitations",
        "schedule": timedelta(minutes=2),
    },
    "sweep-stuck-reports": {
        "task": "reports.tasks.sweep_reports",
        "schedule": timedelta(minutes=5),
    },
    "sweep-stuck-exports": {
        "task": "portal.tasks.sweep_exports",
        "schedule": timedelta(minutes=5),
    },
    "apply-retention": {
        "task": "portal.tasks.apply_retention",
        "schedule": timedelta(hours=1),
    },
    "reminders": {
        "task": "portal.tasks.run_reminders",
        "schedule": timedelta(hours=1),
    },
    "daily-digests": {
        "task": "portal.tasks.make_digests",
        "schedule": timedelta(hours=1),
    },
    "sweep-stuck-digests": {
        "task": "portal.tasks.sweep_digests",
        "schedule": timedelta(minutes=2),
    },
    "webhook-deliveries": {
        "task": "portal.tasks.sweep_webhook_deliveries",
        "schedule": timedelta(minutes=1),
    },
    "supplier-invitation-reminders-and-expiry": {
        "task": "supplychain.tasks.supplier_invitation_reminders",
        "schedule": timedelta(hours=1),
    },
}

# --- Accounts (django-allauth) --------------------------------------------------------------
AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "portal.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
FORM_RENDERER = "portal.forms.PortalFormRenderer"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
# The code page says how long a code lasts (read from here) and offers "Send a new code" (up to 3 times;
# the confirm_email rate limit below still spaces the emails out).
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_TIMEOUT = 15 * 60
ACCOUNT_EMAIL_VERIFICATION_SUPPORTS_RESEND = 3
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Made Smarter Portal] "
ACCOUNT_SIGNUP_FORM_CLASS = "portal.forms.SignupDetailsForm"
ACCOUNT_FORMS = {"login": "portal.account_forms.LoginForm"}
# Failed sign-ins are counted per account and address, per account, and per address (portal/adapters.py):
# one person mistyping is stopped without locking out everyone else behind the same address.
ACCOUNT_RATE_LIMITS = {
    "login_failed_account_address": "5/5m/key",
    "login_failed": "20/15m/key",  # one account from any address; also wrong second-factor codes
    "login_failed_address": "30/15m/ip",  # many accounts from one address: password spraying
    "login": "60/m/ip",  # every sign-in attempt, right or wrong: a flood guard above the failure ceiling
    "signup": "20/h/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Made Smarter Portal"
# Tracking last activity costs five queries on every request; sessions are still listed.
USERSESSIONS_TRACK_ACTIVITY = False
# How many proxies in front append to X-Forwarded-For: the client's address is the entry that many from the
# end (portal/addresses.py). 0 ignores the header, as anyone can send it.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("ALLAUTH_TRUSTED_PROXY_COUNT", 0, minimum=0)

# --- Email ----------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Made Smarter Portal <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 20
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", "English")]
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static and private files ---------------------------------------------------------------
STATIC_URL = "/static/"
# The image keeps its collected files outside the data volume: a volume keeps its first contents, so static
# files under it would stay those of the first release after every upgrade.
STATIC_ROOT = Path(env_str("PORTAL_STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Evidence, report PDFs and exports: the local folder PORTAL_VAR_DIR/private by default, or with
# PORTAL_STORAGE_URL=s3://bucket?endpoint_url=...&region=... a private, encrypted S3-compatible bucket
# (portal/env.py env_storage, portal/storage.py; keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
STORAGES = {
    "default": env_storage("PORTAL_STORAGE_URL", local_location=str(VAR_DIR / "private")),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION  # development: serve from the app folders, no collectstatic

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sessions are read from the cache (Redis in production) and written through to the database, so a
# page does not pay a query to find its session, and a cache flush signs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
)

# --- REST API (/api/v1/, docs/api.md) -------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.ApiTokenAuthentication",
        "portal.api.authentication.PortalSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "portal.api.authentication.PrincipalRateThrottle",
        "portal.api.authentication.AddressRateThrottle",
    ],
    "DEFAULT_PAGINATION_CLASS": "portal.api.authentication.Cursor",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Requests per minute, counted in the shared cache (Redis in production) across all web processes: per token
# (or signed-in person), and, for requests without either, per client address.
API_THROTTLE_RATES = {
    "principal": f"{env_int('PORTAL_API_RATE_PER_TOKEN', 600, minimum=1)}/min",
    "address": f"{env_int('PORTAL_API_RATE_PER_IP', 1200, minimum=1)}/min",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Made Smarter Principles Portal API",
    "DESCRIPTION": (
        "Everything the portal's pages can do, for ERP, HR and supplier-management systems. "
        "Authenticate with a personal API token (`Authorization: Bearer msp_...`) made on your account page. "
        "Lists are cursor-paginated; errors share one shape (`code`, `message`, `fields`); POSTs honour an "
        "`Idempotency-Key` header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One schema name per choice set, whichever serializer uses it.
    "ENUM_NAME_OVERRIDES": {
        "WorkflowStatusEnum": "assessments.models.AssessmentStatus",
        "ActionStatusEnum": "assessments.models.ActionStatus",
        "PlanKindEnum": "assessments.models.PlanKind",
        "ConsultationOutcomeEnum": "assessments.models.ConsultationOutcome",
        "CharacteristicEnum": "assessments.models.Characteristic",
        "ImpactEnum": "assessments.models.Impact",
        "EqiaOutcomeEnum": "assessments.models.EqiaOutcome",
        "SectorEnum": "portal.models.Sector",
        "SizeBandEnum": "portal.models.SizeBand",
        "EmailStatusEnum": "portal.models.EmailStatus",
        "SignatureDecisionEnum": "portal.models.SignatureDecision",
        "SignatureCapacityEnum": "portal.models.SignatureCapacity",
        "CommitmentStatusEnum": "principles.models.CommitmentStatus",
        "ReportStatusEnum": "reports.models.ReportStatus",
        "InvitationStateEnum": "supplychain.models.InvitationState",
        "RoleEnum": "portal.roles.Role",
        "NotificationDeliveryEnum": "portal.models.Delivery",
        "NotificationKindEnum": "portal.api.notifications.kind_choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.schema.add_error_responses",
    ],
}

# --- Portal rules ---------------------------------------------------------------------------
INVITATION_TTL_DAYS = env_int("PORTAL_INVITATION_TTL_DAYS", 14, minimum=1)
# Data protection: how long expired things are kept before portal.privacy.retention_apply removes them.
PORTAL_EXPORT_RETENTION_DAYS = env_int("PORTAL_EXPORT_RETENTION_DAYS", 7, minimum=1)
PORTAL_INVITATION_RETENTION_DAYS = env_int("PORTAL_INVITATION_RETENTION_DAYS", 90, minimum=1)
AUDIT_EVENTS_PER_PAGE = 50
NOTIFICATIONS_PER_PAGE = 25

# --- Logging: one line per event, each with the request id ----------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfiguredEnv(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL; got {LOG_LEVEL!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.logging.RequestIdFilter"}},
    "formatters": {
        "line": {
            "format": "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "line",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"
EVIDENCE_MAX_BYTES = env_int("PORTAL_EVIDENCE_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
