"""The tasks framework's signals, sent as a job moves: ``task_enqueued``, ``task_started``, ``task_finished``.

- ``task_enqueued``: by ``enqueue()``, once the job row is written (in the
  caller's transaction: a rollback takes the job back, not the signal). A
  worker may already be running the job when it is sent.
- ``task_started``: by the worker, at each attempt, once it holds the claim
  and before the task runs (status RUNNING).
- ``task_finished``: by the worker, once the job's final outcome is recorded
  (SUCCESSFUL or FAILED, a poison job's included). An attempt that failed and
  will be retried sends none: the job is READY again. A job whose task path
  imports nothing sends no signal: there is no task to describe.

Each carries the job's ``TaskResult`` as the row stands, built from what the
worker holds: no query on a first attempt, one for the earlier attempts on a
later one. The sender is the backend's class, as with the framework's own
backends. A receiver that raises is logged (by ``send_robust``) and changes
nothing about the job: the guarantees hold whatever receivers do.
"""

import functools
import logging

from django.conf import settings
from django.utils.module_loading import import_string

from jobs.errors import UnknownTask
from jobs.models import Attempt, Job
from jobs.results import load_task, task_result
from jobs.tasks_api import task_enqueued, task_finished, task_started

logger = logging.getLogger("jobs.signals")


def send_enqueued(result):
    """``task_enqueued`` for ``result``, a job its backend just recorded."""
    _send(task_enqueued, lambda: result)


def send_started(claim, task):
    """``task_started`` for the job of ``claim`` (a ``jobs.worker.tracking.Claim``), about to run ``task``."""
    _send(task_started, lambda: _claimed_result(claim, task, ()))


def send_finished(claim, task, attempt, *, status, return_value=None):
    """``task_finished`` for the job of ``claim``, whose last ``attempt`` ended it with ``status``."""
    job = claim.job
    job.status, job.finished_at, job.claimed_by, job.return_value = (
        status,
        attempt.finished_at,
        "",
        return_value,
    )
    _send(task_finished, lambda: _claimed_result(claim, task, (attempt,)))


def send_finished_of(job_id):
    """``task_finished`` for job ``job_id`` as its row stands (finished by a delivery that did not run it)."""

    def result():
        job = Job.objects.get(pk=job_id)
        try:
            task = load_task(job.task_path)
        except UnknownTask:
            return None  # no task to describe
        return task_result(job, backend=task.backend, task=task) if job.is_final else None

    _send(task_finished, result)


def _claimed_result(claim, task, this_attempt):
    earlier = (
        []
        if claim.number == 1
        else list(Attempt.objects.filter(job_id=claim.job.pk, number__lt=claim.number))
    )
    return task_result(claim.job, backend=task.backend, task=task, attempts=[*earlier, *this_attempt])


def _send(signal, build_result):
    """Send ``signal`` with the result ``build_result()`` gives (None: nothing to send); raise nothing.

    The sender is the class of the result's backend. ``send_robust`` logs a
    receiver that raises (the ``django.dispatch`` logger) and goes on.
    """
    try:
        result = build_result()
        if result is not None:
            signal.send_robust(_backend_class(result.backend), task_result=result)
    except Exception:
        logger.exception("%s was not sent: the job's result could not be read", NAMES[signal])


def _backend_class(alias):
    """The class of backend ``alias``, read from settings (the worker sends two signals per task)."""
    return _imported(settings.TASKS[alias]["BACKEND"])


@functools.cache
def _imported(path):
    return import_string(path)


NAMES = {task_enqueued: "task_enqueued", task_started: "task_started", task_finished: "task_finished"}
