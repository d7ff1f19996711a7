"""Settings for the LLM Governance Portal, read from the environment.

Variables (see README, "Configuration"), read from the environment and, for what it does not set, from the
checkout's .env (PORTAL_ENV_FILE names another file; empty: none):
  DEBUG                  true for a local pilot; false (the default) in production
  SECRET_KEY             required when DEBUG is false
  ALLOWED_HOSTS          comma-separated; required when DEBUG is false
  DATABASE_URL           e.g. postgres://user@host:5432/portal; unset = SQLite under var/
  CELERY_BROKER_URL      e.g. redis://127.0.0.1:6379/0; unset = tasks run eagerly in-process
  CELERY_RESULT_BACKEND  defaults to the broker URL
  LEDGER_SIGNING_KEY     Ed25519 key for ledger checkpoints
  LEDGER_CHECKPOINT_INTERVAL_S, LEDGER_CHECKPOINT_MAX_AGE_S   a checkpoint follows new entries within 60 s;
                         verify_ledger fails when an entry has waited longer than 120 s for one
  LEDGER_SYSLOG_ADDRESS  host:port of a syslog receiver (UDP) sent every checkpoint as it is made
  CSRF_TRUSTED_ORIGINS   comma-separated origins when served behind a proxy on another scheme or port
  SECURE_HSTS_SECONDS, SECURE_HSTS_PRELOAD, SECURE_SSL_REDIRECT   production transport security
  SESSION_IDLE_TIMEOUT_S, SESSION_ABSOLUTE_TIMEOUT_S   a signed-in session ends after 30 min idle, 12 h in all
  AXES_FAILURE_LIMIT, AXES_COOLOFF_MINUTES   failed sign-ins that lock a username out from one address (5), and
                         for how long (15 minutes)
  TRUSTED_PROXY_COUNT    reverse proxies in front that append to X-Forwarded-For (default 0: the header is ignored)
  OTP_TOTP_ISSUER, OTP_THROTTLE_FACTOR, SECOND_FACTOR_PENDING_SECONDS   the second factor: the name authenticator
                         apps show, seconds of delay after a wrong code (doubling), time allowed to enter a code
  LOG_LEVEL              INFO by default
  DOCUMENT_STORAGE_DIR   where uploaded documents are kept (default var/documents); DOCUMENT_MAX_BYTES their limit
  OIDC_RP_CLIENT_ID      set to offer single sign-on (OpenID Connect); see README, "Single sign-on"
  API_MAX_REQUEST_BYTES  largest pipeline API request body (default 16 MiB); larger requests get 413
  API_TOKEN_RATE         requests a pipeline token may make unless it has its own rate (default 600/min)
  INFERENCE_HMAC_KEYS, INFERENCE_HMAC_KEY_ID, INFERENCE_PSEUDONYM_KEY   the keys prompts, answers and end users of
                         inference records are hashed with (JSON {key id: secret}, the current key id, a secret);
                         unset = derived from SECRET_KEY, which check --deploy warns about (inference.W001)
  INFERENCE_EXCERPT_USE_CASES, INFERENCE_EXCERPT_CHARS   use cases whose records keep a redacted excerpt (none), and
                         its length (280)
  INFERENCE_RETENTION_DAYS, INFERENCE_RETENTION_DAYS_BY_USE_CASE   days inference records are kept (400), and per use
                         case (JSON {slug: days}); whole expired months are purged daily
  CACHE_URL              e.g. redis://127.0.0.1:6379/1: the cache shared by every process (API rate counters);
                         unset = an in-process cache, right only for a single-process pilot
  REVIEW_DUE_DAYS_BY_RISK_TIER   JSON days a review may wait per risk tier (default {"critical": 2, "high": 3,
                         "medium": 5, "low": 10}); overdue work is marked on landing pages and e-mailed daily
  EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, DEFAULT_FROM_EMAIL   e-mail
                         notifications over SMTP (587, TLS); unset EMAIL_HOST = printed to the console (a pilot);
                         EMAIL_BACKEND overrides; PORTAL_BASE_URL (https://...) makes their links absolute
  EVIDENCE_PACK_RENDER_TIMEOUT_S, EVIDENCE_PACK_RENDER_ATTEMPTS, EVIDENCE_PACK_SWEEP_INTERVAL_S   a pack rendering
                         longer than the timeout (default the task time limit + 5 min) is requeued, and failed after
                         that many renders (3); how often Celery beat looks (300 s)
  PROVENANCE_MONITORING_TOLERANCE, PROVENANCE_MONITORING_MIN_VOLUME   a production refusal or policy-violation rate
                         more than this many points (10) from the one validation measured, over a period of at least
                         this many conversations (200), raises a provenance flag
  PROVENANCE_ROW_TOLERANCE, PROVENANCE_SIZE_TOLERANCE   a dataset version's declared rows or bytes may differ from what
                         its pipeline reported (OpenLineage outputStatistics) by this fraction (0 and 0.01) before a
                         provenance flag is raised
"""

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_host_port, env_https_base_url, env_int, env_list, env_str, read_env_file

