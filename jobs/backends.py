"""A ``django.tasks`` backend that runs tasks on Dramatiq with Herald's guarantees.

::

    TASKS = {"default": {"BACKEND": "jobs.backends.DramatiqTaskBackend", "QUEUES": ["default", "emails"]}}

``task.enqueue()`` writes a job row in the caller's transaction and publishes
its message when that transaction commits (outside one, at once); a message
the broker never got is relayed; a worker runs the task only after claiming
the row, so it runs once; failures are retried as the task's retry policy
says (``jobs.errors.retry_policy``), every attempt is kept, and a job whose
worker died is taken over within seconds. ``get_result(id)`` reads the row.

``run_after`` is supported (a Dramatiq delay, or the relay for a far one).
Priority is not: Dramatiq orders messages by queue, not by a per-message
priority on Redis. Use a queue of its own for urgent tasks.
"""

from django.conf import settings

from jobs.enqueue.outbox import record_job
from jobs.models import Job
from jobs.results import task_result
from jobs.task_signals import send_enqueued
from jobs.tasks_api import BaseTaskBackend, TaskResultDoesNotExist, normalize_json, task_backends


class DramatiqTaskBackend(BaseTaskBackend):
    """``OPTIONS``: ``PUBLISH_IN_BACKGROUND`` (default True): a thread of this process publishes
    the message after commit (``jobs.enqueue.handoff``), so the caller does not wait on the broker."""

    supports_defer = True
    supports_get_result = True
    supports_async_task = False
    supports_priority = False

    def __init__(self, alias, params):
        super().__init__(alias, params)
        self.publish_in_background = self.options.get("PUBLISH_IN_BACKGROUND", True)

    def enqueue(self, task, args, kwargs):
        """Record the job and publish it after commit; return its result (READY)."""
        self.validate_task(task)
        job = record_job(
            task_path=task.module_path,
            queue_name=task.queue_name,
            args=normalize_json(args),
            kwargs=normalize_json(kwargs),
            run_after=task.run_after,
            background=self.publish_in_background,
        )
        result = task_result(job, backend=self.alias, task=task, attempts=[])  # a new job has none
        send_enqueued(result)
        return result

    def get_result(self, result_id):
        """The result of job ``result_id``, read from its row and attempts now."""
        try:
            job = Job.objects.get(pk=int(result_id))
        except (ValueError, TypeError, OverflowError, Job.DoesNotExist):
            raise TaskResultDoesNotExist(result_id) from None
        return task_result(job, backend=self.alias)


def queue_names():
    """Every queue a Herald backend in ``TASKS`` may publish to (a worker consumes them all)."""
    names = {"default"}
    for alias in settings.TASKS:
        backend = task_backends[alias]
        if isinstance(backend, DramatiqTaskBackend):
            names |= backend.queues
    return sorted(names)
