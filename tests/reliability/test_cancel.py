"""Cancel against real ``rundramatiq`` processes, on Redis (and RabbitMQ with ``--broker rabbitmq``).

A job cancelled before it runs never runs, whether its message waits on the
broker or is a delayed message a worker holds; a running job is interrupted
within 2 s, recorded cancelled with its attempt, and not started again.
"""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from jobs import services
from jobs.errors import JobCancelled
from jobs.models import Attempt, Job
from jobs.selectors import broker_queue_stats
from jobs.tasks_api import TaskResultStatus
from tests.integration.jobs.test_commands import run_manage
from tests.support import taskfns
from tests.support.publishing import published
from tests.support.waiting import wait_until

pytestmark = pytest.mark.reliability

# The bound the cancel promises for a running job.
STOPS_WITHIN_S = 2.0


def row_of(result):
    return Job.objects.get(result_id=result.id)


def status_of(result):
    return row_of(result).status


def skipped(worker, job_id):
    """The worker got job ``job_id``'s message and acknowledged it without running it."""
    return f"job={job_id} skipped" in worker.output()


def nothing_on_the_broker():
    queues = broker_queue_stats()
    return (queues["queue_depth"], queues["delayed"], queues["in_progress"] or 0) == (0, 0, 0)


def test_a_job_already_on_the_broker_is_skipped(live_env, processes):
    result = taskfns.counted_busy_for.enqueue("on-broker", 0)
    assert published(row_of(result))  # its message waits on the broker

    services.cancel_job(job_id=result.id, by="test")
    worker = processes.worker(live_env)

    wait_until(
        lambda: skipped(worker, row_of(result).pk), 30, "the worker skipped the cancelled job's message"
    )
    wait_until(nothing_on_the_broker, 10, "the message acknowledged")
    job = row_of(result)
    assert job.status == Job.Status.CANCELLED and job.attempt_count == 0 and cache.get("on-broker") is None


def test_a_deferred_job_cancelled_never_runs(live_env, processes):
    worker = processes.worker(live_env)
    run_after = timezone.now() + timedelta(seconds=10)  # longer than manage.py takes to start
    result = taskfns.counted_busy_for.using(run_after=run_after).enqueue("deferred", 0)
    assert row_of(
        result
    ).message_id  # a delayed message (fetched by the worker), not one the relay would send

    done = run_manage("cancel", str(result.id), env=live_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Job {row_of(result).pk} (counted_busy_for deferred) cancelled: it will not run.\n"

    wait_until(lambda: skipped(worker, row_of(result).pk), 30, "the worker skipped it once due")
    assert timezone.now() >= run_after
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert [error.exception_class for error in result.errors] == [JobCancelled]
    assert not Attempt.objects.filter(job__result_id=result.id).exists() and cache.get("deferred") is None


def test_a_running_job_stops_within_two_seconds_and_is_not_started_again(live_env, processes):
    worker = processes.worker(live_env)
    result = taskfns.counted_busy_for.enqueue("running", 60)
    wait_until(lambda: cache.get("running") == 1, 30, "the task started")

    asked = time.monotonic()
    services.cancel_job(job_id=result.id, by="test")
    wait_until(lambda: status_of(result) == Job.Status.CANCELLED, 10, "the job recorded cancelled")
    stopped_s = time.monotonic() - asked
    print(f"recorded cancelled {stopped_s:.2f} s after the cancel")
    assert stopped_s < STOPS_WITHIN_S

    wait_until(nothing_on_the_broker, 10, "the message acknowledged, no retry waiting")
    [attempt] = Attempt.objects.filter(job__result_id=result.id)
    assert (
        attempt.outcome == Attempt.Outcome.CANCELLED
        and attempt.error_message == "Cancelled by test while it ran."
    )
    assert attempt.duration_ms is not None and attempt.duration_ms < 60_000
    result.refresh()
    assert result.status == TaskResultStatus.FAILED and len(result.errors) == 1

    # The worker goes on with other jobs, and the cancelled one never starts again.
    after = taskfns.add.enqueue(2, 3)
    wait_until(lambda: status_of(after) == Job.Status.SUCCEEDED, 30, "the next job ran")
    assert cache.get("running") == 1 and row_of(result).attempt_count == 1
    assert worker.alive()


def test_a_running_async_job_stops_within_two_seconds(live_env, processes):
    """A coroutine in one long ``await`` is cancelled there: recorded cancelled, never started again."""
    worker = processes.worker(live_env)
    result = taskfns.counted_wait_async.enqueue("running-async", 60)
    wait_until(lambda: cache.get("running-async") == 1, 30, "the task started")

    asked = time.monotonic()
    services.cancel_job(job_id=result.id, by="test")
    wait_until(lambda: status_of(result) == Job.Status.CANCELLED, 10, "the job recorded cancelled")
    stopped_s = time.monotonic() - asked
    print(f"async job recorded cancelled {stopped_s:.2f} s after the cancel")
    assert stopped_s < STOPS_WITHIN_S

    [attempt] = Attempt.objects.filter(job__result_id=result.id)
    assert attempt.outcome == Attempt.Outcome.CANCELLED and attempt.duration_ms < 10_000
    after = taskfns.add_async.enqueue(2, 3)
    wait_until(lambda: status_of(after) == Job.Status.SUCCEEDED, 30, "the next async job ran")
    assert row_of(after).return_value == 5
    assert cache.get("running-async") == 1 and row_of(result).attempt_count == 1 and worker.alive()
