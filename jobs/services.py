"""Resending, relaying and pruning jobs: one function per action.

The admin, ``manage.py jobs`` and the scheduled maintenance call these; a
resent job is enqueued by ``jobs.outbox.record_job``, as ``task.enqueue()``
enqueues a new one.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from jobs.liveness import claimant_is_dead, connected_workers
from jobs.models import Attempt, Job
from jobs.outbox import publish, record_job

logger = logging.getLogger("jobs.services")

# A queued or retrying job overdue by this long lost its message; the relay sends it again.
REQUEUE_AFTER_S = 900

Status = Job.Status


class ResendRefused(Exception):
    """A resend that must not happen (the job succeeded, was already resent...)."""


def check_resendable(job):
    """Raise :class:`ResendRefused` unless ``job`` may be run again."""
    if job.status == Status.SUCCEEDED:
        raise ResendRefused(f"Job {job.pk} already succeeded.")
    if job.status != Status.FAILED:
        raise ResendRefused(f"Job {job.pk} is {job.get_status_display().lower()}, not failed.")
    if job.resends.exists():
        raise ResendRefused(f"Job {job.pk} was already resent.")


@transaction.atomic
def resend_job(job):
    """Start a new job of the same task with the same arguments, linked to the failed ``job``.

    The failed job and its attempts are kept as they are. The task decides
    again when it runs (an email goes to the account's address of then, or
    is not sent if the account is gone).
    """
    job = Job.objects.select_for_update().get(pk=job.pk)
    check_resendable(job)
    return record_job(
        task_path=job.task_path, queue_name=job.queue_name, args=job.args, kwargs=job.kwargs, resend_of=job
    )


def resendable_failed_jobs(*, since=None):
    """Failed jobs that a resend would run again: those not resent yet."""
    jobs = Job.objects.filter(status=Status.FAILED, resends__isnull=True)
    if since is not None:
        jobs = jobs.filter(finished_at__gte=since)
    return jobs.order_by("id")


def resend_jobs(jobs, *, dry_run=False):
    """Resend each of ``jobs`` in order, refusing those :func:`check_resendable` refuses.

    Returns ``(resent, refused)``: lists of ``(job, new job)`` (the new job is
    None in a dry run, which changes nothing) and ``(job, reason)``. The
    admin's button and action, ``manage.py jobs resend`` and
    :func:`resend_failed_jobs` all resend through here.
    """
    resent, refused = [], []
    for job in jobs:
        try:
            if dry_run:
                check_resendable(job)
                resent.append((job, None))
            else:
                resent.append((job, resend_job(job)))
        except ResendRefused as exc:
            refused.append((job, str(exc)))
    return resent, refused


def resend_failed_jobs(*, since=None, limit=None, dry_run=False):
    """Resend the resendable failed jobs (the oldest ``limit`` of them, or all); see :func:`resend_jobs`."""
    jobs = resendable_failed_jobs(since=since)
    return resend_jobs(jobs[:limit] if limit else jobs, dry_run=dry_run)


def relay_unsent(*, now=None, limit=500):
    """Send to the broker the jobs it never got, lost or was never meant to hold; return their ids.

    Four kinds of job are relayed:
    - queued but never accepted by the broker (it was down at enqueue, or
      the job's ``run_after`` was too far off to hold), once due;
    - retrying after a back-off too long to hold in a worker, now due
      (``jobs.actors``: the job row schedules those, not a delayed message);
    - queued or retrying, and overdue by ``REQUEUE_AFTER_S`` (the message was lost);
    - running under a worker that died (:func:`relay_dead_claims`).
    Sending twice is harmless: the claim on the job row lets one delivery send.
    """
    now = now or timezone.now()
    never_sent = Job.objects.filter(
        status=Status.QUEUED, enqueued_at__isnull=True, created_at__lt=now - timedelta(seconds=2), due_at__lte=now
    )
    scheduled = Job.objects.filter(status=Status.RETRYING, enqueued_at__isnull=True, due_at__lte=now)
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


def dead_claims(*, now=None, limit=500):
    """Ids of running jobs whose worker died (``liveness.claimant_is_dead``), one look at Redis for all."""
    now = now or timezone.now()
    running = list(Job.objects.filter(status=Status.RUNNING).values_list("pk", "claimed_by", "claimed_at")[:limit])
    if not running:
        return []
    try:
        connected = connected_workers()
    except RedisError:
        connected = None
    return [pk for pk, worker, at in running if claimant_is_dead(worker, at, now, connected=connected)]


def relay_dead_claims(*, now=None, limit=500, skip=()):
    """Send again the jobs whose worker died while sending them, except those in ``skip``; return their ids.

    The relay runs this every second, so that a killed worker's email goes out
    within seconds; the next delivery takes the claim over (``jobs.tracking``).
    """
    return _relay([pk for pk in dead_claims(now=now, limit=limit) if pk not in skip])


def _relay(job_ids):
    relayed = []
    queues = dict(Job.objects.filter(pk__in=list(job_ids)).values_list("pk", "queue_name"))
    for job_id in job_ids:
        if job_id not in queues:
            continue  # pruned meanwhile
        if publish(job_id, queues[job_id], retries=_retries_so_far(job_id)) is None:
            break  # broker still down: try again next sweep
        Job.objects.filter(pk=job_id, status__in=Job.PENDING_STATUSES).update(due_at=timezone.now())
        relayed.append(job_id)
    if relayed:
        logger.info("relayed %d job(s) to the broker: %s", len(relayed), relayed[:20])
    return relayed


def _retries_so_far(job_id):
    """How many retries the job has had: its message carries the count, so the retry budget holds across relays."""
    return Attempt.objects.filter(job_id=job_id, outcome=Attempt.Outcome.RETRY).count()


def prune_finished_jobs(*, older_than, dry_run=False, batch_size=1000):
    """Delete succeeded and failed jobs (and attempts) finished before ``older_than``.

    Queued, running and retrying jobs are never deleted. Deletes in batches of
    short transactions, so a large prune neither holds memory nor locks the
    table for long. Returns the count.
    """
    jobs = Job.objects.filter(status__in=Job.FINAL_STATUSES, finished_at__lt=older_than)
    if dry_run:
        return jobs.count()
    deleted = 0
    while batch := list(jobs.values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            Job.objects.filter(resend_of__in=batch).update(resend_of=None)
            Attempt.objects.filter(job_id__in=batch).delete()
            deleted += Job.objects.filter(pk__in=batch).delete()[1].get(Job._meta.label, 0)
    return deleted