BASE_DIR = Path(__file__).resolve().parent.parent
# A local checkout reads the .env `make run` wrote (a pilot: DEBUG=true, its own SECRET_KEY); production has none.
ENV_FILE = read_env_file(BASE_DIR / ".env")
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
    "django.contrib.humanize",  # times and sizes as people read them ("arrived 3 minutes ago", "1.2 GB")
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files: nothing loads from a CDN
    "csp",
    "guardian",
    "simple_history",
    "django_otp",  # the second factor: TOTP authenticators and one-time backup codes
    "portal.apps.SecondFactorConfig",  # django_otp.plugins.otp_totp
    "django_otp.plugins.otp_static",
    "portal.apps.SignInLockoutConfig",  # axes: sign-in throttling and lockout
    # The product, in the order of its layers: each app may import only from those above it.
    "audit",
    "accounts",
    "governance",
    "lineage",
    "registry",
    "inference",
    "evidence",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content Security Policy on every response, static files included (WhiteNoise answers those below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor (TOTP or a backup code).
    "django_otp.middleware.OTPMiddleware",
    # Turns a sign-in refused for too many failures into the lockout page (HTTP 429).
    "axes.middleware.AxesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Ends sessions idle too long, older than the absolute limit, or of a deactivated person.
    "accounts.sessions.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Stamps every ledger entry with the request id and the signed-in user (simple-history reads it too).
    "audit.audit_context.AuditContextMiddleware",
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
# SQLite goes through the trust core's backend, whose table rebuilds keep the append-only triggers.
SQLITE_ENGINE = "audit.backends.sqlite3"
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["ENGINE"] = SQLITE_ENGINE
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": SQLITE_ENGINE,
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
    # First: refuses a locked-out username and address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
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
# Where a sign-in lands when it was given no safe ``next``: the admin index, each role's desk (Django's default,
# /accounts/profile/, is no page here). Single sign-on lands there too.
LOGIN_REDIRECT_URL = "admin:index"

# --- Second factor and sign-in throttling ---------------------------------------------------------------
# Every person signs in with a password and then a TOTP code (or a one-time backup code); the admin and every
# signing form require a verified second factor. Pipeline tokens are unaffected.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "LLM Governance Portal")
#: Seconds between a wrong code and the next try, doubling with each further failure (1, 2, 4, 8 ...).
OTP_TOTP_THROTTLE_FACTOR = env_int("OTP_THROTTLE_FACTOR", 1)
OTP_STATIC_THROTTLE_FACTOR = env_int("OTP_THROTTLE_FACTOR", 1)
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
#: How long the password step stays valid while the second factor is asked for.
SECOND_FACTOR_PENDING_SECONDS = env_int("SECOND_FACTOR_PENDING_SECONDS", 300)
# Failed sign-ins (wrong password or wrong second-factor code) lock out a username from one address.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.admin.second_factor.locked_out_response"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]  # never kept in the attempt records
AXES_ENABLE_ADMIN = False  # the portal's own lockout admin lifts a lockout through a service and the ledger
#: The number of reverse proxies in front of the portal, each appending the address it was connected from to
#: X-Forwarded-For. 0: the portal is reached directly and X-Forwarded-For is ignored (a client could forge it).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "accounts.sign_in.client_address"
# A signed-in session ends after 30 minutes without activity and 12 hours after sign-in, whatever happens in
# between (accounts.sessions enforces both; the cookie's own age is only the outer bound).
SESSION_IDLE_TIMEOUT_S = env_int("SESSION_IDLE_TIMEOUT_S", 30 * 60)
SESSION_ABSOLUTE_TIMEOUT_S = env_int("SESSION_ABSOLUTE_TIMEOUT_S", 12 * 3600)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT_S

# --- Single sign-on (OpenID Connect), optional -----------------------------------------------------------
# On when OIDC_RP_CLIENT_ID is set: the login page offers "Sign in with SSO" beside the password form, which
# stays for break-glass administrators. The identity provider's groups claim sets a person's roles at each
# sign-in (accounts.oidc); a person none of whose groups maps to a role is refused.
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET")
OIDC_OP_ISSUER = env_str("OIDC_OP_ISSUER")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
OIDC_USE_PKCE = True
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_S", 10)
#: The claim that names a person for good (``sub`` by default; ``preferred_username`` if the IdP never reuses it).
OIDC_USERNAME_CLAIM = env_str("OIDC_USERNAME_CLAIM", "sub")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
#: JSON object, IdP group -> role name (or list of role names); unset: groups named exactly like a role map to it.
OIDC_GROUP_MAP = env_str("OIDC_GROUP_MAP")
if OIDC_ENABLED:
    _missing = [
        name
        for name in (
            "OIDC_RP_CLIENT_SECRET",
            "OIDC_OP_ISSUER",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
            "OIDC_OP_JWKS_ENDPOINT",
        )
        if not globals()[name]
    ]
    if _missing:
        raise ImproperlyConfigured(f"OIDC_RP_CLIENT_ID is set, so single sign-on needs {', '.join(_missing)} too.")
    AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "accounts.oidc.PortalOIDCBackend"]

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
    # Uploaded documents (DPIAs, incident reports): outside STATIC_ROOT and MEDIA_ROOT, under random names, handed
    # out only by the download view that checks roles and records the download. Any Django storage backend will do.
    "documents": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env_str("DOCUMENT_STORAGE_DIR") or str(VAR_DIR / "documents"),
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

