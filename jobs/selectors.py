"""Reads about email jobs: counts, the broker's queues, live workers, stored results.

The admin summary and ``manage.py jobs stats`` both call :func:`stats`, so
they always show the same numbers. Each count is a range of one of
``EmailJob``'s indexes, except the table's total, a bare ``COUNT(*)`` that
SQLite answers from its smallest index without decoding a row (about 6 ms at
a million rows): the summary stays fast with millions of jobs.

Broker reads never raise and never hang: they use clients that give up within
seconds, and when the broker or Redis is unreachable they say so (``reachable`` False)
while the database half of the summary still renders.
"""

import functools
import time
from dataclasses import dataclass
from datetime import timedelta

import dramatiq
import redis
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from dramatiq.results import Results, ResultFailure, ResultMissing
from dramatiq.results.backends.redis import RedisBackend
from redis.exceptions import RedisError

from config.broker import BROKER_ERRORS, PROBE_TIMEOUT_S
from jobs.heartbeats import fresh_worker_stamps, heartbeats_key, probe_client
from jobs.models import EmailJob

Status = EmailJob.Status

CHART_HOURS = 24
# Longer search terms cannot be an address or a message id (254 is an address's limit).
MAX_SEARCH_LENGTH = 254
# Above every character: ``prefix <= value < prefix + PREFIX_END`` is "starts with prefix".
PREFIX_END = "\U0010ffff"


def recipient_prefix_q(prefix):
    """Recipients starting with ``prefix``, found through the recipient index."""
    if connection.vendor == "sqlite":
        # SQLite compares text byte by byte, so this range is exactly "starts
        # with" and walks the index; its LIKE ignores case and cannot.
        return Q(recipient__gte=prefix, recipient__lt=prefix + PREFIX_END)
    # A linguistic collation does not order text byte by byte; LIKE 'prefix%'
    # is right under any of them.
    return Q(recipient__startswith=prefix)


def job_search_q(term):
    """The filter for a search box term: indexed look-ups only, never a scan.

    - the start of a recipient address (``ada@ex`` or ``ada``), on the
      recipient index, lower-cased (as addresses are stored) and as typed;
    - a Dramatiq message id, exact;
    - a job id, when the term is a number.
    """
    term = term.strip()
    if not term:
        return Q()
    if len(term) > MAX_SEARCH_LENGTH:
        return Q(pk__in=[])
    q = recipient_prefix_q(term.lower()) | Q(message_id=term)
    if term != term.lower():
        q |= recipient_prefix_q(term)  # a row written before addresses were lower-cased
    if term.isascii() and term.isdigit() and int(term) < 2**63:
        q |= Q(pk=int(term))
    return q


def status_counts():
    """``{status: number of jobs}`` for every status, zeros included.

    Succeeded jobs are most of the table, so they are counted as the total
    (a bare COUNT, which SQLite answers without decoding a row) less the
    other statuses (each a range of the status index). The counts are read
    one after the other, not in one snapshot: under a burst of writes they
    may be off by the few jobs that changed meanwhile.
    """
    counts = dict.fromkeys(Status.values, 0)
    for status in counts:
        if status != Status.SUCCEEDED:
            counts[status] = EmailJob.objects.filter(status=status).count()
    counts[Status.SUCCEEDED] = max(EmailJob.objects.count() - sum(counts.values()), 0)
    return counts


def finished_between(status, start, end=None):
    """How many jobs reached ``status`` (succeeded or failed) in [start, end)."""
    jobs = EmailJob.objects.filter(status=status, finished_at__gte=start)
    if end is not None:
        jobs = jobs.filter(finished_at__lt=end)
    return jobs.count()


def hourly_outcomes(*, hours=CHART_HOURS, now=None):
    """Jobs sent and failed in each of the last ``hours`` clock hours, oldest first.

    Each item is ``{"start": datetime, "sent": int, "failed": int}``; the last
    one is the current, unfinished hour.
    """
    now = now or timezone.now()
    current = now.replace(minute=0, second=0, microsecond=0)
    buckets = []
    for n in range(hours - 1, -1, -1):
        start = current - timedelta(hours=n)
        end = start + timedelta(hours=1)
        buckets.append(
            {
                "start": start,
                "sent": finished_between(Status.SUCCEEDED, start, end),
                "failed": finished_between(Status.FAILED, start, end),
            }
        )
    return buckets


def queue_name():
    from jobs.actors import send_email

    return send_email.queue_name


def broker_queue_stats(broker=None):
    """What the broker (Redis or RabbitMQ) holds for the email queue right now.

    - ``queue_depth``: messages waiting for a worker;
    - ``in_progress``: messages a worker has fetched and not yet acknowledged
      (None on RabbitMQ, which reports them only through its management plugin);
    - ``delayed``: messages waiting for their time (retry back-off; on RabbitMQ
      those not yet fetched by a worker);
    - ``dead_lettered``: messages Dramatiq gave up on and keeps for a week.

    Read through a connection that gives up within seconds
    (``config.broker.PROBE_TIMEOUT_S``), so a hung broker does not hang the
    admin. With the broker unreachable every number is None and
    ``reachable`` is False.
    """
    broker = broker or dramatiq.get_broker()
    try:
        counts = broker.queue_counts(queue_name())
    except BROKER_ERRORS as exc:
        counts = dict.fromkeys(("queue_depth", "in_progress", "delayed", "dead_lettered"))
        return {"reachable": False, "error": str(exc), **counts}
    return {"reachable": True, "error": "", **counts}


