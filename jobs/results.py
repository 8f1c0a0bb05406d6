"""A job row as Django's tasks framework sees it: a ``TaskResult``."""

import uuid
from collections.abc import Sequence
from types import SimpleNamespace

from django.utils.module_loading import import_string

from jobs.errors import JobCancelled, UnknownTask
from jobs.models import Attempt, Job
from jobs.tasks_api import (
    Task,
    TaskError,
    TaskResult,
    TaskResultStatus,
    set_return_value,
)

STATUSES: dict[str, TaskResultStatus] = {
    Job.Status.QUEUED: TaskResultStatus.READY,
    Job.Status.RETRYING: TaskResultStatus.READY,
    Job.Status.RUNNING: TaskResultStatus.RUNNING,
    Job.Status.SUCCEEDED: TaskResultStatus.SUCCESSFUL,
    Job.Status.FAILED: TaskResultStatus.FAILED,
    # The framework has no cancelled status: a cancelled job reads FAILED, with an error naming the cancel.
    Job.Status.CANCELLED: TaskResultStatus.FAILED,
}
CANCELLED_ERROR_CLASS = f"{JobCancelled.__module__}.{JobCancelled.__qualname__}"


def parse_result_id(value: object) -> uuid.UUID | None:
    """The UUID that ``value`` (a result id, as text or a UUID) spells, or None when it spells none.

    A result id comes from outside (a URL, a form, a shell), so anything may
    arrive here; nothing raises.
    """
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def load_task(task_path: str) -> Task:
    """The task at dotted path ``task_path``; :class:`UnknownTask` if there is none.

    When the path imports nothing, the ``ImportError`` that says why is the
    ``UnknownTask``'s ``__cause__``.
    """
    try:
        task = import_string(task_path)
    except ImportError as exc:
        raise UnknownTask(f"No task can be imported from {task_path!r} ({exc}).") from exc
    if not isinstance(task, Task):
        raise UnknownTask(f"{task_path!r} is not a task: decorate the function with @task.")
    return task


def task_result(
    job: Job,
    *,
    backend: str,
    task: Task | None = None,
    attempts: Sequence[Attempt | SimpleNamespace] | None = None,
) -> TaskResult:
    """The ``TaskResult`` of ``job`` (a full row), read from it and its attempts (``attempts``: known already).

    The row is the record: status, timestamps, one error per failed attempt, the workers that
    tried, and the return value. A job waiting for a retry is READY again, as the framework
    defines it ("ready to be executed again"). A cancelled job is FAILED, with one error naming
    the cancellation (:func:`errors_of`).
    """
    task = task or load_task(job.task_path)
    if task.queue_name != job.queue_name or task.run_after != job.run_after or task.backend != backend:
        task = task.using(queue_name=job.queue_name, run_after=job.run_after, backend=backend)
    attempts = list(job.attempts.all()) if attempts is None else attempts
    worker_ids = [attempt.worker_id for attempt in attempts]
    if job.status == Job.Status.RUNNING:
        worker_ids.append(job.worker_id)  # the attempt under way is written when it ends
    result = TaskResult(
        task=task,
        id=str(job.result_id),
        status=STATUSES[job.status],
        enqueued_at=job.created_at,
        started_at=attempts[0].started_at if attempts else job.claimed_at,
        finished_at=job.finished_at,
        last_attempted_at=job.last_attempt_at,
        args=job.args,
        kwargs=job.kwargs,
        backend=backend,
        errors=errors_of(job, attempts),
        worker_ids=worker_ids,
    )
    if job.status == Job.Status.SUCCEEDED:
        set_return_value(result, job.return_value)
    return result


def errors_of(job: Job, attempts: Sequence[Attempt | SimpleNamespace]) -> list[TaskError]:
    """One ``TaskError`` per failed attempt; for a job cancelled with no cancelled attempt, one naming the cancel."""
    errors = [
        TaskError(exception_class_path=attempt.error_class, traceback=attempt.traceback)
        for attempt in attempts
        if attempt.outcome in Attempt.FAILED_OUTCOMES
    ]
    if job.status == Job.Status.CANCELLED and not any(
        a.outcome == Attempt.Outcome.CANCELLED for a in attempts
    ):
        errors.append(
            TaskError(exception_class_path=CANCELLED_ERROR_CLASS, traceback=f"JobCancelled: {job.last_error}")
        )
    return errors
