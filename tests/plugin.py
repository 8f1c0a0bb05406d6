"""Loaded before Django starts (``-p tests.plugin``): test settings and, unless the run needs none, a real redis-server.

Settings are read from the environment when Django starts, so the test values
and the Redis URL must be in place before pytest-django sets Django up.

A run of the unit tier alone (``pytest tests/unit``) starts no server: Redis
points at a closed port and ``tests/settings.py`` puts Dramatiq's StubBroker
and a local-memory cache in place. Any other run starts a redis-server for
the tiers that need one; the unit tests it includes run on it too.
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
    "RATE_LIMIT_CLIENT_EMAILS": "0",
    "RATE_LIMIT_NOTICE": "0",
    "EMAIL_URL": "consolemail://",
    # manage.py run by tests must not read or create the checkout's own .env.
    "DJANGO_READ_DOT_ENV": "false",
}

UNIT_TIER = Path(__file__).resolve().parent / "unit"
# Nothing listens on port 1: a unit test that reaches for Redis fails at once.
NO_REDIS_URL = "redis://127.0.0.1:1/0"

# True for a run of the unit tier alone: no redis-server, Dramatiq's StubBroker, a local-memory cache.
without_servers = False
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
    if without_servers:
        broker = "Dramatiq's StubBroker (no server)"
    elif local_rabbitmq is not None:
        broker = f"RabbitMQ node {local_rabbitmq.node}"
    else:
        broker = "Redis"
    return [database, f"broker: {broker}"]


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global local_redis, without_servers
    if early_config.known_args_namespace.postgres:
        start_postgres()
    if early_config.known_args_namespace.broker == "rabbitmq":
        start_rabbitmq()
    for key, value in TEST_ENV.items():
        os.environ.setdefault(key, value)
    work_dir = Path(tempfile.mkdtemp(prefix="herald-tests-"))
    atexit.register(shutil.rmtree, work_dir, ignore_errors=True)
    os.environ.setdefault("TEST_DATABASE_PATH", str(work_dir / "test.sqlite3"))
    without_servers = only_unit_tier(early_config.known_args_namespace.file_or_dir)
    if without_servers:
        os.environ["TESTS_WITHOUT_SERVERS"] = "true"
        os.environ["REDIS_URL"] = NO_REDIS_URL
    elif not os.environ.get("REDIS_URL"):
        from config.localredis import LocalRedis

        local_redis = LocalRedis(work_dir / "redis").start()
        atexit.register(local_redis.stop)
        os.environ["REDIS_URL"] = local_redis.url


def only_unit_tier(paths):
    """True when every path the run was given lies under tests/unit (no path: the whole suite)."""
    if not paths:
        return False
    resolved = [Path(path.split("::")[0]).resolve() for path in paths]
    return all(path == UNIT_TIER or UNIT_TIER in path.parents for path in resolved)


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
