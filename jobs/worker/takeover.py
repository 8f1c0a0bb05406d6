"""Taking over the job of a worker that died while running it: the lost attempt, and poison jobs."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobs import errors, logs
from jobs.models import Attempt, Job
from jobs.worker import liveness
from jobs.worker.transitions import CLAIMED_FIELDS, Increment, transition

# A job whose worker died this many times while running it is failed (a poison message).
MAX_LOST_ATTEMPTS = 3


@dataclass(frozen=True)
class GaveUp:
    """What :func:`claim_job` returns when its take-over ended the job unrun: FAILED as poison, or CANCELLED."""

    job_id: int


def take_over_from_dead_worker(
    job_id: int, taking: dict[str, Any], now: datetime
) -> tuple[Any, ...] | GaveUp | None:
    """Claim a job whose worker died while running it (a lost attempt); its claimed columns, None or GaveUp."""
    row = (
        Job.objects.filter(pk=job_id, status=Job.Status.RUNNING)
        .values("worker_id", "claimed_at", "message_id", "time_limit_ms")
        .first()
    )
    if row is None or not liveness.claimant_is_dead(
        row["worker_id"], row["claimed_at"], row["time_limit_ms"], now
    ):
        return None
    held = {"status": Job.Status.RUNNING, "worker_id": row["worker_id"], "claimed_at": row["claimed_at"]}
    claimed = transition(
        job_id,
        Job.Status.RUNNING,
        expect=held,
        returning=CLAIMED_FIELDS,
        **taking,
        lost_attempts=Increment(1),
    )
    if claimed is None:
        return None
    job = Job.objects.get(pk=job_id)
    Attempt.objects.bulk_create(
        [
            Attempt(
                job_id=job_id,
                number=job.attempt_count - 1,
                message_id=row["message_id"],
                worker_id=row["worker_id"],
                started_at=row["claimed_at"] or now,
                finished_at=now,
                outcome=Attempt.Outcome.LOST,
                error_class=f"{errors.WorkerLost.__module__}.{errors.WorkerLost.__qualname__}",
                error_message=f"The worker process {row['worker_id'] or '?'} died during this attempt.",
            )
        ],
        ignore_conflicts=True,
    )
    # Cancelled while its dead worker ran it, or a poison message: the lost attempt ends the job.
    cancelled = job.cancel_requested_at is not None
    if cancelled or job.lost_attempts >= MAX_LOST_ATTEMPTS:
        transition(
            job_id,
            Job.Status.CANCELLED if cancelled else Job.Status.FAILED,
            expect={"status": Job.Status.RUNNING},
            attempt_count=Increment(-1),
            worker_id="",
            finished_at=now,
            last_error=errors.JobCancelled.reason(job.cancelled_by, "while its worker ran it")
            if cancelled
            else (
                f"Gave up: the worker process died during {job.lost_attempts} attempts at "
                "this task. Check the worker logs for a crash while running it."
            ),
        )
        claimed = GaveUp(job_id)
    logs.log_lost_attempts(
        Attempt.objects.filter(job_id=job_id, outcome=Attempt.Outcome.LOST, finished_at=now), finished_at=now
    )
    return claimed