#: The largest uploaded document (bytes). Uploads stop being kept past it (governance.uploads), before the form
#: even sees them; a proxy in front should refuse request bodies much larger than this.
DOCUMENT_MAX_BYTES = env_int("DOCUMENT_MAX_BYTES", 20 * 1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "governance.uploads.DocumentSizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

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
#: How long an evidence pack may render before the sweep (Celery beat, ``sweep_evidence_packs``) takes it for
#: stuck: longer than the task's time limit, so that no render still running is requeued.
EVIDENCE_PACK_RENDER_TIMEOUT_S = env_int("EVIDENCE_PACK_RENDER_TIMEOUT_S", CELERY_TASK_TIME_LIMIT + 5 * 60)
#: Renders started on one pack before the sweep fails it instead of requeueing it (a pack that kills its worker
#: every time must not loop for ever); asking for it again with its idempotency key restarts it.
EVIDENCE_PACK_RENDER_ATTEMPTS = env_int("EVIDENCE_PACK_RENDER_ATTEMPTS", 3)

# --- Cache ----------------------------------------------------------------------------------------------
# The API's rate counters live here, so every gunicorn worker must see the same cache: Redis in production
# (a database of its own, not the broker's). Unset, each process counts for itself: fine for a pilot.
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r} is not a Redis URL (redis://host:6379/1).")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL, "KEY_PREFIX": "portal"}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "portal"}
    )
}

