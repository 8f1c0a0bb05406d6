"""``GET /healthz/``: can this deployment take a signup and send its email?

The HTTP contract and its use: docs/monitoring.md#get-healthz.
"""

import logging
import threading
import time
from typing import cast

import dramatiq
import redis
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from jobs.brokers import BROKER_ERRORS, HeraldBroker
from jobs.worker.liveness import fresh_worker_stamps

logger = logging.getLogger("jobs.views.health")


class FailureLog:
    """Logs a failure (from inside its ``except``) with the traceback at most once per ``interval_s`` per part.

    In between, the same failure is one WARNING line naming the exception.
    Thread-safe: a web process answers probes in several threads.
    """

    def __init__(self, logger, interval_s=60, clock=time.monotonic):
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self.lock = threading.Lock()
        self.last_traceback_at = {}  # part -> clock() of its last full traceback

    def warning(self, part, message, exc):
        now = self.clock()
        with self.lock:
            last = self.last_traceback_at.get(part)
            full = last is None or now - last >= self.interval_s
            if full:
                self.last_traceback_at[part] = now
        if full:
            self.logger.warning(message, exc_info=exc)
        else:
            self.logger.warning(
                "%s: %s: %s (traceback at most once a minute)", message, type(exc).__name__, exc
            )


failure_log = FailureLog(logger)


def database_ok():
    """True when the default database answers a query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        failure_log.warning("database", "health: database unavailable", exc)
        return False
    return True


def live_worker_count(now=None):
    """Worker processes whose liveness stamp is fresh; None when Redis (where they stamp) does not answer."""
    try:
        return len(fresh_worker_stamps(now=now))
    except redis.RedisError as exc:
        failure_log.warning("redis", "health: Redis (worker stamps) unavailable", exc)
        return None


def broker_ok():
    """True when the broker (Redis, or RabbitMQ with BROKER_URL) answers within seconds."""
    try:
        cast(HeraldBroker, dramatiq.get_broker()).ping()
    except BROKER_ERRORS as exc:
        failure_log.warning("broker", "health: broker unavailable", exc)
        return False
    return True


def health_report():
    """``(healthy, report)``: the parts checked and which of them are failing.

    With the broker down the workers are not counted (None). On RabbitMQ the
    worker stamps are in Redis: with Redis down the workers are unknown (None)
    and failing while the broker is fine.
    """
    database = database_ok()
    broker = broker_ok()
    workers = live_worker_count() if broker else None
    failing = [
        part
        for part, down in (
            ("database", not database),
            ("broker", not broker),
            ("workers", workers == 0 or (workers is None and broker)),
        )
        if down
    ]
    report = {
        "status": "failing" if failing else "ok",
        "database": "ok" if database else "unavailable",
        "broker": "ok" if broker else "unavailable",
        "workers": workers,
    }
    if failing:
        report["failing"] = failing
    return not failing, report


@never_cache
@require_GET
def healthz(request):
    """200 when the database, the broker and at least one live worker answer; 503 naming what fails.

    The body names parts and counts only, never URLs, hosts or error texts: a connection error
    can quote a URL with its password. The cause goes to the log (:class:`FailureLog`).
    """
    healthy, report = health_report()
    return JsonResponse(report, status=200 if healthy else 503)
