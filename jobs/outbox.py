"""Getting jobs to the broker: the row in the caller's transaction, the message after commit.

A job is recorded in the caller's transaction and its message published once
that transaction commits, so a worker never sees a job (or anything the job
reads) that a rollback removes. If the broker is unreachable the job stays
with no ``enqueued_at`` and the relay (``jobs.services.relay_unsent``)
publishes it later. A job to run more than ``LONGEST_HELD_RETRY_MS`` from now
is not published until it is due: no worker holds it meanwhile.
"""

import logging
from functools import partial

import dramatiq
from django.db import transaction
from django.utils import timezone

from config.broker import BROKER_ERRORS
from config.timing import timed
from jobs.errors import LONGEST_HELD_RETRY_MS
from jobs.handoff import hand_off
from jobs.models import Job

logger = logging.getLogger("jobs.outbox")

# The Dramatiq actor that runs every job (jobs.actors.run_task).
ACTOR_NAME = "run_task"


def record_job(*, task_path, queue_name, args, kwargs, run_after=None, resend_of=None, background=False):
    """Write a queued job in the caller's transaction; publish its message after commit.

    With ``background`` this process's hand-off thread publishes it
    (``jobs.handoff``): the caller does not wait for the broker.
    """
    job = Job.objects.create(
        task_path=task_path,
        queue_name=queue_name,
        args=args,
        kwargs=kwargs,
        label=Job.label_of(args),
        run_after=run_after,
        resend_of=resend_of,
        status=Job.Status.QUEUED,
        due_at=run_after or timezone.now(),
    )
    delay_ms = _delay_ms(run_after)
    if delay_ms <= LONGEST_HELD_RETRY_MS:
        send = partial(publish, job.pk, queue_name, delay_ms=delay_ms)
        transaction.on_commit(partial(hand_off, send) if background else send)
    return job


def _delay_ms(run_after):
    if run_after is None:
        return 0
    return max(0, int((run_after - timezone.now()).total_seconds() * 1000))


def publish(job_id, queue_name, *, delay_ms=0, retries=0):
    """Hand job ``job_id`` to the broker and note on the row that it was accepted.

    Returns the Dramatiq message id, or None when the broker (Redis or
    RabbitMQ) is unreachable (logged; the relay tries again). ``retries``:
    how many retries the job has had, so that its retry budget holds.
    """
    message = dramatiq.Message(
        queue_name=queue_name,
        actor_name=ACTOR_NAME,
        args=(job_id,),
        kwargs={},
        options={"retries": retries} if retries else {},
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
