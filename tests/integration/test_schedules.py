"""Two real schedulers fire the same two-second schedule: one job per tick, run by a real worker, shown in the admin.

Real parts: two ``manage.py scheduler`` processes without their Redis lock (as
during a hand-over to a holder that was paused past the lock's expiry: both
fire every tick), a ``rundramatiq`` worker, the suite's redis-server (or
rabbitmq-server), and SQLite or PostgreSQL (``--postgres``).
"""

import re
from datetime import datetime

import pytest
from django.urls import reverse

from jobs.models import Job, ScheduleRun
from tests.support.scheduled import tasks as scheduled
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

NAME = scheduled.every_two_seconds.module_path
FIRED = re.compile(rf"schedule {re.escape(NAME)} at (\S+): (job \d+|enqueued already)")
TICKS = 4


def fired(process):
    """``{tick: what this scheduler did}`` from its log: it enqueued job N, or found the tick enqueued already."""
    return {datetime.fromisoformat(at): outcome for at, outcome in FIRED.findall(process.output())}


def test_two_schedulers_firing_every_tick_enqueue_one_job_per_tick(live_env, processes, admin_client):
    env = {**live_env, "HERALD_TEST_SCHEDULES": "true", "HERALD_SCHEDULER_LOCK": "off"}
    processes.worker(live_env)
    schedulers = [processes.scheduler(env, name=f"scheduler-{n}") for n in (1, 2)]

    def ticks_both_fired():
        one, two = (fired(scheduler) for scheduler in schedulers)
        both = sorted(set(one) & set(two))
        return both if len(both) >= TICKS else None

    wait_until(ticks_both_fired, 60, f"{TICKS} ticks fired by both schedulers")
    for scheduler in schedulers:
        scheduler.stop()
    one, two = (fired(scheduler) for scheduler in schedulers)
    both = sorted(set(one) & set(two))
    print(f"{len(both)} ticks fired by both schedulers, {len(set(one) | set(two))} by either")

    runs = {run.scheduled_at: run for run in ScheduleRun.objects.filter(schedule_name=NAME)}
    assert set(runs) == set(one) | set(two)  # every tick fired has its run, and no other run exists
    for tick in both:
        assert sorted([one[tick].startswith("job"), two[tick].startswith("job")]) == [False, True], tick
    jobs = Job.objects.filter(task_path=NAME)
    assert sorted(jobs.values_list("pk", flat=True)) == sorted(run.job_id for run in runs.values())
    wait_until(
        lambda: not jobs.exclude(status=Job.Status.SUCCEEDED).exists(), 30, "the worker ran every tick's job"
    )
    assert set(jobs.values_list("return_value", flat=True)) == {"tick"}

    page = admin_client.get(reverse("admin:jobs_schedules")).content.decode()
    row = page[page.index(f'data-schedule="{NAME}"') :].split("</tr>")[0]
    last = runs[max(runs)]
    assert "every 2 s" in row and reverse("admin:jobs_job_change", args=[last.job_id]) in row
    assert "Succeeded" in row
