"""Settings for the LLM Governance Portal, read from the environment.

Variables (see README, "Configuration"):
  DEBUG                  true for a local pilot; false (the default) in production
  SECRET_KEY             required when DEBUG is false
  ALLOWED_HOSTS          comma-separated; required when DEBUG is false
  DATABASE_URL           e.g. postgres://user@host:5432/portal; unset = SQLite under var/
  CELERY_BROKER_URL      e.g. redis://127.0.0.1:6379/0; unset = tasks run eagerly in-process
  CELERY_RESULT_BACKEND  defaults to the broker URL
  LEDGER_SIGNING_KEY     Ed25519 key for ledger checkpoints
  CSRF_TRUSTED_ORIGINS   comma-separated origins when served behind a proxy on another scheme or port
  SECURE_HSTS_SECONDS, SECURE_HSTS_PRELOAD, SECURE_SSL_REDIRECT   production transport security
  LOG_LEVEL              INFO by default
  API_MAX_REQUEST_BYTES  largest pipeline API request body (default 16 MiB); larger requests get 413
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not DEBUG:
    _missing = [name for name, value in (("SECRET_KEY", SECRET_KEY), ("ALLOWED_HOSTS", ALLOWED_HOSTS)) if not value]
    if _missing:
        raise ImproperlyConfigured(
            f"DEBUG is false (production mode) but {' and '.join(_missing)} "
            f"{'is' if len(_missing) == 1 else 'are'} not set. Set them in the environment "
            "(SECRET_KEY: a random string of at least 50 characters; ALLOWED_HOSTS: the comma-separated "
            "host names this portal is served under), or set DEBUG=true for a local pilot."
        )
elif not SECRET_KEY:
    # Local pilot only: a fixed, clearly marked development key. Production refuses to start without one.
    SECRET_KEY = "django-insecure-local-pilot-key-never-use-in-production"  # noqa: S105

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "guardian",
    "simple_history",
    # The product, in the order of its layers: each app may import only from those above it.
    "governance",
    "lineage",
    "registry",
    "evidence",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Stamps every ledger entry with the request id and the signed-in user (simple-history reads it too).
    "governance.audit_context.AuditContextMiddleware",
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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "portal.sqlite3",
            "OPTIONS": {
                # A pilot has several people clicking at once: take the write lock at BEGIN so two writers
                # queue instead of failing with "database is locked" half-way through a transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# No guardian "AnonymousUser" row: anonymous visitors hold no object permissions here.
ANONYMOUS_USER_NAME = None
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# --- Internationalisation: time is UTC everywhere --------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing; collectstatic fills it
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "ledger_checkpoints": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # Signed ledger checkpoints kept outside the database; in production point this storage at WORM
        # or object storage (any Django storage backend).
        "OPTIONS": {"location": env_str("LEDGER_CHECKPOINT_DIR") or str(VAR_DIR / "checkpoints")},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- History and audit ----------------------------------------------------------------------------------
# History rows are for the admin's diff view; the audit ledger is the evidence. Nobody reverts history.
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS = True

# --- Celery ---------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or CELERY_BROKER_URL or None
# Without a broker (a laptop pilot), tasks run in-process; errors surface to the caller.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# A task is acknowledged only once it has finished, and a worker that dies hands it back: every task is
# therefore written to be idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60)

# --- API ------------------------------------------------------------------------------------------------
# Pipelines authenticate with a token (``Authorization: Bearer``; the pipeline endpoints accept nothing else);
# signed-in people, and tokens, may read the schema and docs.
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "governance.api.authentication.PipelineTokenAuthentication",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "governance.api.exceptions.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
#: The largest API request body (bytes): above it, 413. Room for a validation run of about 100,000 results.
API_MAX_REQUEST_BYTES = env_int("API_MAX_REQUEST_BYTES", 16 * 1024 * 1024)
SPECTACULAR_SETTINGS = {
    "TITLE": "LLM Governance Portal API",
    "DESCRIPTION": "Pipeline API: lineage, training runs, model versions, gates and evidence.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema describes a regulated system's interface: signed-in users and pipeline tokens only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}

# --- Product settings -----------------------------------------------------------------------------------
LEDGER_SIGNING_KEY = env_str("LEDGER_SIGNING_KEY")
LEDGER_SIGNING_KEY_FILE = env_str("LEDGER_SIGNING_KEY_FILE") or (
    str(VAR_DIR / "ledger-signing-key.pem") if DEBUG else ""
)
CELERY_BEAT_SCHEDULE = {
    "ledger-checkpoint": {
        "task": "governance.tasks.make_ledger_checkpoint",
        "schedule": env_int("LEDGER_CHECKPOINT_INTERVAL_S", 3600),
    },
    "retraining-due": {
        "task": "governance.tasks.flag_due_retraining",
        "schedule": env_int("RETRAINING_CHECK_INTERVAL_S", 24 * 3600),
    },
    "ledger-verify": {
        "task": "governance.tasks.verify_ledger_chain",
        "schedule": env_int("LEDGER_VERIFY_INTERVAL_S", 24 * 3600),
    },
}

# --- Transport security ---------------------------------------------------------------------------------
# The portal runs behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    # /healthz is probed over plain HTTP by load balancers inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Logging --------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