# --- API ------------------------------------------------------------------------------------------------
# Pipelines authenticate with a token (``Authorization: Bearer``; the pipeline endpoints accept nothing else);
# signed-in people, and tokens, may read the schema and docs.
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.verified_session.VerifiedSessionAuthentication",  # signed-in people, second factor passed
        "accounts.api.authentication.PipelineTokenAuthentication",
    ],
    # JSON only, read up to API_MAX_REQUEST_BYTES (not Django's 2.5 MiB DATA_UPLOAD_MAX_MEMORY_SIZE, which stays the
    # admin's limit for form posts), refusing what the portal cannot keep (a NUL character, numbers outside I-JSON,
    # nesting deeper than 64 levels): 400 or 413, never a server error.
    "DEFAULT_PARSER_CLASSES": ["accounts.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "accounts.api.exceptions.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    # Per pipeline token, counted in the shared cache; people signed in to the admin are not throttled.
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api.throttling.PipelineTokenRateThrottle"],
}
#: The largest API request body (bytes): above it, 413. Room for a validation run of about 100,000 results.
API_MAX_REQUEST_BYTES = env_int("API_MAX_REQUEST_BYTES", 16 * 1024 * 1024)
#: What a token may send unless it has a rate of its own (``PipelineToken.rate_limit``); above it, 429.
API_TOKEN_RATE = env_str("API_TOKEN_RATE", "600/min")
if not re.fullmatch(r"[1-9][0-9]{0,8}/(s|sec|second|m|min|minute|h|hour|d|day)", API_TOKEN_RATE):
    raise ImproperlyConfigured(f"API_TOKEN_RATE={API_TOKEN_RATE!r} is not a rate; write e.g. 600/min or 10000/hour.")
SPECTACULAR_SETTINGS = {
    "TITLE": "LLM Governance Portal API",
    "DESCRIPTION": "Pipeline API: lineage, training runs, model versions, gates and evidence.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema describes a regulated system's interface: signed-in users and pipeline tokens only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from the portal's own static files (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # A required text field refuses "", so the schema says so (minLength 1) and a client need not find out.
    "ENFORCE_NON_BLANK_FIELDS": True,
    # Every operation's error answers, in one place (the default hook turns enums into components first).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.api.schema.document_errors",
        "accounts.api.schema.document_storable_input",
    ],
}

# --- Product settings -----------------------------------------------------------------------------------
#: Inference records keep prompts and answers only as HMAC-SHA-256 under these keys ({key id: secret}; the current one
#: is INFERENCE_HMAC_KEY_ID, the others stay for lookups of older records), and end users as a pseudonym under a key
#: of its own. A pilot derives them from SECRET_KEY; ``check --deploy`` warns about that (inference.W001).
_inference_keys = env_str("INFERENCE_HMAC_KEYS")
INFERENCE_KEYS_DERIVED = not _inference_keys or not env_str("INFERENCE_PSEUDONYM_KEY")
try:
    INFERENCE_HMAC_KEYS = (
        json.loads(_inference_keys)
        if _inference_keys
        else {"pilot": hashlib.sha256(f"inference-content:{SECRET_KEY}".encode()).hexdigest()}
    )
except ValueError:
    raise ImproperlyConfigured(
        'INFERENCE_HMAC_KEYS is not JSON; write e.g. {"k2": "secret", "k1": "old secret"}.'
    ) from None
if not isinstance(INFERENCE_HMAC_KEYS, dict) or not all(
    isinstance(key, str) and len(key) >= 32 for key in INFERENCE_HMAC_KEYS.values()
):
    raise ImproperlyConfigured("INFERENCE_HMAC_KEYS maps key ids to secrets of at least 32 characters.")
INFERENCE_HMAC_KEY_ID = env_str("INFERENCE_HMAC_KEY_ID") or (
    next(iter(INFERENCE_HMAC_KEYS)) if len(INFERENCE_HMAC_KEYS) == 1 else ""
)
if INFERENCE_HMAC_KEY_ID not in INFERENCE_HMAC_KEYS:
    raise ImproperlyConfigured(f"INFERENCE_HMAC_KEY_ID={INFERENCE_HMAC_KEY_ID!r} is not a key of INFERENCE_HMAC_KEYS.")
INFERENCE_PSEUDONYM_KEY = (
    env_str("INFERENCE_PSEUDONYM_KEY") or hashlib.sha256(f"inference-end-user:{SECRET_KEY}".encode()).hexdigest()
)
#: How many days inference records are kept (``inference.retention``): 400 unless set, and per use case (by slug) in
#: INFERENCE_RETENTION_DAYS_BY_USE_CASE, JSON, e.g. {"support-assistant": 180}. Whole expired months are purged.
INFERENCE_RETENTION_DAYS = env_int("INFERENCE_RETENTION_DAYS", 400)
try:
    INFERENCE_RETENTION_DAYS_BY_USE_CASE = json.loads(env_str("INFERENCE_RETENTION_DAYS_BY_USE_CASE") or "{}")
