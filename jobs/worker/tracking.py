"""Every status change of a running job: the claim, then the record of how the attempt ended."""

import time
import traceback as tb
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, TypeVar, cast

from django.db import OperationalError, transaction
from django.utils import timezone

from jobs import errors, logs
from jobs.models import Attempt, Job
from jobs.worker import writer
from jobs.worker.takeover import MAX_LOST_ATTEMPTS, GaveUp, take_over_from_dead_worker
from jobs.worker.transitions import CLAIMED_FIELDS, Increment, claimed_job, transition, write_outcome

__all__ = ["MAX_LOST_ATTEMPTS", "Claim", "GaveUp", "claim_job", "record_failure", "record_success"]

T = TypeVar("T")

DB_WRITE_TRIES = 8


@dataclass
class Claim:
    """A job held by this delivery; its attempt row is written once, when the attempt ends."""

    job: Job
    worker_id: str
    message_id: str
    started_at: datetime
    started: float

    @property
    def number(self) -> int:
        return self.job.attempt_count


def with_db_retry(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a write, retrying a few times when the database is busy ("database is locked").

    Writes are short transactions, so that a burst of worker threads on SQLite loses none of them.
    """
    for n in range(DB_WRITE_TRIES):
        try:
            return fn(*args, **kwargs)
        except OperationalError:
            if n == DB_WRITE_TRIES - 1:
                raise
            time.sleep(0.05 * 2**n)
    raise AssertionError("unreachable: the last try returns or raises")


def claim_job(
    job_id: int, *, worker_id: str, message_id: str, first_hand: bool = False
) -> Claim | GaveUp | None:
    """Take the job for this worker; None if another delivery owns it or it is finished.

    The claim is one conditional UPDATE (:func:`~jobs.worker.transitions.transition`), so of
    two deliveries of one message exactly one gets the row and the other does nothing. On
    PostgreSQL the UPDATE takes the row lock and re-checks its WHERE clause after any
    concurrent writer commits: what ``SELECT ... FOR UPDATE SKIP LOCKED`` would give, in one
    statement.

    A job is claimable when it is queued or retrying, or when it is running
    under a worker that has died. Taking over from a dead worker counts a lost
    attempt; after ``MAX_LOST_ATTEMPTS`` the job is failed instead of sent
    again (a message that kills its worker must not loop forever), and
    :class:`GaveUp` is returned. With
    ``first_hand`` only a queued or retrying job that never lost an attempt is
    claimed: the common case, which needs no other look at the row, and goes through the
    process's writer (``jobs.worker.writer``) with the other threads' writes.
    """
    return with_db_retry(
        _claim_job, job_id, worker_id=worker_id, message_id=message_id, first_hand=first_hand
    )


def _claim_job(job_id: int, *, worker_id: str, message_id: str, first_hand: bool) -> Claim | GaveUp | None:
    now = timezone.now()
    taking = {
        "worker_id": worker_id,
        "claimed_at": now,
        "attempt_count": Increment(1),
        "last_attempt_at": now,
        "message_id": message_id,
    }
    if first_hand:
        # The common case, batched with the other threads' writes.
        row = writer.write(_claim_pending, job_id, taking, {"lost_attempts": 0})
    else:
        with transaction.atomic():
            row = _claim_pending(job_id, taking, {}) or take_over_from_dead_worker(job_id, taking, now)
    if row is None or isinstance(row, GaveUp):
        return row  # another delivery holds it or it is finished; or this take-over failed it as poison
    job = claimed_job(row)
    # What the claim wrote, so that the job reads as its row does (without a query).
    job.worker_id, job.claimed_at, job.last_attempt_at, job.message_id = worker_id, now, now, message_id
    job.finished_at = None  # a claimable job has not finished
    return Claim(
        job=job, worker_id=worker_id, message_id=message_id, started_at=now, started=time.monotonic()
    )


def _claim_pending(job_id: int, taking: dict[str, Any], expect: dict[str, Any]) -> tuple[Any, ...] | None:
    """Claim a queued or retrying job; its claimed columns, or None."""
    pending = {"status": Job.PENDING_STATUSES, **expect}
    return transition(job_id, Job.Status.RUNNING, expect=pending, returning=CLAIMED_FIELDS, **taking)


def is_suspect(job_id: int) -> bool:
    """True when the job's last worker died while running it (or its claim is about to be taken over)."""
    row = Job.objects.filter(pk=job_id).values_list("status", "lost_attempts").first()
    return row is not None and (row[1] > 0 or row[0] == Job.Status.RUNNING)


def record_success(claim: Claim, return_value: Any) -> SimpleNamespace:
    """Mark the attempt and the job succeeded, keeping what the task returned; the attempt written."""
    return with_db_retry(
        _finish,
        claim,
        outcome=Attempt.Outcome.SUCCEEDED,
        status=Job.Status.SUCCEEDED,
        return_value=return_value,
    )


def record_ran_earlier(job_id: int, return_value: Any) -> None:
    """Mark succeeded a job whose task an earlier delivery ran but could not record."""
    with_db_retry(_record_ran_earlier, job_id, return_value)


def _record_ran_earlier(job_id: int, return_value: Any) -> None:
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.filter(pk=job_id).exclude(status__in=Job.FINAL_STATUSES).first()
        if job is None:
            return
        Attempt.objects.bulk_create(
            [
                Attempt(
                    job=job,
                    number=job.attempt_count,
                    message_id=job.message_id,
                    worker_id=job.worker_id,
                    started_at=job.claimed_at or now,
                    finished_at=now,
                    outcome=Attempt.Outcome.SUCCEEDED,
                    return_value=return_value,
                )
            ],
            ignore_conflicts=True,
        )
        transition(
            job_id,
            Job.Status.SUCCEEDED,
            expect={"status": (Job.Status.QUEUED, Job.Status.RUNNING, Job.Status.RETRYING)},
            return_value=return_value,
            finished_at=now,
            worker_id="",
        )


def record_failure(
    claim: Claim,
    exc: BaseException,
    *,
    retry_in_ms: int | None = None,
    held: bool = True,
    cancelled_by: str = "",
) -> SimpleNamespace:
    """Record a failed attempt: the job is retrying in ``retry_in_ms``, or (None) failed; the attempt written.

    ``held``: a worker holds the retry as a delayed message. Otherwise the job
    row schedules it: due then, with no message on the broker, and the relay
    sends it (``jobs.enqueue.outbox.relay_unsent``). An attempt a cancel
    interrupted (``exc`` a ``JobCancelled``; ``cancelled_by`` who asked) ends the job
    cancelled; so does a retry after a cancel was asked (``attempt.job_status``: the job's status).
    """
    fields = {
        "error_class": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "error_message": errors.describe(exc),
        "smtp_reply": errors.smtp_reply(exc),
        "traceback": "".join(tb.format_exception(exc, limit=30)),
    }
    if isinstance(exc, errors.JobCancelled):
        fields["error_message"] = errors.JobCancelled.reason(cancelled_by, "while it ran")
        return with_db_retry(
            _finish, claim, outcome=Attempt.Outcome.CANCELLED, status=Job.Status.CANCELLED, **fields
        )
    if retry_in_ms is None:
        return with_db_retry(
            _finish, claim, outcome=Attempt.Outcome.FAILED, status=Job.Status.FAILED, **fields
        )
    return with_db_retry(
        _finish,
        claim,
        outcome=Attempt.Outcome.RETRY,
        status=Job.Status.RETRYING,
        retry_in_ms=retry_in_ms,
        held=held,
        **fields,
    )


def _finish(
    claim: Claim,
    *,
    outcome: str,
    status: str,
    return_value: Any = None,
    smtp_reply: str = "",
    error_class: str = "",
    error_message: str = "",
    traceback: str = "",
    retry_in_ms: int | None = None,
    held: bool = True,
) -> SimpleNamespace:
    now = timezone.now()
    duration_ms = int((time.monotonic() - claim.started) * 1000)
    job_fields = {"worker_id": "", "return_value": return_value}
    if status == Job.Status.RETRYING:
        job_fields["due_at"] = now + timedelta(milliseconds=cast(int, retry_in_ms))
        if not held:
            job_fields.update(enqueued_at=None, message_id="")  # no message: the relay sends it when due
    else:
        job_fields["finished_at"] = now
    if error_message:
        job_fields.update(last_error=error_message, last_traceback=traceback)
    attempt = SimpleNamespace(
        job_id=claim.job.pk,
        number=claim.number,
        message_id=claim.message_id,
        worker_id=claim.worker_id,
        started_at=claim.started_at,
        finished_at=now,
        duration_ms=duration_ms,
        outcome=outcome,
        return_value=return_value,
        smtp_reply=smtp_reply,
        error_class=error_class,
        error_message=error_message,
        traceback=traceback,
    )
    attempt.job_status = writer.write(write_outcome, attempt, status, job_fields, claim.job.unique_key)
    logs.log_attempt(attempt, outcome=attempt.outcome, duration_ms=duration_ms, error_class=error_class)
    return attempt
