"""Shared fixtures: a clean Redis (unless the run has none), a real SMTP server, real worker and web processes."""

import logging

import dramatiq
import pika.exceptions
import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from tests import plugin
from tests.support import inprocess
from tests.support.processes import herald_env, start_scheduler, start_web, start_worker
from tests.support.publishing import tasks_publishing
from tests.support.rabbitmq import LocalRabbitmq
from tests.support.smtp import SmtpSink

# Fixtures shared by the tiers: users in each state, staff of the job admin, lockout and rate-limit
# settings, the metrics token, migrating to named migrations, the task signals heard.
pytest_plugins = [
    "tests.support.accounts",
    "tests.support.admin",
    "tests.support.limits",
    "tests.support.metrics",
    "tests.support.migrations",
    "tests.support.task_signals",
]

# aiosmtpd logs every SMTP command at INFO.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def clean_redis():
    """Every test starts with an empty broker, results store and cache, when the run has a Redis.

    A run of the unit tier alone has none (tests/plugin.py): tests/unit/conftest.py
    empties its in-memory broker and cache instead.
    """
    if plugin.without_servers:
        yield
        return
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    if plugin.local_rabbitmq is not None:
        purge_rabbitmq(dramatiq.get_broker())
    cache.clear()
    yield


def purge_rabbitmq(broker):
    """Drop every message of the broker's queues (on a fresh connection if RabbitMQ restarted since)."""
    try:
        broker.flush_all()
    except pika.exceptions.AMQPConnectionError:
        del broker.connection
        broker.flush_all()


@pytest.fixture(autouse=True)
def enqueue_in_the_request(settings):
    """In this process, signup and resend send their message before answering, so tests can look at once.

    The web servers the tests start keep the default: a hand-off thread sends
    it (tests/integration/jobs/test_handoff.py covers that path in this process).
    """
    settings.TASKS = tasks_publishing(background=False)


@pytest.fixture
def broker():
    return dramatiq.get_broker()


@pytest.fixture
def broker_server():
    """The server that carries the messages, restartable: the suite's rabbitmq-server (--broker rabbitmq) or redis-server."""
    if plugin.local_rabbitmq is not None:
        return plugin.local_rabbitmq
    assert plugin.local_redis is not None, "this test restarts redis-server: leave REDIS_URL unset"
    return plugin.local_redis


@pytest.fixture(scope="session")
def rabbitmq():
    """A real rabbitmq-server of the tests' own: the run's broker (--broker rabbitmq), else one started here.

    Never skipped: with no RabbitMQ installed it fails (make test installs Debian's rabbitmq-server).
    """
    if plugin.local_rabbitmq is not None:
        yield plugin.local_rabbitmq
        return
    server = LocalRabbitmq().start()
    yield server
    server.shutdown()


@pytest.fixture
def on_rabbitmq():
    """True when this run's broker is RabbitMQ (--broker rabbitmq)."""
    return plugin.local_rabbitmq is not None


@pytest.fixture
def redis_server():
    """The redis-server the suite started (restartable), or fail if REDIS_URL pointed elsewhere."""
    assert plugin.local_redis is not None, "this test restarts redis-server: leave REDIS_URL unset"
    return plugin.local_redis


@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def live_env(transactional_db, smtp_sink):
    """Environment for Herald processes that share this test's database, Redis and SMTP sink."""
    return herald_env(EMAIL_URL=smtp_sink.url)


@pytest.fixture
def processes():
    """Start Herald processes with ``processes.worker(env)``, ``.scheduler(env)``, ``.web(env)``; all stopped after."""
    started = []

    class Starter:
        def worker(self, env, **options):
            started.append(start_worker(env, **options))
            return started[-1]

        def scheduler(self, env, **options):
            started.append(start_scheduler(env, **options))
            return started[-1]

        def web(self, env, **options):
            started.append(start_web(env, **options))
            return started[-1]

    yield Starter()
    # The test is over: end them at once, process groups and all. A graceful
    # stop takes a worker about three seconds (Dramatiq's one-second waits),
    # and tests of the graceful stop make it themselves.
    for process in started:
        process.kill_group()


@pytest.fixture
def in_process_worker(transactional_db, broker):
    """A Dramatiq worker in this process's threads, against the real Redis broker."""
    worker = inprocess.start_worker(broker)
    yield worker
    inprocess.stop_worker(broker, worker)
