"""Settings for the test suite and the processes it starts: Herald's, with a fast password hasher.

Hundreds of signups per run would spend minutes in PBKDF2; what the tests prove
does not depend on the hash's cost. The product and the benchmark keep Django's
default hasher.
"""

import os

# pytest's plugin (tests/plugin.py) sets the test environment first; mypy's
# django-stubs plugin loads these settings without it.
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A file, not memory, so that the worker processes the tests start share it.
if DATABASES["default"]["ENGINE"] == "config.db":  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.environ.get("TEST_DATABASE_PATH", str(VAR_DIR / "test.sqlite3")),  # noqa: F405
    }

# Fault injection: Dramatiq middleware (dotted paths) a test adds to the worker processes it starts.
DRAMATIQ_BROKER["MIDDLEWARE"] += [  # noqa: F405
    path for path in os.environ.get("JOBS_EXTRA_MIDDLEWARE", "").split(",") if path
]

# WhiteNoise warns on every request when STATIC_ROOT is missing (make run collects static files).
STATIC_ROOT.mkdir(exist_ok=True)  # noqa: F405

# Processes started with HERALD_TEST_SCHEDULES=true know a two-second schedule (tests/support/scheduled/tasks.py).
if os.environ.get("HERALD_TEST_SCHEDULES") == "true":
    INSTALLED_APPS += ["tests.support.scheduled"]  # noqa: F405
# HERALD_SCHEDULER_LOCK=off: schedulers take no Redis lock and all fire, as two do during a lock
# hand-over to a holder that was paused past its lock's expiry; the database keeps one run per tick.
if os.environ.get("HERALD_SCHEDULER_LOCK") == "off":
    DRAMATIQ_CRONTAB = {}

# The unit tier (tests/unit) runs with no server at all (tests/plugin.py sets
# TESTS_WITHOUT_SERVERS for a run of it alone): the broker is Dramatiq's
# StubBroker, in memory, and the cache Django's local-memory one. The worker's
# liveness middleware is left out: its threads live in Redis.
if os.environ.get("TESTS_WITHOUT_SERVERS") == "true":
    DRAMATIQ_BROKER["BROKER"] = "tests.support.stub.StubBroker"  # noqa: F405
    DRAMATIQ_BROKER["OPTIONS"] = {}  # noqa: F405
    DRAMATIQ_BROKER["MIDDLEWARE"] = [  # noqa: F405
        path
        for path in DRAMATIQ_BROKER["MIDDLEWARE"]  # noqa: F405
        if path != "jobs.worker.middleware.LivenessMiddleware"
    ]
    CACHES = {
        alias: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "KEY_PREFIX": "herald"}
        for alias in ("default", "ratelimits")
    }
