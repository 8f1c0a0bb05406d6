"""Herald's settings, read from environment variables (django-environ): docs/configuration.md."""

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from config.db import database_settings
from jobs.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A developer's checkout keeps its local settings in a git-ignored .env
# (config/dotenv.py). Read only when told to: manage.py does by default, the
# WSGI application and the Docker image never do.
if env.bool("DJANGO_READ_DOT_ENV", default=False):
    environ.Env.read_env(BASE_DIR / ".env")

# ---- Core ----
DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(make run and manage.py keep one in the checkout's .env for local use)."
        )
    # Never a fixed key (anyone could forge links and cookies with it): a new
    # one per start, so sessions and links live as long as this process.
    SECRET_KEY = secrets.token_urlsafe(50)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. Set it to the host names this site answers to, "
        "comma-separated (for example ALLOWED_HOSTS=herald.example.com)."
    )

SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_dramatiq",
    "dramatiq_crontab",  # manage.py scheduler (jobs): the scheduler of housekeeping and @schedule tasks
    "django_tasks",
    "axes",
    "accounts",
    "jobs",
]

MIDDLEWARE = [
    "jobs.timing.ServerTimingMiddleware",  # only with SERVER_TIMING=true
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as axes asks: the 429 page for the failure that locks
]

# A Server-Timing header on every response (the password hash, the enqueue, the whole request).
SERVER_TIMING = env.bool("SERVER_TIMING", default=False)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

