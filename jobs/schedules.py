"""Schedules for any task: ``@schedule(cron=...)`` or ``@schedule(every=...)`` above a ``@task`` (see docs/tasks.md)."""

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.utils import timezone

from jobs.tasks_api import Task

# Interval ticks are counted from here, so every scheduler computes the same times.
INTERVAL_ORIGIN = datetime(1970, 1, 1, tzinfo=UTC)
# How far back a firing looks for the time it fires for: APScheduler runs a firing late by at most
# its misfire grace time (a second by default), or skips it.
TICK_LOOKBACK = timedelta(minutes=1)
DAYS_OF_WEEK = "Mon, Tue, Wed, Thu, Fri, Sat, Sun"


class InvalidSchedule(ValueError):
    """A schedule declaration that cannot work (raised when its module is imported)."""


@dataclass(frozen=True)
class Schedule:
    """A task and when it runs: ``cron`` (five fields) or ``every`` (an interval of whole seconds)."""

    name: str
    task: Task
    cron: str | None
    every: timedelta | None
    trigger: BaseTrigger

    @property
    def description(self) -> str:
        """What the admin shows: the cron expression, or "every N s"."""
        if self.every is None:
            return str(self.cron)
        return f"every {int(self.every.total_seconds())} s"

    def next_run(self, after: datetime | None = None) -> datetime | None:
        """The first scheduled time after ``after`` (default now)."""
        after = after or timezone.now()
        return self.trigger.get_next_fire_time(None, after + timedelta(microseconds=1))

    def tick(self, now: datetime | None = None) -> datetime | None:
        """The latest scheduled time at or before ``now`` within ``TICK_LOOKBACK``: the time a firing is for.

        Computed from the schedule alone, so two schedulers firing the same
        tick name the same time (and the database keeps one run of it).
        """
        now = now or timezone.now()
        latest = None
        candidate = self.trigger.get_next_fire_time(None, now - TICK_LOOKBACK)
        while candidate is not None and candidate <= now:
            latest = candidate
            candidate = self.trigger.get_next_fire_time(candidate, candidate + timedelta(microseconds=1))
        return latest


_schedules: dict[str, Schedule] = {}


def schedule(
    *, cron: str | None = None, every: timedelta | None = None, name: str | None = None
) -> Callable[[Task], Task]:
    """Decorator: run the ``@task`` below it on a schedule, as a job like any other::

        @schedule(cron="15 3 * * *")  # daily at 03:15 (TIME_ZONE)
        @task()
        def prune_old_jobs(): ...

    Give exactly one of ``cron`` (minute hour day-of-month month day-of-week,
    in ``TIME_ZONE``; days of week by name) or ``every`` (whole seconds, at
    least one; ticks fall on multiples of it since 1970-01-01 UTC). ``name``
    (default: the task's dotted path) keys the schedule's runs in the
    database. Raises :class:`InvalidSchedule` at import for any mistake. The
    jobs app imports every app's ``tasks`` and ``maintenance`` modules when
    Django starts (``jobs.apps``), so every process knows every schedule.
    """

    def declare(task: Task) -> Task:
        declare_schedule(task, cron=cron, every=every, name=name)
        return task

    return declare


def declare_schedule(
    task: Task, *, cron: str | None = None, every: timedelta | None = None, name: str | None = None
) -> Schedule:
    """Register ``task`` to run on a schedule (what ``@schedule`` does); the :class:`Schedule`."""
    if not isinstance(task, Task):
        raise InvalidSchedule(f"@schedule goes above @task: {task!r} is not a task.")
    name = name or task.module_path
    where = f"Schedule {name!r}"
    trigger: BaseTrigger
    if cron is not None and every is None:
        trigger = cron_trigger(cron, where)
    elif every is not None and cron is None:
        trigger = interval_trigger(every, where)
    else:
        raise InvalidSchedule(f"{where}: give cron=... or every=..., not both or neither.")
    check_takes_no_arguments(task, where)
    if name in _schedules and _schedules[name].task.module_path != task.module_path:
        raise InvalidSchedule(f"{where} is declared twice ({_schedules[name].task.module_path}).")
    _schedules[name] = Schedule(name=name, task=task, cron=cron, every=every, trigger=trigger)
    return _schedules[name]


def cron_trigger(cron: str, where: str) -> CronTrigger:
    """APScheduler's trigger for a five-field ``cron``; :class:`InvalidSchedule` naming ``where`` if it is wrong."""
    fields = str(cron).split()
    if len(fields) != 5:
        raise InvalidSchedule(
            f"{where}: cron {cron!r} must have 5 fields (minute hour day-of-month month day-of-week), "
            f"not {len(fields)}."
        )
    if any(char.isdigit() for char in fields[4]):
        # APScheduler 3 counts weekdays from Monday = 0, cron from Sunday = 0: a number would be misread.
        raise InvalidSchedule(f"{where}: cron {cron!r}: give the day of week by name ({DAYS_OF_WEEK}) or *.")
    try:
        return CronTrigger.from_crontab(cron, timezone=timezone.get_default_timezone())
    except ValueError as exc:
        raise InvalidSchedule(f"{where}: cron {cron!r} is not valid: {exc}.") from None


def interval_trigger(every: timedelta, where: str) -> IntervalTrigger:
    """A trigger every ``every`` (whole seconds, at least one), counted from ``INTERVAL_ORIGIN``."""
    if not isinstance(every, timedelta):
        raise InvalidSchedule(f"{where}: every must be a timedelta, not {every!r}.")
    if every < timedelta(seconds=1) or every.microseconds:
        raise InvalidSchedule(f"{where}: every={every!r} must be a whole number of seconds, at least one.")
    return IntervalTrigger(seconds=int(every.total_seconds()), start_date=INTERVAL_ORIGIN, timezone=UTC)


def check_takes_no_arguments(task: Task, where: str) -> None:
    """Raise :class:`InvalidSchedule` unless ``task`` can be called with no arguments (as a schedule calls it)."""
    needs_context = (None,) if task.takes_context else ()
    try:
        inspect.signature(task.func).bind(*needs_context)
    except TypeError as exc:
        raise InvalidSchedule(f"{where}: a scheduled task is called with no arguments ({exc}).") from None


def declared_schedules() -> list[Schedule]:
    """Every schedule declared so far, by name."""
    return [_schedules[name] for name in sorted(_schedules)]


def get_schedule(name: str) -> Schedule:
    """The schedule called ``name``; ``KeyError`` if none is declared."""
    return _schedules[name]


def forget_schedule(name: str) -> None:
    """Drop the declaration called ``name`` (tests that declare schedules of their own clean up with it)."""
    _schedules.pop(name, None)
