"""``GET /metrics/``: Prometheus text, read from the database, the broker and Redis at each scrape.

The metrics and when to alert on them: docs/monitoring.md#get-metrics.
"""

import hmac
import logging
from typing import cast

import dramatiq
from django.conf import settings
from django.db import DatabaseError
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from jobs.backends import queue_names
from jobs.brokers import BROKER_ERRORS, HeraldBroker
from jobs.logs import OutageLog
from jobs.models import Attempt, Job
from jobs.selectors import attempt_durations, attempt_outcome_counts, status_counts
from jobs.views.health import live_worker_count

logger = logging.getLogger("jobs.views.metrics")
# A failing scrape logs its traceback at most once a minute (see jobs.views.health).
outage_log = OutageLog(logger, traceback_every_s=60, repeats=True)

# Upper bounds of the send duration buckets, in milliseconds (SMTP sends take
# tens of milliseconds to tens of seconds; EMAIL_TIMEOUT defaults to 30 s).
DURATION_BUCKETS_MS = (25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)


def jobs_by_status():
    counts = status_counts()
    family = GaugeMetricFamily("herald_jobs", "Jobs in the database, by status.", labels=["status"])
    for status in Job.Status.values:
        family.add_metric([status], counts.get(status, 0))
    return family


def attempts_by_outcome():
    counts = attempt_outcome_counts()
    family = GaugeMetricFamily(
        "herald_job_attempts", "Job attempts in the database, by outcome.", labels=["outcome"]
    )
    for outcome in Attempt.Outcome.values:
        family.add_metric([outcome], counts.get(outcome, 0))
    return family


def send_duration_histogram():
    rows = attempt_durations(DURATION_BUCKETS_MS)
    family = HistogramMetricFamily(
        "herald_job_duration_seconds",
        "Time from claiming a job to recording the attempt's outcome (the task's run).",
        labels=["outcome"],
    )
    for row in rows:
        buckets = [(str(ms / 1000), row["at_most"][ms]) for ms in DURATION_BUCKETS_MS]
        buckets.append(("+Inf", row["total"]))
        family.add_metric([row["outcome"]], buckets, row["sum_ms"] / 1000)
    return family


def broker_metrics():
    """Queue gauges read from Redis; only ``herald_broker_up 0`` when it does not answer."""
    broker = cast(HeraldBroker, dramatiq.get_broker())
    queues = queue_names()
    up = GaugeMetricFamily("herald_broker_up", "1 when the broker (Redis or RabbitMQ) answered this scrape.")
    try:
        counts = [broker.queue_counts(queue) for queue in queues]
        workers = live_worker_count()
    except BROKER_ERRORS as exc:
        outage_log.failed("broker", exc, "metrics: broker unavailable")
        workers = None
    if workers is None:
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    depth = GaugeMetricFamily("herald_queue_depth", "Messages waiting for a worker.", labels=["queue"])
    delayed = GaugeMetricFamily(
        "herald_queue_delayed", "Messages waiting out a retry back-off (delayed).", labels=["queue"]
    )
    dead = GaugeMetricFamily(
        "herald_queue_dead_letters", "Messages Dramatiq dead-lettered.", labels=["queue"]
    )
    for queue, count in zip(queues, counts, strict=True):
        depth.add_metric([queue], count["queue_depth"])
        delayed.add_metric([queue], count["delayed"])
        dead.add_metric([queue], count["dead_lettered"])
    alive = GaugeMetricFamily("herald_workers_alive", "Worker processes with a fresh liveness stamp.")
    alive.add_metric([], workers)
    return [up, depth, delayed, dead, alive]


class HeraldCollector:
    """Reads every figure at scrape time: web servers and workers are separate processes, so nothing is counted in memory."""

    def collect(self):
        yield jobs_by_status()
        yield attempts_by_outcome()
        yield send_duration_histogram()
        yield from broker_metrics()


registry = CollectorRegistry(auto_describe=False)
registry.register(HeraldCollector())


def bearer_token_matches(request, token):
    """True when the request's ``Authorization`` header is ``Bearer <token>``, compared in constant time."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
@require_GET
def metrics(request):
    """Prometheus text; 404 while ``METRICS_TOKEN`` is unset, 401 without the right bearer token."""
    if not settings.METRICS_TOKEN:
        raise Http404("Metrics are turned off (METRICS_TOKEN is not set).")
    if not bearer_token_matches(request, settings.METRICS_TOKEN):
        response = HttpResponse(
            "metrics need the bearer token\n", status=401, content_type="text/plain; charset=utf-8"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    try:
        body = generate_latest(registry)
    except DatabaseError as exc:
        outage_log.failed("database", exc, "metrics: database unavailable")
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain; charset=utf-8")
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