except ValueError:
    raise ImproperlyConfigured(
        'INFERENCE_RETENTION_DAYS_BY_USE_CASE is not JSON; write e.g. {"support-assistant": 180}.'
    ) from None
if not isinstance(INFERENCE_RETENTION_DAYS_BY_USE_CASE, dict) or not all(
    isinstance(days, int) and not isinstance(days, bool) and days >= 1
    for days in [INFERENCE_RETENTION_DAYS, *INFERENCE_RETENTION_DAYS_BY_USE_CASE.values()]
):
    raise ImproperlyConfigured(
        "INFERENCE_RETENTION_DAYS is a whole number of days of at least 1, and "
        "INFERENCE_RETENTION_DAYS_BY_USE_CASE maps use case slugs to such numbers."
    )
#: The use cases (slugs) whose inference records keep a redacted excerpt of the prompt and the answer
#: (``inference.redaction``), and its length in characters; no use case does unless listed.
INFERENCE_EXCERPT_USE_CASES = env_list("INFERENCE_EXCERPT_USE_CASES")
INFERENCE_EXCERPT_CHARS = env_int("INFERENCE_EXCERPT_CHARS", 280)
if not 1 <= INFERENCE_EXCERPT_CHARS <= 2000:
    raise ImproperlyConfigured("INFERENCE_EXCERPT_CHARS is between 1 and 2000.")
LEDGER_SIGNING_KEY = env_str("LEDGER_SIGNING_KEY")
LEDGER_SIGNING_KEY_FILE = env_str("LEDGER_SIGNING_KEY_FILE") or (
    str(VAR_DIR / "ledger-signing-key.pem") if DEBUG else ""
)
#: The evidence packs' document signature (``evidence.signing``): the signing key and its X.509 certificate (PEM
#: files), the certificate's chain up to the organisation's CA if it has one, the key's passphrase if encrypted, and
#: an RFC 3161 timestamping authority (PAdES B-T; without one the signature states its signing time, B-B). A pilot
#: uses the self-signed pair ``manage.py create_signing_certificate`` writes (``make run`` does).
EVIDENCE_SIGNING_KEY_FILE = env_str("EVIDENCE_SIGNING_KEY_FILE") or (
    str(VAR_DIR / "evidence-signing-key.pem") if DEBUG else ""
)
EVIDENCE_SIGNING_CERT_FILE = env_str("EVIDENCE_SIGNING_CERT_FILE") or (
    str(VAR_DIR / "evidence-signing-cert.pem") if DEBUG else ""
)
EVIDENCE_SIGNING_CHAIN_FILE = env_str("EVIDENCE_SIGNING_CHAIN_FILE")
EVIDENCE_SIGNING_KEY_PASSPHRASE = env_str("EVIDENCE_SIGNING_KEY_PASSPHRASE")
TSA_URL = env_str("TSA_URL")
#: A change ticket's external reference links to the ticketing tool: a Jira key to ``<JIRA_BASE_URL>/browse/<key>``,
#: a ServiceNow change number to its change request on ``<SERVICENOW_BASE_URL>``. Unset: shown as text only.
JIRA_BASE_URL = env_https_base_url("JIRA_BASE_URL")
SERVICENOW_BASE_URL = env_https_base_url("SERVICENOW_BASE_URL")
#: A checkpoint follows new ledger entries within this many seconds (Celery beat runs the task this often; it makes
#: a checkpoint only when something was appended), so that a rewrite of the ledger's tail soon contradicts a signed
#: copy outside the database.
LEDGER_CHECKPOINT_INTERVAL_S = env_int("LEDGER_CHECKPOINT_INTERVAL_S", 60)
#: How long an entry may wait for a checkpoint outside the database before ``verify_ledger`` fails: the interval,
#: plus room for a beat tick that runs late.
LEDGER_CHECKPOINT_MAX_AGE_S = env_int("LEDGER_CHECKPOINT_MAX_AGE_S", 2 * LEDGER_CHECKPOINT_INTERVAL_S)
if not 0 < LEDGER_CHECKPOINT_INTERVAL_S <= LEDGER_CHECKPOINT_MAX_AGE_S:
    raise ImproperlyConfigured(
        f"LEDGER_CHECKPOINT_INTERVAL_S={LEDGER_CHECKPOINT_INTERVAL_S} must be positive and at most "
        f"LEDGER_CHECKPOINT_MAX_AGE_S={LEDGER_CHECKPOINT_MAX_AGE_S}: entries would wait for a checkpoint longer "
        "than verification allows."
    )
