"""The ``django.tasks`` backend that runs tasks on Dramatiq: ``DramatiqTaskBackend`` (see docs/tasks.md)."""

from typing import Any

from django.conf import settings

from jobs.enqueue.outbox import record_job, record_keyed_job
from jobs.keys import key_for
from jobs.models import Job
from jobs.results import parse_result_id, task_result
from jobs.task_signals import send_enqueued
from jobs.tasks_api import (
    DEFAULT_TASK_PRIORITY,
    BaseTaskBackend,
    InvalidTask,
    Task,
    TaskResult,
    TaskResultDoesNotExist,
    normalize_json,
    task_backends,
)

# Why a priority is refused rather than ignored: a Redis queue is a list served
# in order, and a RabbitMQ queue orders by priority only when declared with
# x-max-priority, which Dramatiq's queues are not. No sound way on both brokers.
PRIORITY_REFUSED = (
    "Herald's task backend does not support priority: its brokers serve each queue in order "
    "(Redis lists; RabbitMQ queues without x-max-priority). Give urgent tasks a queue of their own "
    "(queue_name=...) and a worker that serves it (manage.py rundramatiq --queues NAME)."
)


class DramatiqTaskBackend(BaseTaskBackend):
    """Tasks as job rows, published to Dramatiq after the caller's transaction commits.

    ``TASKS = {"default": {"BACKEND": "jobs.backends.DramatiqTaskBackend", "QUEUES": ["default", "emails"]}}``

    ``OPTIONS``: ``PUBLISH_IN_BACKGROUND`` (default True): a thread of this process publishes
    the message after commit (``jobs.enqueue.handoff``), so the caller does not wait on the broker.

    Supports ``run_after`` (a Dramatiq delay, or the relay for a far one); refuses a
    priority (:data:`PRIORITY_REFUSED`): give urgent tasks a queue of their own and a
    worker for it (``rundramatiq --queues``).
    An ``async def`` task runs on the worker as a plain one does, claim, retries and all:
    the worker thread runs it to the end in an event loop of its own (the framework's
    ``Task.call``, ``async_to_sync``).
    """

    supports_defer = True
    supports_get_result = True
    supports_async_task = True
    supports_priority = False

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.publish_in_background = self.options.get("PUBLISH_IN_BACKGROUND", True)

    def validate_task(self, task: Task) -> None:
        """The framework's checks; a task given a priority is refused with :data:`PRIORITY_REFUSED`."""
        if task.priority != DEFAULT_TASK_PRIORITY:
            raise InvalidTask(PRIORITY_REFUSED)
        super().validate_task(task)

    def enqueue(self, task: Task, args: tuple[Any, ...], kwargs: dict[str, Any]) -> TaskResult:
        """Record the job in the caller's transaction and publish it after commit; return its result (READY).

        Outside a transaction the publish happens at once. Sends ``task_enqueued`` once the row is
        written; raises ``InvalidTask`` for a task this backend cannot run (a priority, an unknown queue).

        A task with a job key (``jobs.keys``) whose key a waiting job holds
        gets that job's result instead: nothing is written or published, and
        no ``task_enqueued`` is sent.
        """
        self.validate_task(task)
        args, kwargs = normalize_json(args), normalize_json(kwargs)
        job = {
            "task_path": task.module_path,
            "queue_name": task.queue_name,
            "args": args,
            "kwargs": kwargs,
            "run_after": task.run_after,
            "background": self.publish_in_background,
        }
        unique_key = key_for(task, args, kwargs)
        if unique_key:
            row, written = record_keyed_job(unique_key=unique_key, **job)
        else:
            row, written = record_job(**job), True
        if not written:
            return task_result(row, backend=self.alias)
        result = task_result(row, backend=self.alias, task=task, attempts=[])  # a new job has none
        send_enqueued(result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        """The result whose id is ``result_id`` (the job's ``result_id``), read from its row and attempts now.

        Anything that is not the id of a job, a malformed one included,
        raises ``TaskResultDoesNotExist``.
        """
        parsed = parse_result_id(result_id)
        job = None if parsed is None else Job.objects.filter(result_id=parsed).first()
        if job is None:
            raise TaskResultDoesNotExist(result_id)
        return task_result(job, backend=self.alias)


def queue_names() -> list[str]:
    """Every queue a Herald backend in ``TASKS`` may publish to (a worker consumes them all)."""
    names = {"default"}
    for alias in settings.TASKS:
        backend = task_backends[alias]
        if isinstance(backend, DramatiqTaskBackend):
            names |= backend.queues
    return sorted(names)
