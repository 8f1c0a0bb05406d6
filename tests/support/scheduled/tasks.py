"""A task on a two-second schedule, declared as any app declares one: ``@schedule`` on ``@task``.

The jobs app imports this module at start in the processes where
``tests.support.scheduled`` is installed (``HERALD_TEST_SCHEDULES``, tests/settings.py),
so their scheduler fires it; a worker imports it when it runs the job.
"""

from datetime import timedelta

from jobs.schedules import schedule
from jobs.tasks_api import task

EVERY = timedelta(seconds=2)


@schedule(every=EVERY)
@task()
def every_two_seconds():
    """Return what a run returns: a constant, so the admin has something to show."""
    return "tick"
