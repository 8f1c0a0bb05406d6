"""The outbox: the job row in the caller's transaction, its message published after commit, and the relay."""

import logging
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

import dramatiq
from django.db import IntegrityError, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from jobs.brokers import BROKER_ERRORS, HeraldBroker
from jobs.enqueue.handoff import hand_off
from jobs.errors import LONGEST_HELD_RETRY_MS
from jobs.models import Attempt, Job
from jobs.timing import timed
from jobs.worker.limits import time_limit_ms_of
from jobs.worker.liveness import claimant_is_dead, connected_workers

logger = logging.getLogger("jobs.enqueue.outbox")

# The Dramatiq actor that runs every job (jobs.worker.actors.run_task).
ACTOR_NAME = "run_task"
# A queued or retrying job overdue by this long lost its message; the relay sends it again.
REQUEUE_AFTER_S = 900
# Inserts of a keyed job tried before giving up (each loses only to a job that starts running at once).
KEYED_INSERT_TRIES = 5


def record_job(
    *,
    task_path: str,
    queue_name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    run_after: datetime | None = None,
    resend_of: Job | None = None,
    background: bool = False,
    unique_key: str = "",
) -> Job:
    """Write a queued job in the caller's transaction; publish its message after commit.

    A worker never sees a job (or anything the job reads) that a rollback
    removes. A job due more than ``LONGEST_HELD_RETRY_MS`` from now gets no
    message: the relay sends it when due, so no worker holds it meanwhile.
    With ``background`` this process's hand-off thread publishes it
    (``jobs.enqueue.handoff``): the caller does not wait for the broker. The
    row keeps the task's time limit (``jobs.worker.limits``), and every
    message of the job carries it.
    A ``unique_key`` goes through :func:`record_keyed_job`.
    """
    time_limit_ms = time_limit_ms_of(task_path)
    job = Job.objects.create(
        unique_key=unique_key,
        task_path=task_path,
        queue_name=queue_name,
        args=args,
        kwargs=kwargs,
        label=Job.label_of(args),
        run_after=run_after,
        resend_of=resend_of,
        status=Job.Status.QUEUED,
        due_at=run_after or timezone.now(),
        time_limit_ms=time_limit_ms,
    )
    delay_ms = _delay_ms(run_after)
    if delay_ms <= LONGEST_HELD_RETRY_MS:
        send = partial(publish, job.pk, queue_name, delay_ms=delay_ms, time_limit_ms=time_limit_ms)
        transaction.on_commit(partial(hand_off, send) if background else send)
    return job


def record_keyed_job(*, unique_key: str, task_path: str, **job: Any) -> tuple[Job, bool]:
    """The waiting job of ``task_path`` with ``unique_key``, written now (True) or already there (False).

    Why an insert that may fail rather than a look first: two enqueues racing
    would both see no job and both write one. The constraint
    ``job_one_waiting_per_key`` lets one insert win; the other's fails inside
    its own savepoint, which leaves the caller's transaction usable, and it
    returns the job that won (on PostgreSQL once that insert commits). When
    the job that won is already running by then, the insert is tried again.
    ``job``: the other arguments of :func:`record_job`.
    """
    for _ in range(KEYED_INSERT_TRIES - 1):
        try:
            with transaction.atomic():
                return record_job(unique_key=unique_key, task_path=task_path, **job), True
        except IntegrityError:
            waiting = Job.objects.filter(
                task_path=task_path, unique_key=unique_key, status__in=Job.PENDING_STATUSES
            ).first()
            if waiting is not None:
                return waiting, False
    with transaction.atomic():
        return record_job(unique_key=unique_key, task_path=task_path, **job), True


def _delay_ms(run_after: datetime | None) -> int:
    if run_after is None:
        return 0
    return max(0, int((run_after - timezone.now()).total_seconds() * 1000))


def publish(
    job_id: int, queue_name: str, *, delay_ms: int = 0, retries: int = 0, time_limit_ms: int | None = None
) -> str | None:
    """Hand job ``job_id`` to the broker and note on the row that it was accepted.

    Returns the Dramatiq message id, or None when the broker (Redis or
    RabbitMQ) is unreachable (logged; the row keeps no ``enqueued_at`` and the
    relay tries again). ``retries``:
    how many retries the job has had, so that its retry budget holds.
    ``time_limit_ms``: the job's time limit, as Dramatiq's ``time_limit``
    message option (None: the actor's default, ``JOBS_TIME_LIMIT_S``).
    """
    options: dict[str, Any] = {"retries": retries} if retries else {}
    if time_limit_ms is not None:
        options["time_limit"] = time_limit_ms
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name=queue_name,
        actor_name=ACTOR_NAME,
        args=(job_id,),
        kwargs={},
        options=options,
    )
    try:
        with timed("broker"):
            dramatiq.get_broker().enqueue(message, delay=delay_ms or None)
    except BROKER_ERRORS as exc:
        logger.warning("job=%s not enqueued, broker unreachable (%s); the relay will send it", job_id, exc)
        return None
    # In a transaction of its own, so that on SQLite it queues for the write
    # lock with the process's other writers (config/db/base.py).
    with transaction.atomic():
        Job.objects.filter(pk=job_id).update(enqueued_at=timezone.now(), message_id=message.message_id)
    return message.message_id


