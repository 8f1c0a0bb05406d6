"""``GET /healthz/``: can this deployment take a signup and send its email?

The HTTP contract and its use: docs/monitoring.md#get-healthz.
"""

import logging
from typing import cast

import dramatiq
import redis
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from jobs.brokers import BROKER_ERRORS, HeraldBroker
from jobs.logs import OutageLog
from jobs.worker.liveness import fresh_worker_stamps

logger = logging.getLogger("jobs.views.health")


# A failing probe logs its traceback at most once a minute per part, one line otherwise.
outage_log = OutageLog(logger, traceback_every_s=60, repeats=True)


def database_ok():
    """True when the default database answers a query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        outage_log.failed("database", exc, "health: database unavailable")
        return False
    return True


def live_worker_count(now=None):
    """Worker processes whose liveness stamp is fresh; None when Redis (where they stamp) does not answer."""
    try:
        return len(fresh_worker_stamps(now=now))
    except redis.RedisError as exc:
        outage_log.failed("redis", exc, "health: Redis (worker stamps) unavailable")
        return None


def broker_ok():
    """True when the broker (Redis, or RabbitMQ with BROKER_URL) answers within seconds."""
    try:
        cast(HeraldBroker, dramatiq.get_broker()).ping()
    except BROKER_ERRORS as exc:
        outage_log.failed("broker", exc, "health: broker unavailable")
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
    can quote a URL with its password. The cause goes to the log (:class:`jobs.logs.OutageLog`).
    """
    healthy, report = health_report()
    return JsonResponse(report, status=200 if healthy else 503)
