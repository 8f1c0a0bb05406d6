"""Time limits with real ``rundramatiq`` processes: each task's own, or the workers' ``JOBS_TIME_LIMIT_S``.

Tasks from ``tests.support.taskfns``, against the suite's redis-server (or
rabbitmq-server with --broker rabbitmq).
"""

import time

import pytest

from jobs.models import Attempt, Job
from tests.support import taskfns
from tests.support.waiting import wait_until

pytestmark = pytest.mark.reliability

TIME_LIMIT_ERROR = "dramatiq.middleware.time_limit.TimeLimitExceeded"


def finished(result_id):
    return Job.objects.get(result_id=result_id).status in Job.FINAL_STATUSES


def test_a_task_past_the_default_limit_is_interrupted_and_failed_without_a_retry(live_env, processes):
    live_env["JOBS_TIME_LIMIT_S"] = "3"
    processes.worker(live_env)

    result = taskfns.run_for.enqueue(10)
    wait_until(lambda: finished(result.id), 30, "the task ended")
    time.sleep(1)  # a retry, were there one, would be under way

    job = Job.objects.get(result_id=result.id)
    [attempt] = Attempt.objects.filter(job=job)
    print(f"interrupted after {attempt.duration_ms} ms of a 3000 ms limit")
    assert job.status == Job.Status.FAILED and job.attempt_count == 1
    assert attempt.outcome == Attempt.Outcome.FAILED and attempt.error_class == TIME_LIMIT_ERROR
    assert "time limit" in attempt.error_message and "TimeLimitExceeded" in attempt.traceback
    assert 2500 <= attempt.duration_ms < 4000  # the limit, and interrupted within a second of it


def test_an_async_task_past_its_limit_is_cancelled_at_its_await(live_env, processes):
    """A coroutine in one long ``await``: the limit cancels it there, not when the sleep ends."""
    live_env["JOBS_TIME_LIMIT_S"] = "3"
    processes.worker(live_env)

    result = taskfns.wait_for_async.enqueue(20)
    wait_until(lambda: finished(result.id), 30, "the task ended")

    job = Job.objects.get(result_id=result.id)
    [attempt] = Attempt.objects.filter(job=job)
    print(f"async task interrupted after {attempt.duration_ms} ms of a 3000 ms limit")
    assert job.status == Job.Status.FAILED and job.attempt_count == 1
    assert attempt.error_class == TIME_LIMIT_ERROR
    assert 2500 <= attempt.duration_ms < 4000


def test_a_task_within_its_own_limit_runs_to_the_end_and_is_never_taken_over(live_env, processes):
    """Its own 60 s, not the workers' 5 s default (nor EMAIL_TIMEOUT's), bounds it: no interrupt, no take-over.

    With a limit of 5 s and JOBS_HEARTBEAT_TIMEOUT_MS of 3 s (tests), a rule blind to the
    claim's own limit would take it over after 8 s.
    """
    live_env.update(JOBS_TIME_LIMIT_S="5", EMAIL_TIMEOUT="1")
    processes.worker(live_env, processes=2, threads=2)

    result = taskfns.run_for_within_its_own_limit.enqueue(16)
    wait_until(lambda: finished(result.id), 60, "the task ended")

    job = Job.objects.get(result_id=result.id)
    outcomes = list(Attempt.objects.filter(job=job).values_list("outcome", flat=True))
    assert job.status == Job.Status.SUCCEEDED and job.return_value >= 16
    assert outcomes == [Attempt.Outcome.SUCCEEDED]
    assert job.attempt_count == 1 and job.lost_attempts == 0
