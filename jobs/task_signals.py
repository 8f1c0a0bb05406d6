"""The tasks framework's signals, sent as a job moves: ``task_enqueued``, ``task_started``, ``task_finished``.

When each is sent: docs/tasks.md#signals.
"""

import functools
import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.dispatch import Signal
from django.utils.module_loading import import_string

from jobs.errors import UnknownTask
from jobs.models import Attempt, Job
from jobs.results import load_task, task_result
from jobs.tasks_api import Task, TaskResult, task_enqueued, task_finished, task_started

logger = logging.getLogger("jobs.signals")


def send_enqueued(result: TaskResult) -> None:
    """``task_enqueued`` for ``result``, a job its backend just recorded.

    Sent inside the caller's transaction: a rollback takes the job back, not the signal.
    """
    _send(task_enqueued, lambda: result)


def send_started(claim: Any, task: Task) -> None:
    """``task_started`` for the job of ``claim`` (a ``jobs.worker.tracking.Claim``), about to run ``task``.

    The result is built from what the worker holds: no query on a first attempt, one for
    the earlier attempts on a later one.
    """
    _send(task_started, lambda: _claimed_result(claim, task, ()))


def send_finished(
    claim: Any, task: Task, attempt: Attempt | SimpleNamespace, *, status: str, return_value: Any = None
) -> None:
    """``task_finished`` for the job of ``claim``, whose last ``attempt`` ended it with ``status``."""
    job = claim.job
    job.status, job.finished_at, job.worker_id, job.return_value = (
        status,
        attempt.finished_at,
        "",
        return_value,
    )
    _send(task_finished, lambda: _claimed_result(claim, task, (attempt,)))


def send_finished_of(job_id: int) -> None:
    """``task_finished`` for job ``job_id`` as its row stands (finished by a delivery that did not run it, or a cancel)."""

    def result() -> TaskResult | None:
        job = Job.objects.get(pk=job_id)
        try:
            task = load_task(job.task_path)
        except UnknownTask:
            return None  # no task to describe
        return task_result(job, backend=task.backend, task=task) if job.is_final else None

    _send(task_finished, result)


def _claimed_result(
    claim: Any, task: Task, this_attempt: tuple[Attempt | SimpleNamespace, ...]
) -> TaskResult:
    earlier = (
        []
        if claim.number == 1
        else list(Attempt.objects.filter(job_id=claim.job.pk, number__lt=claim.number))
    )
    return task_result(claim.job, backend=task.backend, task=task, attempts=[*earlier, *this_attempt])


def _send(signal: Signal, build_result: Callable[[], TaskResult | None]) -> None:
    """Send ``signal`` with the result ``build_result()`` gives (None: nothing to send); raise nothing.

    The sender is the class of the result's backend, as with the framework's own backends.
    ``send_robust`` logs a receiver that raises (the ``django.dispatch`` logger) and goes on:
    the job's guarantees hold whatever receivers do.
    """
    try:
        result = build_result()
        if result is not None:
            signal.send_robust(_backend_class(result.backend), task_result=result)
    except Exception:
        logger.exception("%s was not sent: the job's result could not be read", NAMES[signal])


def _backend_class(alias: str) -> type:
    """The class of backend ``alias``, read from settings (the worker sends two signals per task)."""
    return _imported(settings.TASKS[alias]["BACKEND"])


@functools.cache
def _imported(path: str) -> Any:
    return import_string(path)


NAMES = {task_enqueued: "task_enqueued", task_started: "task_started", task_finished: "task_finished"}
