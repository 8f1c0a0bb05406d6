"""Resending, pruning and a schedule's run: one function per action, for the admin, ``manage.py jobs``, the scheduler and code."""

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from jobs.enqueue.outbox import record_job
from jobs.models import Attempt, Job, ScheduleRun
from jobs.schedules import Schedule

logger = logging.getLogger("jobs.services")


class ResendRefused(Exception):
    """A resend that must not happen (the job succeeded, was already resent...)."""


def check_resendable(job: Job) -> None:
    """Raise :class:`ResendRefused` unless ``job`` may be run again."""
    if job.status == Job.Status.SUCCEEDED:
        raise ResendRefused(f"Job {job.pk} already succeeded.")
    if job.status != Job.Status.FAILED:
        raise ResendRefused(f"Job {job.pk} is {job.get_status_display().lower()}, not failed.")
    if job.resends.exists():
        raise ResendRefused(f"Job {job.pk} was already resent.")


@transaction.atomic
def resend_job(job: Job) -> Job:
    """Start a new job of the same task with the same arguments, linked to the failed ``job``.

    Enqueued by ``jobs.enqueue.outbox.record_job``, as ``task.enqueue()``
    enqueues a new one, in one transaction that locks the failed row first
    (``select_for_update``); raises :class:`ResendRefused`.
    The failed job and its attempts are kept as they are. The task decides
    again when it runs (an email goes to the account's address of then, or
    is not sent if the account is gone).
    """
    job = Job.objects.select_for_update().get(pk=job.pk)
    check_resendable(job)
    return record_job(
        task_path=job.task_path, queue_name=job.queue_name, args=job.args, kwargs=job.kwargs, resend_of=job
    )


def resendable_failed_jobs(*, since: datetime | None = None) -> QuerySet[Job]:
    """Failed jobs that a resend would run again: those not resent yet."""
    jobs = Job.objects.filter(status=Job.Status.FAILED, resends__isnull=True)
    if since is not None:
        jobs = jobs.filter(finished_at__gte=since)
    return jobs.order_by("id")


def resend_jobs(
    jobs: Iterable[Job], *, dry_run: bool = False
) -> tuple[list[tuple[Job, Job | None]], list[tuple[Job, str]]]:
    """Resend each of ``jobs`` in order, refusing those :func:`check_resendable` refuses.

    Returns ``(resent, refused)``: lists of ``(job, new job)`` (the new job is
    None in a dry run, which changes nothing) and ``(job, reason)``. The
    admin's button and action, ``manage.py jobs resend`` and
    :func:`resend_failed_jobs` all resend through here.
    """
    resent: list[tuple[Job, Job | None]] = []
    refused: list[tuple[Job, str]] = []
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


def resend_failed_jobs(
    *, since: datetime | None = None, limit: int | None = None, dry_run: bool = False
) -> tuple[list[tuple[Job, Job | None]], list[tuple[Job, str]]]:
    """Resend the resendable failed jobs (the oldest ``limit`` of them, or all); see :func:`resend_jobs`."""
    jobs = resendable_failed_jobs(since=since)
    return resend_jobs(jobs[:limit] if limit else jobs, dry_run=dry_run)


def prune_finished_jobs(*, older_than: datetime, dry_run: bool = False, batch_size: int = 1000) -> int:
    """Delete succeeded and failed jobs (and attempts) finished before ``older_than``.

    Queued, running and retrying jobs are never deleted. Deletes in batches of
    short transactions, so a large prune neither holds memory nor locks the
    table for long; then the schedule runs scheduled before ``older_than``
    (:func:`prune_schedule_runs`). Returns the count of jobs.
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
    prune_schedule_runs(older_than=older_than)
    return deleted


def run_schedule(schedule: Schedule, *, scheduled_at: datetime) -> ScheduleRun | None:
    """Enqueue the run of ``schedule`` for ``scheduled_at`` with ``task.enqueue()``; None if it has one already.

    The run's row and the job row are written in one transaction: the
    unique (schedule, time) constraint lets one of any number of schedulers
    firing the same tick commit; the others roll back, job row included, and
    nothing is published for them. The job is then like any other: the
    task's retries, its attempts, the admin, cancel.
    """
    try:
        with transaction.atomic():
            run = ScheduleRun.objects.create(schedule_name=schedule.name, scheduled_at=scheduled_at)
            result = schedule.task.enqueue()
            run.job = Job.objects.get(result_id=result.id)
            run.save(update_fields=["job"])
    except IntegrityError:
        logger.info("schedule %s at %s: enqueued already", schedule.name, scheduled_at.isoformat())
        return None
    logger.info("schedule %s at %s: job %s", schedule.name, scheduled_at.isoformat(), run.job_id)
    return run


def prune_schedule_runs(*, older_than: datetime) -> int:
    """Delete the runs of schedules scheduled before ``older_than`` (their jobs stay); return how many.

    A run row only guards its own tick against a second enqueue, so an old
    one guards nothing.
    """
    return ScheduleRun.objects.filter(scheduled_at__lt=older_than).delete()[0]
