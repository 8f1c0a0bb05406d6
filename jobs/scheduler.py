"""The declared schedules on dramatiq-crontab's scheduler, which ``manage.py scheduler`` runs."""

import logging

from django.db import DatabaseError, connections
from django.utils import timezone
from dramatiq_crontab import scheduler

from jobs.schedules import declared_schedules, get_schedule
from jobs.services import run_schedule

logger = logging.getLogger("jobs.scheduler")

# The scheduler's name for a schedule's entry (its own entries are named after actors).
ENTRY_PREFIX = "schedule:"


def add_schedules_to_scheduler() -> None:
    """Put every declared schedule on dramatiq-crontab's scheduler (again: an entry is replaced, not doubled).

    Called by the jobs app when Django starts, in every process; only
    ``manage.py scheduler`` starts the scheduler, so only there do they fire.
    """
    for declared in declared_schedules():
        scheduler.add_job(
            fire,
            declared.trigger,
            args=(declared.name,),
            id=ENTRY_PREFIX + declared.name,
            name=ENTRY_PREFIX + declared.name,
            replace_existing=True,
        )


def fire(name: str) -> None:
    """Enqueue the run of schedule ``name`` for the tick just reached; log, never raise.

    Runs in a thread of the scheduler. The tick is computed from the
    schedule alone and ``run_schedule`` keeps one run per tick in the
    database, so two schedulers firing together (a hand-over, a holder paused
    past its Redis lock's expiry) enqueue one job. A database error is logged
    and the tick is missed (the next one runs); the scheduler keeps going.
    """
    declared = get_schedule(name)
    tick = declared.tick(timezone.now())
    if tick is None:
        logger.warning("schedule %s fired with no scheduled time in the last minute; skipped", name)
        return
    try:
        run_schedule(declared, scheduled_at=tick)
    except DatabaseError:
        logger.exception("schedule %s at %s not enqueued: database error", name, tick.isoformat())
    finally:
        connections.close_all()  # this thread's connections: the next firing may come in an hour
