"""Resending, cancelling, pruning and a schedule's run: one function per action, for the admin, ``manage.py jobs``, the scheduler and code."""

import logging
from collections.abc import Iterable
from datetime import datetime
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from jobs.enqueue.outbox import record_job
from jobs.errors import JobCancelled
from jobs.models import Attempt, Job, ScheduleRun
from jobs.schedules import Schedule
from jobs.selectors import job_by_id
from jobs.task_signals import send_finished_of
from jobs.tasks_api import TaskResult
from jobs.worker.transitions import transition

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
    """Delete succeeded, failed and cancelled jobs (and attempts) finished before ``older_than``.

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


# Cancel ---------------------------------------------------------------------------------


class CancelRefused(Exception):
    """A cancel that cannot happen: there is no such job, or it has finished already."""


def cancel_job(*, job_id: object, by: str = "") -> Job:
    """Cancel job ``job_id`` (its result id, as ``enqueue()`` gave it, or its row number); the job row now.

    A queued, deferred or retrying job becomes CANCELLED at once and never
    runs: the claim refuses a cancelled row, so a message already on the
    broker is acknowledged and skipped. ``task_finished`` is sent after
    commit. A running job is marked for its worker, which interrupts the
    task within seconds (``jobs.worker.cancels``) and records the attempt
    and the job as cancelled; the row returned is still RUNNING, with
    ``cancel_requested_at`` set. ``by`` says who asked, for the record.

    Raises :class:`CancelRefused` for an unknown id, a finished job, or a
    running job whose cancel was asked already. One conditional UPDATE
    decides, so a cancel racing a worker's claim either keeps the job from
    running or reaches it running.
    """
    job = job_by_id(job_id) if isinstance(job_id, int | str) else None
    if job is None:
        raise CancelRefused(f"No job with id {job_id}.")
    now = timezone.now()
    with transaction.atomic():
        pending = {"status": Job.PENDING_STATUSES}
        reason = JobCancelled.reason(
            by, "before it ran" if job.attempt_count == 0 else "before its next attempt"
        )
        if transition(
            job.pk,
            Job.Status.CANCELLED,
            expect=pending,
            cancel_requested_at=now,
            cancelled_by=by,
            finished_at=now,
            last_error=reason,
        ):
            transaction.on_commit(partial(send_finished_of, job.pk))
        else:
            running = {"status": Job.Status.RUNNING, "cancel_requested_at": None}
            asked = transition(
                job.pk, Job.Status.RUNNING, expect=running, cancel_requested_at=now, cancelled_by=by
            )
            if not asked:
                job.refresh_from_db()
                raise CancelRefused(cancel_refusal(job) or f"Job {job.pk} could not be cancelled.")
    job.refresh_from_db()
    return job


def cancel_refusal(job: Job) -> str | None:
    """Why ``job`` may not be cancelled as it stands, or None if it may."""
    if job.status == Job.Status.RUNNING and job.cancel_requested_at is not None:
        return f"Job {job.pk} is being cancelled already: its worker is stopping it."
    if job.is_final:
        return f"Job {job.pk} already finished: it is {job.get_status_display().lower()}."
    return None


def cancel_jobs(job_ids: Iterable[object], *, by: str = "") -> tuple[list[Job], list[tuple[object, str]]]:
    """Cancel each of ``job_ids`` in order (see :func:`cancel_job`); ``(cancelled, refused)``.

    ``cancelled``: the job rows (CANCELLED, or RUNNING and being stopped);
    ``refused``: ``(job id, reason)``. The admin's button and action and
    ``manage.py jobs cancel`` all cancel through here.
    """
    cancelled, refused = [], []
    for job_id in job_ids:
        try:
            cancelled.append(cancel_job(job_id=job_id, by=by))
        except CancelRefused as exc:
            refused.append((job_id, str(exc)))
    return cancelled, refused


def cancel_result(result: TaskResult, *, by: str = "") -> Job:
    """Cancel the job of ``result``, a ``TaskResult`` that ``task.enqueue()`` returned; see :func:`cancel_job`.

    ``result.refresh()`` then reads FAILED once the job is cancelled, with an
    error whose ``exception_class`` is ``jobs.errors.JobCancelled``.
    """
    return cancel_job(job_id=result.id, by=by)


def cancel_message(job: Job) -> str:
    """What a cancel did to ``job`` (a row :func:`cancel_job` returned), in a sentence."""
    what = f"Job {job.pk} ({f'{job.task_name} {job.label}'.strip()})"
    if job.status == Job.Status.CANCELLED:
        return f"{what} cancelled: it will not run."
    return f"{what} is running: its worker stops it and records it cancelled."
