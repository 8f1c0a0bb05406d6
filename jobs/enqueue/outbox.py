"""The outbox: the job row in the caller's transaction, its message published after commit, and the relay."""

import logging
import uuid
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

import dramatiq
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from jobs.brokers import BROKER_ERRORS, HeraldBroker
from jobs.enqueue.handoff import hand_off
from jobs.enqueue.published import PUBLISHED_KEPT_S, forget_old_notes, note_published, published_ids
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
# A job handed off this long ago and not noted as published is sent by the relay: the
# hand-off thread has published it by then, or never will (its process died).
LOOK_AFTER_S = 5
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
    """Write a queued job in the caller's transaction (one INSERT); publish its message after commit.

    A worker never sees a job (or anything the job reads) that a rollback
    removes. The message's id is chosen before the INSERT and written with
    the row, so the database is not written again when the publish succeeds:
    the publish notes the id in Redis, where the relay looks for it
    (:func:`relay_unsent`). A job due more than
    ``LONGEST_HELD_RETRY_MS`` from now gets no message (and no message id):
    the relay sends it when due, so no worker holds it meanwhile. With
    ``background`` this process's hand-off thread publishes it
    (``jobs.enqueue.handoff``): the caller does not wait for the broker. The
    row keeps the task's time limit (``jobs.worker.limits``), and every
    message of the job carries it.
    A ``unique_key`` goes through :func:`record_keyed_job`.
    """
    time_limit_ms = time_limit_ms_of(task_path)
    delay_ms = _delay_ms(run_after)
    message_id = str(uuid.uuid4()) if delay_ms <= LONGEST_HELD_RETRY_MS else ""
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
        message_id=message_id,
    )
    if message_id:
        send = partial(
            publish, job.pk, queue_name, delay_ms=delay_ms, time_limit_ms=time_limit_ms, message_id=message_id
        )
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
    job_id: int,
    queue_name: str,
    *,
    delay_ms: int = 0,
    retries: int = 0,
    time_limit_ms: int | None = None,
    message_id: str | None = None,
) -> str | None:
    """Hand job ``job_id`` to the broker as message ``message_id`` (a new id if None); that id, or None.

    Writes nothing to the database when the broker takes it (the row already
    names the message: :func:`record_job`, :func:`_relay`); notes the id in
    Redis (``jobs.enqueue.published``). When the broker (Redis or
    RabbitMQ) is unreachable, logs it, clears the row's message id (the
    broker holds no such message; the relay sends the job at its next sweep)
    and returns None. ``retries``: how many retries the job has had, so that
    its retry budget holds. ``time_limit_ms``: the job's time limit, as
    Dramatiq's ``time_limit`` message option (None: the actor's default,
    ``JOBS_TIME_LIMIT_S``).
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
        message_id=message_id or str(uuid.uuid4()),
    )
    try:
        with timed("broker"):
            dramatiq.get_broker().enqueue(message, delay=delay_ms or None)
    except BROKER_ERRORS as exc:
        logger.warning("job=%s not enqueued, broker unreachable (%s); the relay will send it", job_id, exc)
        if message_id:
            # In a transaction of its own, so that on SQLite it queues for the write
            # lock with the process's other writers (config/db/base.py).
            with transaction.atomic():
                Job.objects.filter(pk=job_id, status=Job.Status.QUEUED, message_id=message_id).update(
                    message_id=""
                )
        return None
    note_published(message.message_id)
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
    forget_old_notes()
    return relay_unsent()


def relay_unsent(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Send to the broker the jobs it never got, lost or was never meant to hold; return their ids.

    A pending job whose row names no message (``message_id`` empty) has none
    on the broker: its publish failed, it was due too far off to hold, or it
    is a retry the row schedules (``jobs.worker.actors``). It is sent once due.
    A queued job whose row names a message was handed off for publishing:
    once it is ``LOOK_AFTER_S`` old, it is sent when Redis has no note that
    the broker took that message (:func:`note_published`): its process died
    before publishing. A job whose row names a message is sent again when
    overdue by ``REQUEUE_AFTER_S`` (lost, or a live worker held it that long),
    and so are the running jobs of dead workers (:func:`dead_claims`).
    Sending twice is harmless: the claim on the job row lets one delivery send.
    """
    now = now or timezone.now()
    pending = Job.objects.filter(status__in=Job.PENDING_STATUSES)
    # A fresh queued one is left to its own commit hook, which may not have failed yet.
    settled = Q(status=Job.Status.RETRYING) | Q(created_at__lt=now - timedelta(seconds=2))
    unsent = pending.filter(settled, message_id="", due_at__lte=now)
    ids = list(unsent.order_by("due_at").values_list("pk", flat=True)[:limit])
    named = pending.exclude(message_id="")
    handed_off = named.filter(
        status=Job.Status.QUEUED,
        enqueued_at__isnull=True,
        created_at__lt=now - timedelta(seconds=LOOK_AFTER_S),
        created_at__gte=now - timedelta(seconds=PUBLISHED_KEPT_S),
    )
    looked_for = dict(handed_off.values_list("pk", "message_id")[:limit])
    published = published_ids(list(looked_for.values()))
    if published is not None:  # None: Redis is down, nothing to tell by
        unpublished = [pk for pk, message_id in looked_for.items() if message_id not in published]
        # Claimed meanwhile: its message was on the broker after all.
        ids += list(named.filter(pk__in=unpublished, status=Job.Status.QUEUED).values_list("pk", flat=True))
    overdue = named.filter(due_at__lt=now - timedelta(seconds=REQUEUE_AFTER_S))
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
        # The row names the message the broker now holds; a running job's claim keeps its own.
        now = timezone.now()
        Job.objects.filter(pk=job_id, status__in=Job.PENDING_STATUSES).update(
            message_id=sent, enqueued_at=now, due_at=now
        )
        relayed.append(job_id)
    if relayed:
        logger.info("relayed %d job(s) to the broker: %s", len(relayed), relayed[:20])
    return relayed


def _retries_so_far(job_id: int) -> int:
    """How many retries the job has had: its message carries the count, so the retry budget holds across relays."""
    return Attempt.objects.filter(job_id=job_id, outcome=Attempt.Outcome.RETRY).count()