# ---- Database ----
# SQLite runs on Herald's backend, with its writers queued (config/db/).
DATABASES = {
    "default": database_settings(env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")),
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---- Accounts ----
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:welcome"
LOGOUT_REDIRECT_URL = "accounts:login"

# Activation links expire after this many seconds (default three days).
ACCOUNT_ACTIVATION_TIMEOUT = env.int("ACCOUNT_ACTIVATION_TIMEOUT", default=3 * 24 * 3600)
# Password reset links expire after this many seconds (default an hour); they also die once used.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
# Accounts never confirmed are deleted after this many days (`manage.py expire_unconfirmed`),
# so that an address signed up by someone else is freed for its owner.
ACCOUNT_UNCONFIRMED_DAYS = env.int("ACCOUNT_UNCONFIRMED_DAYS", default=7)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Django's PBKDF2 hashes at a lower CPU priority (accounts/hashers.py), in Django's hasher's place.
PASSWORD_HASHERS = [
    "accounts.hashers.LowPriorityPBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
PASSWORD_HASH_THREADS = env.int("PASSWORD_HASH_THREADS", default=8)  # per process
PASSWORD_HASH_NICE = env.int("PASSWORD_HASH_NICE", default=10)  # 0 keeps the site's own priority

# Password guessing on the login pages (django-axes, accounts/lockout.py; docs/security.md).
AUTHENTICATION_BACKENDS = [
    "accounts.lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
# Either key alone locks (docs/security.md).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.lockout.login_username"
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_network"  # an IPv6 client is its /64
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False  # no banner at the start of every process and command

# Rate limits in django-ratelimit's "count/period" form; "0" turns one off (accounts/ratelimits.py).
RATE_LIMIT_SIGNUP = env("RATE_LIMIT_SIGNUP", default="20/m")  # signups per client (429 past it)
# Email budgets per client (every kind) and per mailbox (per kind): docs/security.md.
RATE_LIMIT_CLIENT_EMAILS = env("RATE_LIMIT_CLIENT_EMAILS", default="5/h")
RATE_LIMIT_NOTICE = env("RATE_LIMIT_NOTICE", default="3/h")  # signup: a confirmation or the "exists" notice
RATE_LIMIT_RESEND = env("RATE_LIMIT_RESEND", default="1/3m")  # new confirmation links
RATE_LIMIT_RESET = env("RATE_LIMIT_RESET", default="3/h")  # password reset links
# An IPv6 client is its network of this many bits, for the lockout and every limit.
CLIENT_IPV6_PREFIX = env.int("CLIENT_IPV6_PREFIX", default=64)
if not 1 <= CLIENT_IPV6_PREFIX <= 128:
    raise ImproperlyConfigured("CLIENT_IPV6_PREFIX must be a prefix length from 1 to 128 (default 64).")

# ---- Redis: broker, cache, worker liveness ----
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

# Longest wait for one Redis call (broker, cache); longer than the consumers' 1 s blocking wait.
REDIS_SOCKET_TIMEOUT_S = 10

# The rate limits' counters give up on Redis this soon, then fall back (accounts/ratelimits.py).
RATE_LIMIT_CACHE_TIMEOUT_S = 0.25


def redis_cache(timeout_s: float) -> dict[str, Any]:
    options = {"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s}
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "herald",
        "OPTIONS": options,
    }


CACHES = {
    "default": redis_cache(REDIS_SOCKET_TIMEOUT_S),
    "ratelimits": redis_cache(RATE_LIMIT_CACHE_TIMEOUT_S),
}
RATELIMIT_USE_CACHE = "ratelimits"
# Reverse proxies in front of the web server, each appending to X-Forwarded-For (config/client_ip.py).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
RATELIMIT_IP_META_KEY = "config.client_ip.client_ip"
RATELIMIT_VIEW = "accounts.views.rate_limited"

# ---- Email and jobs ----
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
if EMAIL_CONFIG["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend":
    # Same transport, plus the server's final reply recorded on each attempt.
    EMAIL_BACKEND = "jobs.worker.mail.RecordingSMTPBackend"
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Herald <no-reply@herald.localhost>")

JOBS_MAX_RETRIES = env.int("JOBS_MAX_RETRIES", default=8)
JOBS_MIN_BACKOFF_MS = env.int("JOBS_MIN_BACKOFF_MS", default=15_000)
JOBS_MAX_BACKOFF_MS = env.int("JOBS_MAX_BACKOFF_MS", default=3_600_000)
# An attempt of a task that declares no time limit of its own (jobs.errors.retry_policy)
# is interrupted once it has run this many seconds (jobs.worker.limits).
JOBS_TIME_LIMIT_S = env.float("JOBS_TIME_LIMIT_S", default=600)
# A worker whose broker liveness is older than this is dead; its messages are requeued.
JOBS_HEARTBEAT_TIMEOUT_MS = env.int("JOBS_HEARTBEAT_TIMEOUT_MS", default=15_000)
# How often one worker of the cluster sweeps for jobs the broker never got or lost (the relay).
JOBS_RELAY_INTERVAL_S = env.float("JOBS_RELAY_INTERVAL_S", default=30)
# Finished jobs (and their attempts) are deleted daily once this many days old; 0 keeps them.
JOBS_RETENTION_DAYS = env.int("JOBS_RETENTION_DAYS", default=30)

DRAMATIQ_BROKER: dict[str, Any] = {
    # Set explicitly: django-dramatiq's defaults name a middleware dramatiq 2 removed.
    "BROKER": "jobs.brokers.redis.WakeupRedisBroker",
    "OPTIONS": {
        "url": REDIS_URL,
        "heartbeat_timeout": JOBS_HEARTBEAT_TIMEOUT_MS,
        "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
    },
    "MIDDLEWARE": [
        "jobs.worker.middleware.TaskTimeLimit",
        "dramatiq.middleware.Retries",
        "dramatiq.middleware.CurrentMessage",
        "dramatiq.middleware.asyncio.AsyncIO",
        "django_dramatiq.middleware.DbConnectionsMiddleware",
        "jobs.worker.middleware.LivenessMiddleware",
        "jobs.worker.cancels.CancelWatcher",
        "jobs.worker.writer.BatchedWrites",
    ],
}
# BROKER_URL=amqp://... carries the messages on RabbitMQ; Redis still holds the cache and liveness.
BROKER_URL = env("BROKER_URL", default="")
if BROKER_URL.startswith(("amqp://", "amqps://")):
    DRAMATIQ_BROKER["BROKER"] = "jobs.brokers.rabbitmq.HeraldRabbitmqBroker"
    DRAMATIQ_BROKER["OPTIONS"] = {"url": BROKER_URL}
elif BROKER_URL:
    raise ImproperlyConfigured("BROKER_URL must be an amqp:// or amqps:// URL (unset: Redis, REDIS_URL).")
DRAMATIQ_AUTODISCOVER_MODULES = ["actors"]
# The scheduler's lock: however many `manage.py scheduler` run, one runs the schedules (jobs.schedules).
DRAMATIQ_CRONTAB = {"REDIS_URL": REDIS_URL}

# Django's tasks framework: every @task runs on Herald's backend (docs/tasks.md).
TASKS = {
    "default": {
        "BACKEND": "jobs.backends.DramatiqTaskBackend",
        "QUEUES": ["default", "emails"],
    }
}

# ---- Internationalisation, static files ----
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True

# ---- Logging ----
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
# "plain" text, or "json": one JSON object per line (docs/monitoring.md).
LOG_FORMAT = env("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}.")
LOGGING = logging_config(level=LOG_LEVEL, log_format=LOG_FORMAT)

# ---- Monitoring ----
# GET /metrics/ needs "Authorization: Bearer <METRICS_TOKEN>"; unset, it answers 404.
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# ---- Production hardening (HTTPS) ----
# Cookies only over HTTPS; on by default when SITE_URL is https (docs/deployment.md).
SECURE_COOKIES = env.bool("SECURE_COOKIES", default=SITE_URL.startswith("https://"))
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
# Redirect http to https (same default); probes of /healthz/ and /metrics/ stay on http.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SECURE_COOKIES)
SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^metrics/$"]
# The header a TLS-terminating proxy always sets to "https" (e.g. X-Forwarded-Proto).
_proxy_ssl_header = env("SECURE_PROXY_SSL_HEADER", default="")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
# HTTP Strict Transport Security: 0 (off) until the site is known to work over HTTPS.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
