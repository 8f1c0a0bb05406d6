"""The engine's housekeeping on the scheduler: the relay sweep (an actor) and pruning finished jobs (a scheduled task).

Schedules and guarantees: docs/deployment.md#scheduled-maintenance.
"""

import logging
from datetime import timedelta

import dramatiq
from django.conf import settings
from django.utils import timezone
from dramatiq_crontab import interval

from jobs.enqueue.outbox import relay_sweep
from jobs.schedules import schedule
from jobs.services import prune_finished_jobs
from jobs.tasks_api import task
from jobs.worker import actors  # noqa: F401 - declares the job queues, so the dead-worker pass covers them
from jobs.worker.middleware import relay_lock_key, take_lock

logger = logging.getLogger("jobs.maintenance")

QUEUE = "maintenance"
# Daily, at a quiet hour (UTC); accounts.maintenance runs half an hour later, so they do not contend.
PRUNE_SCHEDULE = "15 3 * * *"


@interval(seconds=settings.JOBS_RELAY_INTERVAL_S)
@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def run_relay_sweep():
    """Run :func:`relay_sweep`, at most once per ``JOBS_RELAY_INTERVAL_S`` for the whole site.

    The scheduler sends one message per interval. A Redis lock still guards
    the sweep, so that messages piled up while no worker ran, or sent by two
    schedulers during a hand-over of the scheduler's lock, sweep once. Not
    retried: the next interval is the retry.
    """
    broker = dramatiq.get_broker()
    if not take_lock(broker, relay_lock_key(broker), settings.JOBS_RELAY_INTERVAL_S):
        return []
    return relay_sweep(broker)


@schedule(cron=PRUNE_SCHEDULE)
@task()
def prune_old_jobs():
    """Delete the jobs finished more than ``JOBS_RETENTION_DAYS`` ago, with their attempts; return how many.

    The runs of schedules scheduled before then go too. ``0`` days keeps
    every job and run. Idempotent: a second run finds nothing to delete, and a run
    cut short has committed the batches it deleted.
    """
    if not settings.JOBS_RETENTION_DAYS:
        return 0
    cutoff = timezone.now() - timedelta(days=settings.JOBS_RETENTION_DAYS)
    count = prune_finished_jobs(older_than=cutoff)
    logger.info("pruned %d job(s) finished before %s", count, cutoff.isoformat(timespec="seconds"))
    return count
