"""Loaded before Django starts (``-p tests.plugin``): test settings and a real redis-server.

Settings are read from the environment when Django starts, so the test values
and the Redis URL must be in place before pytest-django sets Django up.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

TEST_ENV = {
    "SECRET_KEY": "tests-only-secret-key-not-for-production",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "JOBS_MAX_RETRIES": "3",
    "JOBS_MIN_BACKOFF_MS": "100",
    "JOBS_MAX_BACKOFF_MS": "500",
    "JOBS_HEARTBEAT_TIMEOUT_MS": "3000",
    "JOBS_RELAY_INTERVAL_S": "1",
    "EMAIL_TIMEOUT": "5",
    "RATE_LIMIT_SIGNUP": "0",
    "RATE_LIMIT_RESEND": "0",
    "EMAIL_URL": "consolemail://",
}

local_redis = None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global local_redis
    for key, value in TEST_ENV.items():
        os.environ.setdefault(key, value)
    work_dir = Path(tempfile.mkdtemp(prefix="herald-tests-"))
    atexit.register(shutil.rmtree, work_dir, ignore_errors=True)
    os.environ.setdefault("TEST_DATABASE_PATH", str(work_dir / "test.sqlite3"))
    if not os.environ.get("REDIS_URL"):
        from config.localredis import LocalRedis

        local_redis = LocalRedis(work_dir / "redis").start()
        atexit.register(local_redis.stop)
        os.environ["REDIS_URL"] = local_redis.url
