"""The engine's housekeeping on the scheduler: pruning finished jobs (a scheduled task).

No delivery guarantee depends on it (the relay runs in
the workers, ``jobs.worker.middleware``). Schedules: docs/deployment.md#scheduled-maintenance.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from jobs.housekeeping import note_run
from jobs.schedules import schedule
from jobs.services import prune_finished_jobs
from jobs.tasks_api import task
from jobs.worker import actors  # noqa: F401 - declares run_task and the job queues in every process

logger = logging.getLogger("jobs.maintenance")

QUEUE = "maintenance"
# Daily, at a quiet hour (UTC); accounts.maintenance runs half an hour later, so they do not contend.
PRUNE_SCHEDULE = "15 3 * * *"


@schedule(cron=PRUNE_SCHEDULE)
@task()
def prune_old_jobs():
    """Delete the jobs finished more than ``JOBS_RETENTION_DAYS`` ago, with their attempts; return how many.

    The runs of schedules scheduled before then go too. ``0`` days keeps
    every job and run. Idempotent: a second run finds nothing to delete, and a run
    cut short has committed the batches it deleted. Notes its run (``jobs.housekeeping``).
    """
    if not settings.JOBS_RETENTION_DAYS:
        note_run("prune_old_jobs")
        return 0
    cutoff = timezone.now() - timedelta(days=settings.JOBS_RETENTION_DAYS)
    count = prune_finished_jobs(older_than=cutoff)
    logger.info("pruned %d job(s) finished before %s", count, cutoff.isoformat(timespec="seconds"))
    note_run("prune_old_jobs")
    return count
