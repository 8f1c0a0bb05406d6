"""Housekeeping on a schedule (jobs.maintenance): what runs when, and what each task does."""

from datetime import UTC, datetime, timedelta

from dramatiq_crontab import scheduler

from accounts import maintenance as account_maintenance
from jobs import maintenance
from jobs.schedules import declared_schedules


def test_the_scheduler_sends_no_relay_sweep():
    """The relay runs in the workers: the scheduler has housekeeping only."""
    assert "run_relay_sweep" not in {job.name for job in scheduler.get_jobs()}


def test_prune_and_expiry_are_task_schedules_daily_at_a_quiet_hour():
    found = {declared.name: declared for declared in declared_schedules()}
    midnight = datetime(2026, 1, 5, tzinfo=UTC)
    for task, at in (
        (maintenance.prune_old_jobs, (3, 15)),
        (account_maintenance.expire_unconfirmed, (3, 45)),
    ):
        declared = found[task.module_path]
        assert declared.task is task
        first = declared.next_run(midnight)
        assert first == midnight.replace(hour=at[0], minute=at[1])
        assert declared.next_run(first) == first + timedelta(days=1)
