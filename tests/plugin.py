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
    "RATE_LIMIT_RESET": "0",
    "RATE_LIMIT_RESET_IP": "0",
    "RATE_LIMIT_NOTICE": "0",
    "EMAIL_URL": "consolemail://",
    # manage.py run by tests must not read or create the checkout's own .env.
    "DJANGO_READ_DOT_ENV": "false",
}

local_redis = None
local_postgres = None
local_rabbitmq = None


def pytest_addoption(parser):
    parser.addoption(
        "--postgres",
        action="store_true",
        help="run against a throwaway PostgreSQL server started on 127.0.0.1 (needs PostgreSQL's server binaries)",
    )
    parser.addoption(
        "--broker",
        choices=("redis", "rabbitmq"),
        default="redis",
        help="the Dramatiq broker: redis (default) or rabbitmq, a throwaway rabbitmq-server on 127.0.0.1 "
        "(needs Debian's rabbitmq-server); Redis still holds the cache, results and worker liveness",
    )


def pytest_report_header(config):
    if local_postgres is not None:
        database = f"database: PostgreSQL ({local_postgres.bin_dir}) on 127.0.0.1:{local_postgres.port}"
    else:
        database = f"database: {os.environ.get('DATABASE_URL', 'SQLite').split('://')[0]}"
    broker = f"RabbitMQ node {local_rabbitmq.node}" if local_rabbitmq is not None else "Redis"
    return [database, f"broker: {broker}"]


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global local_redis
    if early_config.known_args_namespace.postgres:
        start_postgres()
    if early_config.known_args_namespace.broker == "rabbitmq":
        start_rabbitmq()
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


def start_postgres():
    """Start a throwaway PostgreSQL server and point DATABASE_URL at it; stopped at exit."""
    global local_postgres
    from tests.support.postgres import LocalPostgres, PostgresUnavailable

    try:
        local_postgres = LocalPostgres()
        atexit.register(local_postgres.stop)
        local_postgres.start()
    except PostgresUnavailable as exc:
        raise pytest.UsageError(f"--postgres: {exc}") from None
    os.environ["DATABASE_URL"] = local_postgres.url


def start_rabbitmq():
    """Start a throwaway RabbitMQ node and point BROKER_URL at it; stopped at exit."""
    global local_rabbitmq
    from tests.support.rabbitmq import LocalRabbitmq, RabbitmqUnavailable

    try:
        local_rabbitmq = LocalRabbitmq()
    except RabbitmqUnavailable as exc:
        raise pytest.UsageError(f"--broker rabbitmq: {exc}") from None
    atexit.register(local_rabbitmq.shutdown)
    local_rabbitmq.start()
    os.environ["BROKER_URL"] = local_rabbitmq.url
