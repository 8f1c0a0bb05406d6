"""``GET /healthz/``: can this deployment take a signup and send its email?

The HTTP contract and its use: docs/monitoring.md#get-healthz.
"""

import logging
from datetime import UTC, datetime
from typing import cast

import dramatiq
import redis
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from jobs.brokers import BROKER_ERRORS, HeraldBroker
from jobs.housekeeping import housekeeping_status
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


UNKNOWN_HOUSEKEEPING: dict[str, str | None] = {"housekeeping": None, "housekeeping_last_run": None}


def housekeeping_report() -> dict[str, str | None]:
    """``{"housekeeping": "ok"|"overdue"|None, "housekeeping_last_run": ISO 8601|None}``, read from Redis.

    None when Redis does not answer. Overdue housekeeping is a warning, never a failure: every
    signup still gets its email without it.
    """
    try:
        status = housekeeping_status()
    except redis.RedisError as exc:
        outage_log.failed("redis", exc, "health: Redis (housekeeping record) unavailable")
        return UNKNOWN_HOUSEKEEPING
    last_run = None
    if status.last_run is not None:
        last_run = datetime.fromtimestamp(status.last_run, UTC).isoformat(timespec="seconds")
    return {"housekeeping": "overdue" if status.overdue else "ok", "housekeeping_last_run": last_run}


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
        # Not asked when the workers could not be counted: Redis, or the broker, is down already.
        **(housekeeping_report() if workers is not None else UNKNOWN_HOUSEKEEPING),
    }
    if failing:
        report["failing"] = failing
    if report["housekeeping"] == "overdue":
        report["warnings"] = ["housekeeping"]
    return not failing, report


@never_cache
@require_GET
def healthz(request):
    """200 when the database, the broker and at least one live worker answer; 503 naming what fails.

    Overdue housekeeping is listed in ``"warnings"`` and leaves the status as it is.

    The body names parts and counts only, never URLs, hosts or error texts: a connection error
    can quote a URL with its password. The cause goes to the log (:class:`jobs.logs.OutageLog`).
    """
    healthy, report = health_report()
    return JsonResponse(report, status=200 if healthy else 503)
