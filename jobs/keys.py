"""One job per key: a task may declare a key, a function of its arguments, with :func:`job_key`.

While a job of that task with that key waits (queued, deferred or retrying),
enqueueing it again returns that job's result instead of writing a new job.
Once the job runs or finishes, the next enqueue writes a new one. The
database keeps the promise, not a read before the write: a unique constraint
on (task, key) over waiting jobs (``job_one_waiting_per_key``), so
concurrent enqueues cannot both insert (``jobs.enqueue.outbox.record_keyed_job``).
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from jobs.models import Job
from jobs.tasks_api import InvalidTask, Task

F = TypeVar("F", bound=Callable[..., Any])

MAX_KEY_LENGTH = cast(int, Job._meta.get_field("unique_key").max_length)


def job_key(key: Callable[..., object]) -> Callable[[F], F]:
    """Decorator: the task function below it keeps one waiting job per ``key(*args, **kwargs)``.

    Put it under ``@task``::

        @task()
        @job_key(lambda user_id: f"digest:{user_id}")
        def send_digest(user_id): ...

    ``key`` takes the task's arguments (without the context) as the task
    gets them, JSON values, and returns a non-empty text of at most 200
    characters. A key that is not callable fails at import. On another
    ``django.tasks`` backend the declaration is ignored.
    """
    if not callable(key):
        raise TypeError(f"job_key takes a function of the task's arguments, not {key!r}")

    def declare(func: F) -> F:
        func.job_key = key  # type: ignore[attr-defined]
        return func

    return declare


def key_for(task: Task, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """The key of a job of ``task`` with ``args`` and ``kwargs`` (JSON values); '' when it declares none.

    Raises ``InvalidTask`` when the declared key function gives no text, or one too long.
    """
    make = getattr(task.func, "job_key", None)
    if make is None:
        return ""
    key = make(*args, **kwargs)
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidTask(
            f"The job key of {task.module_path} must be a text of 1 to {MAX_KEY_LENGTH} characters, "
            f"not {key!r}."
        )
    return key