#: ``host:port`` of a syslog receiver (UDP) that is sent every checkpoint as it is made; unset: none.
LEDGER_SYSLOG_ADDRESS = env_host_port("LEDGER_SYSLOG_ADDRESS")
#: The SIEM's syslog receiver (``host:port``, TCP; RFC 5424, octet-counted) that every ledger entry is forwarded to,
#: in order, resuming after the last one it acknowledged; unset: none. TLS (RFC 5425) with ``SIEM_SYSLOG_TLS``, the
#: receiver verified against ``SIEM_SYSLOG_CA_FILE`` (default: the system's CAs), optionally with a client
#: certificate.
SIEM_SYSLOG_ADDRESS = env_host_port("SIEM_SYSLOG_ADDRESS")
SIEM_SYSLOG_TLS = env_bool("SIEM_SYSLOG_TLS", False)
SIEM_SYSLOG_CA_FILE = env_str("SIEM_SYSLOG_CA_FILE")
SIEM_SYSLOG_CLIENT_CERT_FILE = env_str("SIEM_SYSLOG_CLIENT_CERT_FILE")
SIEM_SYSLOG_CLIENT_KEY_FILE = env_str("SIEM_SYSLOG_CLIENT_KEY_FILE")
SIEM_SYSLOG_TIMEOUT_S = env_int("SIEM_SYSLOG_TIMEOUT_S", 10)
SIEM_SYSLOG_BATCH = env_int("SIEM_SYSLOG_BATCH", 1000)
SIEM_SYSLOG_INTERVAL_S = env_int("SIEM_SYSLOG_INTERVAL_S", 10)
#: The structured data element's id: ``name@<private enterprise number>``; 32473 is the number RFC 5612 reserves for
#: documentation, so an organisation with its own number sets it here.
SIEM_SYSLOG_SD_ID = env_str("SIEM_SYSLOG_SD_ID", "ledger@32473")
#: The HOSTNAME field of each message (default: this machine's name).
SIEM_SYSLOG_HOSTNAME = env_str("SIEM_SYSLOG_HOSTNAME")
#: Every how many months each role's owner attests its members (3: a review each quarter, from January).
ACCESS_REVIEW_MONTHS = env_int("ACCESS_REVIEW_MONTHS", 3)
CELERY_BEAT_SCHEDULE = {
    "access-reviews-open": {
        "task": "accounts.tasks.open_due_access_reviews",
        "schedule": env_int("ACCESS_REVIEW_CHECK_INTERVAL_S", 24 * 3600),
    },
    "ledger-checkpoint": {
        "task": "audit.tasks.make_ledger_checkpoint",
        "schedule": LEDGER_CHECKPOINT_INTERVAL_S,
    },
    "retraining-due": {
        "task": "governance.tasks.flag_due_retraining",
        "schedule": env_int("RETRAINING_CHECK_INTERVAL_S", 24 * 3600),
    },
    "ledger-verify": {
        "task": "audit.tasks.verify_ledger_chain",
        "schedule": env_int("LEDGER_VERIFY_INTERVAL_S", 24 * 3600),
    },
    # Between the daily full runs: only the entries after the last verified checkpoint (``verify_ledger --since-last``).
    "ledger-verify-since-last": {
        "task": "audit.tasks.verify_ledger_since_last",
        "schedule": env_int("LEDGER_VERIFY_SINCE_LAST_INTERVAL_S", 15 * 60),
    },
    # The ledger to the SIEM's syslog receiver (does nothing while SIEM_SYSLOG_ADDRESS is unset).
    "ledger-to-syslog": {"task": "webhooks.forward_ledger_to_syslog", "schedule": SIEM_SYSLOG_INTERVAL_S},
    # Webhook deliveries whose Celery message was lost (broker down at commit) are sent again.
    "webhooks-requeue-overdue": {"task": "webhooks.requeue_overdue", "schedule": 300},
    # Contradictions between provenance records (registry.services.provenance), raised as flags.
    "provenance-checks": {
        "task": "registry.check_provenance",
        "schedule": env_int("PROVENANCE_CHECK_INTERVAL_S", 24 * 3600),
    },
    # This month's and next month's inference record partitions for every use case (PostgreSQL).
    "inference-partitions": {"task": "inference.create_upcoming_partitions", "schedule": 24 * 3600},
    # Inference records older than their use case's retention, in whole months, with one ledger entry per use case.
    "inference-retention": {"task": "inference.purge_expired_records", "schedule": 24 * 3600},
    # Evidence packs left rendering longer than EVIDENCE_PACK_RENDER_TIMEOUT_S are requeued, or failed.
    "evidence-packs-sweep": {
        "task": "evidence.sweep_stuck_packs",
        "schedule": env_int("EVIDENCE_PACK_SWEEP_INTERVAL_S", 300),
    },
    # Overdue work on landing pages is e-mailed to whoever it waits for (each item at most once a day).
    "overdue-work-reminders": {
        "task": "governance.tasks.remind_overdue_work",
        "schedule": env_int("OVERDUE_REMINDER_INTERVAL_S", 3600),
    },
}