def live_workers(client=None):
    """Worker processes alive by the health check's rule (``jobs.heartbeats.fresh_worker_stamps``), freshest first.

    Each item: ``{"id", "last_seen_s", "broker_heartbeat_s"}`` (ages in
    seconds; the broker heartbeat, the worker's last fetch or ack, is None if
    the broker forgot it). Returns None when Redis is unreachable.
    """
    client = client or probe_client()
    now = time.time()
    try:
        stamps = fresh_worker_stamps(client, now)
        ids = [member for member, _ in stamps]
        heartbeats_ms = broker_heartbeats_ms(client, ids)
    except RedisError:
        return None
    workers = [
        {
            "id": member,
            "last_seen_s": _age(now, score),
            "broker_heartbeat_s": None if beat is None else _age(now, beat / 1000),
        }
        for (member, score), beat in zip(stamps, heartbeats_ms)
    ]
    return sorted(workers, key=lambda worker: worker["last_seen_s"])


def broker_heartbeats_ms(client, ids):
    """Each worker's last Redis broker heartbeat (ms), or None each: RabbitMQ keeps none."""
    broker = dramatiq.get_broker()
    if not ids or not hasattr(broker, "client"):
        return [None] * len(ids)
    return client.zmscore(heartbeats_key(broker), ids)


def _age(now, timestamp):
    return round(max(now - timestamp, 0.0), 1)


def stats(*, now=None):
    """The job summary the admin and ``manage.py jobs stats --json`` show.

    Shape::

        {"generated_at": ISO 8601 str,
         "jobs": {"queued": int, "running": int, "retrying": int, "succeeded": int, "failed": int},
         "total": int,
         "sent": {"last_hour": int, "last_day": int},
         "failed": {"last_hour": int, "last_day": int},
         "broker": {"reachable": bool, "error": str, "queue_depth": int|None, "in_progress": int|None,
                    "delayed": int|None, "dead_lettered": int|None},
         "workers": {"alive": int|None, "processes": [{"id": str, "last_seen_s": float,
                                                       "broker_heartbeat_s": float|None}]}}
    """
    now = now or timezone.now()
    counts = status_counts()
    hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(days=1)
    workers = live_workers()
    return {
        "generated_at": now.isoformat(),
        "jobs": counts,
        "total": sum(counts.values()),
        "sent": {
            "last_hour": finished_between(Status.SUCCEEDED, hour_ago),
            "last_day": finished_between(Status.SUCCEEDED, day_ago),
        },
        "failed": {
            "last_hour": finished_between(Status.FAILED, hour_ago),
            "last_day": finished_between(Status.FAILED, day_ago),
        },
        "broker": broker_queue_stats(),
        "workers": {"alive": None if workers is None else len(workers), "processes": workers or []},
    }


@dataclass(frozen=True)
class StoredResult:
    """What Dramatiq's results backend holds for a job's message.

    ``state`` is ``"stored"`` (``value`` is what the actor returned),
    ``"failed"`` (``value`` is the stored error), ``"missing"`` (expired, or
    not stored yet), ``"none"`` (the job has no message id) or
    ``"unavailable"`` (no results backend, or Redis unreachable).
    """

    state: str
    value: object = None


def results_backend():
    """Dramatiq's results backend, or None when none is configured.

    A Redis backend is returned reading through a client that gives up
    within seconds, so that a hung Redis does not hang the job page.
    """
    for middleware in dramatiq.get_broker().middleware:
        if isinstance(middleware, Results):
            return _quick(middleware.backend)
    return None


@functools.cache
def _quick(backend):
    if not isinstance(backend, RedisBackend):
        return backend
    pool = backend.client.connection_pool
    timeouts = {"socket_timeout": PROBE_TIMEOUT_S, "socket_connect_timeout": PROBE_TIMEOUT_S}
    quick_pool = type(pool)(connection_class=pool.connection_class, **{**pool.connection_kwargs, **timeouts})
    client = redis.Redis(connection_pool=quick_pool)
    return RedisBackend(
        namespace=backend.namespace,
        encoder=backend.encoder,
        use_namespace_prefix_keys=backend.use_namespace_prefix_keys,
        client=client,
    )


def stored_result(job):
    """The result Dramatiq stored for ``job``'s last message, if it is still there."""
    from jobs.actors import send_email

    if not job.message_id:
        return StoredResult("none")
    backend = results_backend()
    if backend is None:
        return StoredResult("unavailable", "no results backend is configured")
    message = dramatiq.Message(
        queue_name=send_email.queue_name,
        actor_name=send_email.actor_name,
        args=(job.pk,),
        kwargs={},
        options={},
        message_id=job.message_id,
    )
    try:
        return StoredResult("stored", backend.get_result(message, block=False))
    except ResultMissing:
        return StoredResult("missing")
    except ResultFailure as exc:
        return StoredResult("failed", f"{exc.orig_exc_type}: {exc.orig_exc_msg}")
    except RedisError as exc:
        return StoredResult("unavailable", str(exc))
