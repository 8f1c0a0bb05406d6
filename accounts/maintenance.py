"""The accounts app's housekeeping task, enqueued by the scheduler daily: expiring accounts never confirmed."""

import logging

from accounts.services import expire_unconfirmed_accounts
from jobs.housekeeping import note_run
from jobs.schedules import schedule
from jobs.tasks_api import task

logger = logging.getLogger("accounts.maintenance")

# Daily, at a quiet hour (UTC), half an hour after the jobs are pruned.
EXPIRE_SCHEDULE = "45 3 * * *"


@schedule(cron=EXPIRE_SCHEDULE)
@task()
def expire_unconfirmed():
    """Delete the accounts never confirmed within ``ACCOUNT_UNCONFIRMED_DAYS``; return how many.

    The body of ``manage.py expire_unconfirmed``. Idempotent: a second run
    finds nothing to delete.
    """
    count = expire_unconfirmed_accounts()
    logger.info("deleted %d never confirmed account(s)", count)
    note_run("expire_unconfirmed")
    return count
