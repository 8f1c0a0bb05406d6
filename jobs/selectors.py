"""The read side: every number the admin, ``manage.py jobs`` and ``/metrics/`` show.

Jobs, the broker's queues and live workers, each computed once here.
"""

import time
from datetime import datetime, timedelta
from typing import Any, cast

import dramatiq
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from redis import Redis
from redis.exceptions import RedisError

from jobs.backends import queue_names
from jobs.brokers import BROKER_ERRORS, HeraldBroker
from jobs.counts import CHART_HOURS as CHART_HOURS
from jobs.counts import attempt_durations as attempt_durations
from jobs.counts import attempt_outcome_counts as attempt_outcome_counts
from jobs.counts import finished_between as finished_between
from jobs.counts import finished_counts, status_counts
from jobs.counts import hourly_outcomes as hourly_outcomes
from jobs.housekeeping import UNKNOWN_SUMMARY, housekeeping_summary
from jobs.models import Job, ScheduleRun
from jobs.results import parse_result_id
from jobs.schedules import declared_schedules
from jobs.tasks_api import Task
from jobs.worker.liveness import broker_liveness_key, fresh_worker_stamps, probe_client

# Longer search terms cannot be an address or a message id (254 is an address's limit).
MAX_SEARCH_LENGTH = 254
# Above every character: ``prefix <= value < prefix + PREFIX_END`` is "starts with prefix".
PREFIX_END = "\U0010ffff"


def label_prefix_q(prefix: str) -> Q:
    """Labels (first text arguments) starting with ``prefix``, found through the label index."""
    if connection.vendor == "sqlite":
        # SQLite compares text byte by byte, so this range is exactly "starts
        # with" and walks the index; its LIKE ignores case and cannot.
        return Q(label__gte=prefix, label__lt=prefix + PREFIX_END)
    # A linguistic collation does not order text byte by byte; LIKE 'prefix%'
    # is right under any of them.
    return Q(label__startswith=prefix)


def job_search_q(term: str) -> Q:
    """The filter for a search box term: indexed look-ups only, never a scan.

    - the start of the job's label, its first text argument (for an email,
      the address: ``ada@ex`` or ``ada``), on the label index, lower-cased
      (as addresses are stored) and as typed;
    - a Dramatiq message id, exact;
    - a job id, when the term is a number;
    - a result id (``TaskResult.id``), when the term is a UUID.
    """
    term = term.strip()
    if not term:
        return Q()
    if len(term) > MAX_SEARCH_LENGTH:
        return Q(pk__in=[])
    q = label_prefix_q(term.lower()) | Q(message_id=term)
    if term != term.lower():
        q |= label_prefix_q(term)  # a label not lower-cased
    if term.isascii() and term.isdigit() and int(term) < 2**63:
        q |= Q(pk=int(term))
    if (result_id := parse_result_id(term)) is not None:
        q |= Q(result_id=result_id)
    return q


def job_by_id(job_id: int | str) -> Job | None:
    """The job whose row number or result id is ``job_id``; None when there is none or it is neither.

    What the admin's job page and ``manage.py jobs`` accept wherever they take a job id.
    """
    if isinstance(job_id, int) or (job_id.isascii() and job_id.isdigit()):
        number = int(job_id)
        return Job.objects.filter(pk=number).first() if 0 < number < 2**63 else None
    result_id = parse_result_id(job_id)
    return None if result_id is None else Job.objects.filter(result_id=result_id).first()


def task_paths() -> list[str]:
    """The task of every job in the table, once each: one probe of the task index per task.

    A loose index scan: ``SELECT DISTINCT`` would read every row on
    PostgreSQL, which has no skip scan.
    """
    paths: list[str] = []
    jobs = Job.objects.order_by("task_path").values_list("task_path", flat=True)
    while (path := (jobs.filter(task_path__gt=paths[-1]) if paths else jobs).first()) is not None:
        paths.append(path)
    return paths


def unfinished_jobs(task: Task, *, first_arg: Any, at_least: int) -> bool:
    """True when at least ``at_least`` jobs of ``task`` whose first argument is ``first_arg`` wait to run."""
    jobs = Job.objects.filter(task_path=task.module_path, status__in=Job.PENDING_STATUSES, args__0=first_arg)
    return jobs[:at_least].count() >= at_least


def broker_queue_stats(broker: HeraldBroker | None = None) -> dict[str, Any]:
    """What the broker (Redis or RabbitMQ) holds for Herald's queues right now, all queues together.

    - ``queue_depth``: messages waiting for a worker;
    - ``in_progress``: messages a worker has fetched and not yet acknowledged
      (None on RabbitMQ, which reports them only through its management plugin);
    - ``delayed``: messages waiting for their time (retry back-off; on RabbitMQ
      those not yet fetched by a worker);
    - ``dead_lettered``: messages Dramatiq gave up on and keeps for a week.

    Read through a connection that gives up within seconds
    (``jobs.brokers.redis.PROBE_TIMEOUT_S``), so a hung broker does not hang the
    admin. Never raises: with the broker unreachable every number is None and
    ``reachable`` is False.
    """
    broker = broker or cast(HeraldBroker, dramatiq.get_broker())
    try:
        per_queue = [broker.queue_counts(name) for name in queue_names()]
    except BROKER_ERRORS as exc:
        counts = dict.fromkeys(BROKER_COUNTS)
        return {"reachable": False, "error": str(exc), **counts}
    counts = {
        key: None if any(c[key] is None for c in per_queue) else sum(c[key] for c in per_queue)
        for key in BROKER_COUNTS
    }
    return {"reachable": True, "error": "", **counts}


