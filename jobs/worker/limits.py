"""Time limits: each task's own (its ``retry_policy``), or the workers' ``JOBS_TIME_LIMIT_S``.

A task's own limit is read once, when the job is recorded
(:func:`time_limit_ms_of`), and kept on the job row (``Job.time_limit_ms``).
Every message of the job carries it as Dramatiq's own ``time_limit`` message
option (``jobs.enqueue.outbox.publish``), which Dramatiq's TimeLimit
middleware honours; the dead-worker rule reads it from the row, so that a
worker running a task within that task's own limit is never taken for dead
(``jobs.worker.liveness.claimant_is_dead``). A task with no limit of its own
has none on its row or message: the workers' ``JOBS_TIME_LIMIT_S`` applies,
the run_task actor's default.

A task past its limit is interrupted by an async exception,
``TimeLimitExceeded``, raised in its thread within a tenth of a second
(``jobs.worker.middleware.TaskTimeLimit``); a task blocked in C code (a socket
read without a timeout) is interrupted when it returns to Python.
"""

from jobs.errors import UnknownTask, policy_for
from jobs.results import load_task


def time_limit_ms_of(task_path: str) -> int | None:
    """The time limit (ms) the task at ``task_path`` declares, or None (``JOBS_TIME_LIMIT_S`` applies).

    A path that imports nothing declares none: its attempt fails at once anyway.
    """
    try:
        task = load_task(task_path)
    except UnknownTask:
        return None
    limit_s = policy_for(task).time_limit_s
    return None if limit_s is None else int(limit_s * 1000)
