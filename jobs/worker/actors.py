"""The Dramatiq actor that runs every job, of every task: ``run_task``."""

import logging
from inspect import iscoroutinefunction
from typing import Any, cast

import dramatiq
from django.conf import settings
from django.db import DatabaseError
from dramatiq.asyncio import async_to_sync, get_event_loop_thread
from dramatiq.middleware import CurrentMessage
from dramatiq.middleware.time_limit import TimeLimitExceeded

from jobs import errors, task_signals
from jobs.backends import queue_names
from jobs.brokers import HeraldBroker
from jobs.enqueue.outbox import ACTOR_NAME
from jobs.models import Job
from jobs.results import load_task, task_result
from jobs.tasks_api import TaskContext, normalize_json
from jobs.worker import cancels, mail, tracking
from jobs.worker.slots import run_slots

logger = logging.getLogger("jobs.worker.actors")

# Message option set when the task ran but recording that failed: the retry records it.
RAN_RETURNING = "herald_ran_returning"


@dramatiq.actor(
    actor_name=ACTOR_NAME,
    queue_name="default",
    # The task's retry policy decides; this actor raises only for a retry it wants.
    max_retries=None,
    min_backoff=settings.JOBS_MIN_BACKOFF_MS,
    max_backoff=settings.JOBS_MAX_BACKOFF_MS,
    # Each job's message names its task's own limit (jobs.worker.limits); this is for those that name none.
    time_limit=int(settings.JOBS_TIME_LIMIT_S * 1000),
)
def run_task(job_id):
    """Run the task of job ``job_id`` once and record how it went.

    Thin: claim the job row, run its task, record the outcome. Safe to run any number of times
    for the same job: only the delivery holding the claim runs the task, and a finished job is
    never run again.

    A transient failure with retries left (the task's ``retry_policy``) raises
    ``dramatiq.Retry`` with the policy's back-off, unless that back-off is
    longer than a worker may hold a message (``errors.LONGEST_HELD_RETRY_MS``):
    the job row schedules that retry and the relay sends it. Anything else
    fails the job at once; so does the task's time limit, unless its policy
    counts it transient. A job that lost an attempt to a dying worker runs
    alone in this process (``jobs.worker.slots``). A job cancelled while it
    runs is interrupted (``jobs.worker.cancels``), recorded cancelled and
    acknowledged.
    """
    message = CurrentMessage.get_current_message()
    options = message.options if message else {}
    if RAN_RETURNING in options:
        # An earlier delivery of this message ran the task but could not record it.
        tracking.record_ran_earlier(job_id, options[RAN_RETURNING])
        task_signals.send_finished_of(job_id)
        return
    claiming: dict[str, Any] = {
        "worker_id": cast(HeraldBroker, dramatiq.get_broker()).broker_id,
        "message_id": message.message_id if message else "",
    }
    retries = options.get("retries", 0)
    with run_slots.shared():
        claim = tracking.claim_job(job_id, first_hand=True, **claiming)
        if claim is not None:
            return _run_and_record(claim, options, retries=retries)
    # A duplicate delivery, or a job that lost an attempt to a dying worker.
    with run_slots.slot(alone=tracking.is_suspect(job_id)):
        claim = tracking.claim_job(job_id, **claiming)
        if isinstance(claim, tracking.GaveUp):
            task_signals.send_finished_of(job_id)  # failed as poison: its workers kept dying while running it
            return
        if claim is None:
            logger.info("job=%s skipped: finished, or held by another delivery", job_id)
            return
        return _run_and_record(claim, options, retries=retries)


def _run_and_record(claim, options, *, retries):
    try:
        task = load_task(claim.job.task_path)
    except errors.UnknownTask as exc:
        # As the framework's own backends record it: the ImportError that says why, when there is one.
        cause = exc.__cause__ if isinstance(exc.__cause__, ImportError) else exc
        tracking.record_failure(claim, cause)
        return
    task_signals.send_started(claim, task)
    try:
        with mail.sending_for_job(claim.job.pk), cancels.watch.interruptible(claim.job.pk) as watched:
            value = normalize_json(_call(task, claim))
    except errors.JobCancelled as exc:
        # Cancelled while running: recorded once, acknowledged, never retried.
        attempt = tracking.record_failure(claim, exc, cancelled_by=watched.cancelled_by)
        _send_finished(claim, task, attempt)
        return
    except BaseException as exc:
        _record_failure(claim, task, exc, retries=retries)
        return
    try:
        attempt = tracking.record_success(claim, value)
    except DatabaseError:
        # The retry of this message carries the value, so it records instead of running again.
        options[RAN_RETURNING] = value
        raise
    task_signals.send_finished(claim, task, attempt, status=Job.Status.SUCCEEDED, return_value=value)


def _call(task, claim):
    """Run the task of the claimed job: an ``async def`` one on the worker's event loop (``_run``)."""
    job = claim.job
    if task.takes_context:
        running = Job.objects.get(pk=job.pk)
        context = TaskContext(task_result=task_result(running, backend=task.backend, task=task))
        return _run(task, context, *job.args, **job.kwargs)
    return _run(task, *job.args, **job.kwargs)


def _run(task, *args, **kwargs):
    """``Task.call``, but a coroutine runs on the event loop of Dramatiq's ``AsyncIO`` middleware.

    There, a cancel or a time limit raised into this thread cancels the
    coroutine at its next ``await`` (Dramatiq's ``EventLoopThread``), where the
    framework's ``async_to_sync`` would hold this thread until the coroutine
    ended. Outside a worker (no event loop thread), as the framework runs it.
    """
    if iscoroutinefunction(task.func) and get_event_loop_thread() is not None:
        return async_to_sync(task.func)(*args, **kwargs)
    return task.call(*args, **kwargs)


def _record_failure(claim, task, exc, *, retries):
    """Record the failed attempt; raise ``dramatiq.Retry`` when a worker is to hold the retry."""
    policy = errors.policy_for(task)
    if not policy.should_retry(retries, exc):
        attempt = tracking.record_failure(claim, exc)
        task_signals.send_finished(claim, task, attempt, status=Job.Status.FAILED)
        if not isinstance(exc, Exception | TimeLimitExceeded):
            raise exc  # an interpreter exit goes on up; a time limit has done its work, recorded
        return
    delay_ms = policy.delay_ms(retries)
    held = delay_ms <= errors.LONGEST_HELD_RETRY_MS
    attempt = tracking.record_failure(claim, exc, retry_in_ms=delay_ms, held=held)
    if attempt.job_status == Job.Status.CANCELLED:
        _send_finished(claim, task, attempt)  # cancelled as it failed: no retry
    elif held:
        raise dramatiq.Retry(errors.describe(exc), delay=delay_ms) from exc


def _send_finished(claim, task, attempt):
    """``task_finished`` for a job this attempt ended, unless a take-over holds it now."""
    if attempt.job_status is not None:
        task_signals.send_finished(claim, task, attempt, status=attempt.job_status)


for _queue in queue_names():
    dramatiq.get_broker().declare_queue(_queue)