# --- Due dates and e-mail notifications ------------------------------------------------------------------
#: Days a review may wait at its stage before it is overdue, by risk tier (JSON). A dataset version's tier is
#: its risk level (low, medium, high, critical); other work without a tier of its own counts as medium.
_DEFAULT_DUE_DAYS = {"critical": 2, "high": 3, "medium": 5, "low": 10}
try:
    REVIEW_DUE_DAYS_BY_RISK_TIER = {**_DEFAULT_DUE_DAYS, **json.loads(env_str("REVIEW_DUE_DAYS_BY_RISK_TIER") or "{}")}
except (TypeError, ValueError):
    raise ImproperlyConfigured('REVIEW_DUE_DAYS_BY_RISK_TIER is not a JSON object; write e.g. {"high": 3}.') from None
if not all(
    isinstance(days, int) and not isinstance(days, bool) and days >= 1 for days in REVIEW_DUE_DAYS_BY_RISK_TIER.values()
):
    raise ImproperlyConfigured("REVIEW_DUE_DAYS_BY_RISK_TIER maps risk tiers to whole numbers of days of at least 1.")
#: Console in a pilot (e-mails are printed in the server's log); SMTP with EMAIL_HOST set in production.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_S", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "governance-portal@localhost")
EMAIL_SUBJECT_PREFIX = env_str("EMAIL_SUBJECT_PREFIX", "[Governance portal]")
#: The portal's own address (https://portal.example.com), so e-mails link to the page; unset = paths only.
PORTAL_BASE_URL = env_https_base_url("PORTAL_BASE_URL")

# --- Transport security ---------------------------------------------------------------------------------
# The portal runs behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SESSION_COOKIE_HTTPONLY = True
# No script of the portal reads the CSRF cookie: the admin's forms and the API docs take the token from the page.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp): scripts and styles from the portal's own static files, or inline only
# with the request's nonce; no plugins, no framing, no other origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    # /healthz is probed over plain HTTP by load balancers inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Provenance contradiction checks (registry.services.provenance_records) ------------------------------
PROVENANCE_MONITORING_TOLERANCE = env_str("PROVENANCE_MONITORING_TOLERANCE", "10")
PROVENANCE_MONITORING_MIN_VOLUME = env_int("PROVENANCE_MONITORING_MIN_VOLUME", 200)
PROVENANCE_ROW_TOLERANCE = env_str("PROVENANCE_ROW_TOLERANCE", "0")
PROVENANCE_SIZE_TOLERANCE = env_str("PROVENANCE_SIZE_TOLERANCE", "0.01")

# --- Logging --------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
