"""Settings for Diabetes Center: one module, configured by environment variables.

Every variable has a safe development default except in production mode (``DEBUG=0``),
where ``SECRET_KEY`` and ``ALLOWED_HOSTS`` are required and HTTPS-only settings are on, so
that ``manage.py check --deploy --fail-level WARNING`` passes with nothing else set.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Exchange as KombuExchange
from kombu import Queue as KombuQueue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Set the {name} environment variable.")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false).")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
# Production mode as the environment set it (test runners force DEBUG off; this stays put).
PRODUCTION_MODE = not DEBUG

if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
else:
    SECRET_KEY = env_str("SECRET_KEY")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Set ALLOWED_HOSTS (comma-separated) when DEBUG=0.")

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# HTTPS-only by default in production; relax behind a TLS-terminating proxy with the variables.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sent on every dynamic answer (diabetes_center.middleware). No inline script and no eval:
# page behaviour is in static/js; Plotly and htmx are local static files. Inline styles stay
# (Plotly sizes its SVG with style attributes); images may be data: URIs (Plotly, Swagger UI).
CONTENT_SECURITY_POLICY = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("style-src", "'self' 'unsafe-inline'"),
    ("img-src", "'self' data: blob:"),
    ("font-src", "'self' data:"),
    ("connect-src", "'self'"),
    ("object-src", "'none'"),
    ("base-uri", "'none'"),
    ("form-action", "'self'"),
    ("frame-ancestors", "'none'"),
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "accounts",
    "patients",
    "readings",
    "reports",
    "care_plans",
    "visits",
    "monitoring",  # remote monitoring: enrolment, alert episodes, rota, escalation (issue #20)
    "consultations",  # online consultations: threads, photos, the studio, medication requests
    "outbox",  # deferred Celery tasks recorded in the database (survive a broker outage)
    "workspace",  # the top floor: triage, population, the workspace pages (composes the apps)
    # The project package itself: commands that compose every app (seed_demo).
    "diabetes_center",
]

MIDDLEWARE = [
    # First: the rest of the request runs in one chunk of CPython's frame stack (stack.py)
    "diabetes_center.stack.OwnStackChunkMiddleware",
    "diabetes_center.middleware.RequestLatencyMiddleware",  # /metrics: time every answer
    # Read replicas only: who just wrote reads the primary (common/replicas.py). Outside the
    # others, so every write of the request is done when it notes the WAL position.
    "diabetes_center.middleware.ReadYourWritesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "diabetes_center.middleware.SecurityHeadersMiddleware",  # CSP, Cache-Control: no-store
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "diabetes_center.middleware.RefuseNulMiddleware",  # 400 before any view or audit row
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "accounts.middleware.AuditMiddleware",
    "accounts.middleware.SessionPolicyMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "diabetes_center.urls"

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
                "django.template.context_processors.i18n",
                "accounts.context_processors.preferences",
                "outbox.context_processors.pipeline",  # alerting_degraded (the banner)
            ],
            "builtins": ["accounts.templatetags.glucose"],
        },
    },
]

WSGI_APPLICATION = "diabetes_center.wsgi.application"

# Embedded default: a SQLite file in the project folder. Production: DATABASE_URL=postgres://...
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        # A kept connection is checked before each request reuses it: after a PostgreSQL
        # restart or failover the next request reconnects instead of failing on a dead socket.
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process and the Celery worker read while the other writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# New readings refresh the patient's triage entry. On PostgreSQL inside the writer's
# transaction (the entry commits with the readings). On SQLite just after the commit: read
# without a lock, then a short write — inside the transaction it held SQLite's one write lock
# for the refresh's ~60 ms of computing on every live post, and the Celery worker's writes
# queued behind the web server's (bench monitoring --embedded: alerts minutes late at 16
# posts/s). A crash between the two leaves the entry one post stale until the next post or
# the beat task's refresh; the readings themselves are committed either way.
TRIAGE_REFRESH_AFTER_COMMIT = env_bool(
    "TRIAGE_REFRESH_AFTER_COMMIT", DATABASES["default"]["ENGINE"].endswith("sqlite3")
)

# Read replicas (PostgreSQL streaming replicas of DATABASE_URL's database): the heavy reads
# go to them and every write to the primary; common/replicas.py says which and how a person
# always reads what they just wrote. Unset: one database, no router.
DATABASE_REPLICA_ALIASES = []
for _number, _url in enumerate(env_list("DATABASE_REPLICA_URLS"), start=1):
    _replica = dj_database_url.parse(
        _url,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
    )
    if not _replica["ENGINE"].endswith("postgresql") or not DATABASES["default"]["ENGINE"].endswith(
        "postgresql"
    ):
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URLS needs PostgreSQL replicas of a PostgreSQL DATABASE_URL."
        )
    # A replica that does not answer is given up on quickly (the primary serves instead).
    _replica["OPTIONS"] = {"connect_timeout": 3, **_replica.get("OPTIONS", {})}
    # Test runs create no database on a replica: its alias reads the test database itself.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica{_number}"] = _replica
    DATABASE_REPLICA_ALIASES.append(f"replica{_number}")
if DATABASE_REPLICA_ALIASES:
    DATABASE_ROUTERS = ["common.replicas.ReplicaRouter"]
# How long a task waits for a replica to reach the primary's position before reading the
# primary; how long a replica that failed is left alone.
DATABASE_REPLICA_WAIT_SECONDS = env_float("DATABASE_REPLICA_WAIT_SECONDS", 1.0)
DATABASE_REPLICA_RETRY_SECONDS = env_int("DATABASE_REPLICA_RETRY_SECONDS", 30)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out users and addresses first
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins lock out the username and, separately, the client address (django-axes).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Two-factor sign-in (TOTP + recovery codes) for clinicians, staff and admins; patients may
# opt in. On by default in production mode, off on the embedded demo defaults.
REQUIRE_2FA = env_bool("REQUIRE_2FA", not DEBUG)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Diabetes Center")
# Staff, clinicians and admins are signed out after this many idle minutes (0 = never).
SESSION_IDLE_TIMEOUT_MINUTES = env_int("SESSION_IDLE_TIMEOUT_MINUTES", 30)
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600)  # seconds a reset link lives

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
FORMAT_MODULE_PATH = ["diabetes_center.formats"]  # one date format per language
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = env_bool("USE_TZ", True)

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
FILE_UPLOAD_PERMISSIONS = 0o600  # uploaded device files: readable by the app's user only
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Largest device export accepted by the upload page and API (bytes; a two-year Dexcom Clarity
# export is ~20 MB). Larger requests are refused with 413 before the file is stored.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
# A device file is deleted once it imported cleanly (its readings stay; duplicates are found
# from the readings themselves). A failed import, or one with rejected rows, keeps its file
# this many days for diagnosis; then the "readings: upload sweep" beat task deletes it.
UPLOAD_RETENTION_DAYS = env_int("UPLOAD_RETENTION_DAYS", 7)
if UPLOAD_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("UPLOAD_RETENTION_DAYS must be 0 or more.")
# An import with no progress for this long is taken to be dead (its worker was killed): the
# redelivered task or the upload sweep starts it again, at most UPLOAD_MAX_ATTEMPTS times.
# PostgreSQL: the readings table is partitioned by month (readings 0008); the daily beat task
# "readings: partitions ahead" keeps a partition for the current month and this many after it.
READINGS_PARTITION_MONTHS_AHEAD = env_int("READINGS_PARTITION_MONTHS_AHEAD", 3)
if READINGS_PARTITION_MONTHS_AHEAD < 0:
    raise ImproperlyConfigured("READINGS_PARTITION_MONTHS_AHEAD must be 0 or more.")
UPLOAD_STALE_AFTER_SECONDS = env_int("UPLOAD_STALE_AFTER_SECONDS", 600)
UPLOAD_MAX_ATTEMPTS = env_int("UPLOAD_MAX_ATTEMPTS", 2)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 50 * 1024 * 1024)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Diabetes Center <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery. The default broker needs no server: kombu's filesystem transport under var/.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _queue_dir = VAR_DIR / "celery-queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    # kombu's filesystem transport, publishing each message whole (diabetes_center/broker.py).
    CELERY_BROKER_TRANSPORT = "diabetes_center.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        # Exchange tables beside the queue, not kombu's default control/ in the working folder.
        "control_folder": str(VAR_DIR / "celery-control"),
        # kombu sleeps this long whenever a poll finds nothing to take, including while the
        # worker's prefetch is full: at its default (1 s) the embedded worker took about two
        # tasks a second, and alerts waited minutes behind a burst of posts (bench monitoring
        # --embedded). A tenth of a second costs ten folder listings a second when idle.
        "polling_interval": 0.1,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered, never lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
if CELERY_BROKER_URL == "filesystem://":
    # The filesystem transport deletes a message's file when the worker takes it, so a small
    # prefetch protects nothing there (a killed worker loses what it held either way; the
    # outbox sends it again), and with one message per pool process the worker slept a
    # polling interval after every task: it took 3–4 tasks a second while posts arrived at 16
    # (bench monitoring --embedded). The pool still hands a task only to a free process.
    CELERY_WORKER_PREFETCH_MULTIPLIER = 8
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # An unacknowledged message (its worker was killed) is redelivered after this many
    # seconds. Longer than any task runs, or a slow task is delivered twice (harmless: tasks
    # are idempotent, but wasted work). Fault tests set a few seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 3600)
    }
# The outbox (outbox/services.py): a task recorded with its data and never closed by a worker
# within this many seconds is sent again (the broker lost it); each row is sent at most
# OUTBOX_MAX_SENDS times.
OUTBOX_RESEND_AFTER_SECONDS = env_int("OUTBOX_RESEND_AFTER_SECONDS", 3600)
OUTBOX_MAX_SENDS = env_int("OUTBOX_MAX_SENDS", 20)
# ... except the remote-monitoring queue (evaluations and alert notifications take well under
# a second, and a clinician waits for them): resent after this many seconds (outbox/services.py,
# ``_sent_long_ago``: a worker killed at the wrong instant loses a message in flight).
OUTBOX_RESEND_AFTER_SECONDS_BY_QUEUE = {
    "monitoring": env_int("OUTBOX_RESEND_MONITORING_AFTER_SECONDS", 120)
}
# Queues per workload (#23): a burst of uploads never delays reminders. Tasks are routed by
# name; a worker started without -Q consumes every queue below (the embedded default, and any
# deployment that runs one kind of worker), so no routed task waits for a missing consumer.
# Dedicated workers take some: ``celery -A diabetes_center worker -Q ingest`` (README).
CELERY_TASK_DEFAULT_QUEUE = "celery"
WORKLOAD_QUEUES = ("ingest", "reports", "messages", "monitoring")
CELERY_TASK_QUEUES = tuple(
    KombuQueue(name, KombuExchange(name, type="direct"), routing_key=name)
    for name in (CELERY_TASK_DEFAULT_QUEUE, *WORKLOAD_QUEUES)
)
CELERY_TASK_ROUTES = {
    "readings.tasks.*": {"queue": "ingest"},
    "reports.tasks.*": {"queue": "reports"},
    "visits.tasks.*": {"queue": "messages"},
    "monitoring.tasks.*": {"queue": "monitoring"},
    "patients.tasks.refresh_triage_window": {"queue": "monitoring"},  # workspace's triage window
}
ALL_QUEUES = ",".join(q.name for q in CELERY_TASK_QUEUES)  # for -Q: every queue
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Database connections in workers live as in the web server (CONN_MAX_AGE, health checks):
# Celery's Django fixup closes every connection before and after each task unless this is
# set, so every task paid a new PostgreSQL connection — a backend started, authenticated,
# and its catalog caches cold for each table the task touches (#23). With it set, the fixup
# closes them only every this many tasks, and diabetes_center/celery.py closes them around
# each task when Django would at a request's edges (too old, broken, left in a transaction).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "readings.auth.DeviceTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "common.api.JSONRenderer",  # DRF's, which also renders a lone surrogate
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "common.api.JSONParser",  # DRF's, with a guard against RecursionError
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.throttling.AnonymousThrottle",
        "accounts.throttling.PersonThrottle",
        "accounts.throttling.DeviceThrottle",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    # `?format=` belongs to our API (export?format=csv|fhir), not to DRF's renderer override.
    "URL_FORMAT_OVERRIDE": None,
}
# Requests per client (see accounts/throttling.py): "N/second|minute|hour|day".
THROTTLE_RATES = {
    "anonymous": env_str("THROTTLE_ANONYMOUS", "60/minute"),
    "person": env_str("THROTTLE_PERSON", "600/minute"),
    "device": env_str("THROTTLE_DEVICE", "300/minute"),
    "nightscout-auth-failure": env_str("THROTTLE_NIGHTSCOUT_AUTH_FAILURE", "10/minute"),
}
# Throttle counters and lockouts live in this cache; use a shared one (CACHE_URL=redis://…)
# when more than one web process serves the site.
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }

SPECTACULAR_SETTINGS = {
    "TITLE": "Diabetes Center API",
    "DESCRIPTION": (
        "Glucose readings, metrics, reports and care plans. Numeric fields keep full "
        "precision (unrounded floats); the pages round once, half away from zero, to one "
        "precision per metric (glycemia/display.py)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The schema and docs describe every endpoint: for signed-in people only.
    "SERVE_PERMISSIONS": ["accounts.permissions.IsPerson"],
    "PREPROCESSING_HOOKS": ["common.api.keep_fhir_operation_names"],
    "ENUM_NAME_OVERRIDES": {
        "VisitStatusEnum": "visits.models.Visit.Status",
        "UploadStatusEnum": "readings.models.Upload.Status",
        "CheckResultEnum": "visits.models.CheckResult",
        "ConsultationStateEnum": "consultations.models.Consultation.State",
        "MedicationRequestStateEnum": "consultations.models.MedicationRequest.State",
        # Three "outcome" vocabularies: an acknowledged alert, a closed consultation, an
        # outreach attempt.
        "AlertOutcomeEnum": "monitoring.models.Alert.Outcome",
        "ConsultationOutcomeEnum": "consultations.models.Outcome",
        "OutreachOutcomeEnum": "visits.models_frontdesk.Outcome",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # ?token=… (Nightscout clients may authenticate so) never reaches a log line.
    "filters": {"redact_secrets": {"()": "diabetes_center.logging.RedactSecrets"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]},
    },
    "loggers": {
        # runserver's request log: routed through the redacting handler instead of Django's.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "diabetes_center.staticfinders.PlotlyFinder",
]

# Absolute address of this site, for links given to uploader apps and in e-mails.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Visits: remind patients this many hours before a visit; how long a claimed message may stay
# unsent before another worker may take it over (a worker killed mid-send); the SMS gateway
# (a class with ``send(to, text)``; the default prints to the worker's console).
VISIT_REMINDER_HOURS = env_int("VISIT_REMINDER_HOURS", 24)
# Patients book, move or cancel their own visits until this many hours before (issue #19).
VISIT_PATIENT_CHANGE_HOURS = env_int("VISIT_PATIENT_CHANGE_HOURS", 24)
VISIT_MESSAGE_LEASE_SECONDS = env_int("VISIT_MESSAGE_LEASE_SECONDS", 300)
# Check-in opens this many hours before a visit, never before its local day (issue #19 §5).
VISIT_CHECK_IN_HOURS_BEFORE = env_int("VISIT_CHECK_IN_HOURS_BEFORE", 2)
VISIT_SMS_BACKEND = env_str("VISIT_SMS_BACKEND", "visits.services.ConsoleSms")

# Operations (README "Operations: /health and /metrics"). /health/ fails (503) when the oldest
# open outbox row is older than this many seconds (a long device import keeps its row open).
HEALTH_BACKLOG_MAX_AGE_SECONDS = env_int("HEALTH_BACKLOG_MAX_AGE_SECONDS", 900)
# /metrics answers a Prometheus server that sends "Authorization: Bearer <this>" (empty: only
# signed-in admins). At least 32 characters, e.g. `python -c "import secrets;
# print(secrets.token_urlsafe(32))"`.
METRICS_SCRAPE_TOKEN = env_str("METRICS_SCRAPE_TOKEN", "")
if METRICS_SCRAPE_TOKEN and len(METRICS_SCRAPE_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_SCRAPE_TOKEN must be at least 32 characters long.")
