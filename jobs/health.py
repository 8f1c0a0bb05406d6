"""``GET /healthz/``: can this deployment take a signup and send its email?

200 ``{"status": "ok", "database": "ok", "broker": "ok", "workers": N}`` when
the database answers, the broker (Redis) answers and at least one worker
process stamped itself alive (``jobs.relay.stamp_alive``, every few seconds)
within ``JOBS_HEARTBEAT_TIMEOUT_MS``. Otherwise 503 with ``"status":
"failing"`` and ``"failing"`` listing the parts that are down.

The body names parts and counts only, never URLs, hosts or error texts (a
connection error can quote a URL with its password); the cause is logged.
It is meant for monitoring and a load balancer's readiness check, not as a
liveness probe that restarts web servers: stopped workers make it fail too.
"""

import logging

import redis
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from jobs.heartbeats import fresh_worker_stamps

logger = logging.getLogger("jobs.health")


def database_ok():
    """True when the default database answers a query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("health: database unavailable", exc_info=True)
        return False
    return True


def live_worker_count(now=None):
    """Worker processes whose liveness stamp is fresh; None when the broker does not answer."""
    try:
        return len(fresh_worker_stamps(now=now))
    except redis.RedisError:
        logger.warning("health: broker unavailable", exc_info=True)
        return None


def health_report():
    """``(healthy, report)``: the parts checked and which of them are failing."""
    database = database_ok()
    workers = live_worker_count()
    failing = [
        part
        for part, down in (("database", not database), ("broker", workers is None), ("workers", workers == 0))
        if down
    ]
    report = {
        "status": "failing" if failing else "ok",
        "database": "ok" if database else "unavailable",
        "broker": "unavailable" if workers is None else "ok",
        "workers": workers,
    }
    if failing:
        report["failing"] = failing
    return not failing, report


@never_cache
@require_GET
def healthz(request):
    healthy, report = health_report()
    return JsonResponse(report, status=200 if healthy else 503)