def relay_sweep(broker: dramatiq.Broker | None = None) -> list[int]:
    """Give the broker back what it lost or never got; return the ids of the jobs relayed.

    First the messages that dead workers fetched and never acknowledged go
    back to their queues, every queue this process's broker has declared (the
    Redis broker's maintenance pass, which Dramatiq otherwise runs only at
    random; RabbitMQ does it itself). Then
    :func:`relay_unsent` sends the jobs the broker never got, lost,
    or was never meant to hold. The one sweep of the workers' relay and of
    ``manage.py jobs relay``. Safe to run twice: the claim on the job row lets
    one delivery send.
    """
    cast(HeraldBroker, broker or dramatiq.get_broker()).requeue_dead_workers()
    return relay_unsent()


def relay_unsent(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Send to the broker the jobs it never got, lost or was never meant to hold; return their ids.

    Four kinds of job are relayed:
    - queued but never accepted by the broker (it was down at enqueue, or
      the job's ``run_after`` was too far off to hold), once due;
    - retrying after a back-off too long to hold in a worker, now due
      (``jobs.worker.actors``: the job row schedules those, not a delayed message);
    - queued or retrying, and overdue by ``REQUEUE_AFTER_S`` (the message was lost);
    - running under a worker that died (:func:`relay_dead_claims`).
    Sending twice is harmless: the claim on the job row lets one delivery send.
    """
    now = now or timezone.now()
    never_sent = Job.objects.filter(
        status=Job.Status.QUEUED,
        enqueued_at__isnull=True,
        created_at__lt=now - timedelta(seconds=2),
        due_at__lte=now,
    )
    scheduled = Job.objects.filter(status=Job.Status.RETRYING, enqueued_at__isnull=True, due_at__lte=now)
    overdue = Job.objects.filter(
        status__in=Job.PENDING_STATUSES,
        enqueued_at__isnull=False,
        due_at__lt=now - timedelta(seconds=REQUEUE_AFTER_S),
    )
    ids = list(never_sent.values_list("pk", flat=True)[:limit])
    ids += list(scheduled.values_list("pk", flat=True)[:limit])
    ids += list(overdue.values_list("pk", flat=True)[:limit])
    ids += dead_claims(now=now, limit=limit)
    return _relay(dict.fromkeys(ids))


def dead_claims(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of running jobs whose worker died (``liveness.claimant_is_dead``), one look at Redis for all."""
    now = now or timezone.now()
    running = list(
        Job.objects.filter(status=Job.Status.RUNNING).values_list(
            "pk", "worker_id", "claimed_at", "time_limit_ms"
        )[:limit]
    )
    if not running:
        return []
    try:
        connected = connected_workers()
    except RedisError:
        connected = None
    return [
        pk
        for pk, worker, at, time_limit_ms in running
        if claimant_is_dead(worker, at, time_limit_ms, now, connected=connected)
    ]


def relay_dead_claims(
    *, now: datetime | None = None, limit: int = 500, skip: Collection[int] = ()
) -> list[int]:
    """Send again the jobs whose worker died while sending them, except those in ``skip``; return their ids.

    The relay runs this every second, so that a killed worker's job runs again
    within seconds; the next delivery takes the claim over (``jobs.worker.tracking``).
    """
    return _relay([pk for pk in dead_claims(now=now, limit=limit) if pk not in skip])


def _relay(job_ids: Iterable[int]) -> list[int]:
    relayed = []
    rows = Job.objects.filter(pk__in=list(job_ids)).values_list("pk", "queue_name", "time_limit_ms")
    jobs = {pk: (queue_name, time_limit_ms) for pk, queue_name, time_limit_ms in rows}
    for job_id in job_ids:
        if job_id not in jobs:
            continue  # pruned meanwhile
        queue_name, time_limit_ms = jobs[job_id]
        sent = publish(job_id, queue_name, retries=_retries_so_far(job_id), time_limit_ms=time_limit_ms)
        if sent is None:
            break  # broker still down: try again next sweep
        Job.objects.filter(pk=job_id, status__in=Job.PENDING_STATUSES).update(due_at=timezone.now())
        relayed.append(job_id)
    if relayed:
        logger.info("relayed %d job(s) to the broker: %s", len(relayed), relayed[:20])
    return relayed


def _retries_so_far(job_id: int) -> int:
    """How many retries the job has had: its message carries the count, so the retry budget holds across relays."""
    return Attempt.objects.filter(job_id=job_id, outcome=Attempt.Outcome.RETRY).count()