BROKER_COUNTS = ("queue_depth", "in_progress", "delayed", "dead_lettered")


def live_workers(client: Redis | None = None) -> list[dict[str, Any]] | None:
    """Worker processes alive by the health check's rule (``jobs.worker.liveness.fresh_worker_stamps``), freshest first.

    Each item: ``{"id", "last_seen_s", "broker_liveness_s"}`` (ages in
    seconds; the broker liveness, the worker's last fetch or ack, is None if
    the broker forgot it). Returns None when Redis is unreachable.
    """
    client = client or probe_client()
    now = time.time()
    try:
        stamps = fresh_worker_stamps(client, now)
        ids = [member for member, _ in stamps]
        broker_stamps_ms = broker_liveness_ms(client, ids)
    except RedisError:
        return None
    workers = [
        {
            "id": member,
            "last_seen_s": _age(now, score),
            "broker_liveness_s": None if seen is None else _age(now, seen / 1000),
        }
        for (member, score), seen in zip(stamps, broker_stamps_ms, strict=True)
    ]
    return sorted(workers, key=lambda worker: worker["last_seen_s"])


def broker_liveness_ms(client: Redis, ids: list[str]) -> list[float | None]:
    """Each worker's broker liveness on Redis (ms), or None each: RabbitMQ keeps none."""
    broker = dramatiq.get_broker()
    if not ids or not hasattr(broker, "client"):
        return [None] * len(ids)
    return client.zmscore(broker_liveness_key(broker), ids)


def _age(now: float, timestamp: float) -> float:
    return round(max(now - timestamp, 0.0), 1)


def stats(
    *, now: datetime | None = None, task: str | None = None, count_limit: int | None = None
) -> dict[str, Any]:
    """The job summary the admin and ``manage.py jobs stats --json`` show: one function, the same numbers.

    Each count is a range of one of ``Job``'s indexes, or the table's bare
    ``COUNT(*)`` (:func:`status_counts`); with ``count_limit`` (the admin's)
    each status count stops past it, so it stays fast with millions of jobs.
    The broker's half never raises (:func:`broker_queue_stats`).

    Shape::

        {"generated_at": ISO 8601 str,
         "jobs": {"queued": int, "running": int, "retrying": int, "succeeded": int, "failed": int,
                  "cancelled": int},
         "total": int,
         "sent": {"last_hour": int, "last_day": int},
         "failed": {"last_hour": int, "last_day": int},
         "broker": {"reachable": bool, "error": str, "queue_depth": int|None, "in_progress": int|None,
                    "delayed": int|None, "dead_lettered": int|None},
         "workers": {"alive": int|None, "processes": [{"id": str, "last_seen_s": float,
                                                       "broker_liveness_s": float|None}]},
         "housekeeping": {"last_run_at": str|None, "last_run_s": float|None, "overdue": bool|None}}
    """
    now = now or timezone.now()
    counts = status_counts(task, limit=count_limit)
    hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(days=1)
    finished = finished_counts(
        {
            "sent_hour": (Job.Status.SUCCEEDED, hour_ago, None),
            "sent_day": (Job.Status.SUCCEEDED, day_ago, None),
            "failed_hour": (Job.Status.FAILED, hour_ago, None),
            "failed_day": (Job.Status.FAILED, day_ago, None),
        },
        task,
    )
    workers = live_workers()
    return {
        "generated_at": now.isoformat(),
        "jobs": counts,
        "total": sum(counts.values()),
        "sent": {"last_hour": finished["sent_hour"], "last_day": finished["sent_day"]},
        "failed": {"last_hour": finished["failed_hour"], "last_day": finished["failed_day"]},
        "broker": broker_queue_stats(),
        "workers": {"alive": None if workers is None else len(workers), "processes": workers or []},
        "housekeeping": housekeeping_summary(now.timestamp())
        if workers is not None
        else dict(UNKNOWN_SUMMARY),
    }


def schedule_list(now: datetime | None = None) -> list[dict]:
    """Every declared schedule: name, task, when, next run and the last run (with its job), by name."""
    now = now or timezone.now()
    rows = []
    for declared in declared_schedules():
        last = (
            ScheduleRun.objects.filter(schedule_name=declared.name)
            .select_related("job")
            .order_by("-scheduled_at")
            .first()
        )
        rows.append(
            {
                "name": declared.name,
                "task_path": declared.task.module_path,
                "queue_name": declared.task.queue_name,
                "when": declared.description,
                "next_run": declared.next_run(now),
                "last_run": last,
            }
        )
    return rows
