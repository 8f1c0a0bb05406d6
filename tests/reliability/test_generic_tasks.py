"""The fault matrix for any task, not only the account emails: a killed worker, a poison task, a broker restart.

Tasks from ``tests.support.taskfns``, run by real ``rundramatiq`` processes
against the suite's redis-server (or rabbitmq-server with --broker rabbitmq).
"""

import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Attempt, Job
from jobs.tasks_api import TaskResultStatus
from jobs.worker import tracking
from tests.support import taskfns
from tests.support.waiting import wait_until

pytestmark = pytest.mark.reliability

Status = Job.Status


def status_of(result_id):
    return Job.objects.get(result_id=result_id).status


def test_a_task_whose_worker_is_killed_mid_run_is_taken_over_and_runs_to_the_end(live_env, processes):
    doomed = processes.worker(live_env)
    result = taskfns.sleep_then_return.enqueue(3, "done")
    wait_until(lambda: status_of(result.id) == Status.RUNNING, 20, "the task started")
    processes.worker(live_env, name="survivor")

    killed_at = time.monotonic()
    for pid in doomed.children():
        os.kill(pid, 9)
    wait_until(lambda: status_of(result.id) == Status.SUCCEEDED, 30, "the task ran again to the end")
    print(f"finished {time.monotonic() - killed_at:.1f} s after the kill (the task itself takes 3 s)")

    result.refresh()
    assert result.return_value == "done"
    outcomes = list(Attempt.objects.filter(job__result_id=result.id).values_list("outcome", flat=True))
    assert outcomes == [Attempt.Outcome.LOST, Attempt.Outcome.SUCCEEDED]
    assert [error.exception_class.__name__ for error in result.errors] == ["WorkerLost"]


def test_a_task_that_kills_its_worker_ends_failed_and_other_tasks_still_run(live_env, processes):
    workers = []
    # The workers' relay sweep puts back what the dead workers had fetched and not yet claimed.
    poison = taskfns.kill_own_worker.enqueue()
    others = [taskfns.add.enqueue(n, n) for n in range(3)]

    def poison_failed():
        if not workers or workers[-1] is None or not workers[-1].alive():
            try:
                workers.append(processes.worker(live_env, name=f"worker-{len(workers)}"))
            except RuntimeError:
                workers.append(None)  # it died while booting: it ran the poison at once
        return status_of(poison.id) == Status.FAILED

    wait_until(poison_failed, 120, "the poison task failed")
    poison.refresh()
    assert poison.status == TaskResultStatus.FAILED
    assert len(poison.errors) == tracking.MAX_LOST_ATTEMPTS
    assert "died during" in Job.objects.get(result_id=poison.id).last_error
    if workers[-1] is None or not workers[-1].alive():
        processes.worker(live_env, name="last")
    for result in others:
        wait_until(lambda r=result: status_of(r.id) == Status.SUCCEEDED, 30, "the other tasks ran")
    assert [Job.objects.get(result_id=r.id).return_value for r in others] == [0, 2, 4]


def test_queued_and_deferred_tasks_survive_a_broker_restart(live_env, processes, broker_server):
    queued = taskfns.add.enqueue(1, 2)
    deferred = taskfns.add.using(run_after=timezone.now() + timedelta(seconds=3)).enqueue(3, 4)
    broker_server.stop()
    broker_server.start()
    processes.worker(live_env)
    for result in (queued, deferred):
        wait_until(lambda r=result: status_of(r.id) == Status.SUCCEEDED, 30, "the task ran after the restart")
    assert Job.objects.get(result_id=deferred.id).return_value == 7
    assert Attempt.objects.filter(job__result_id__in=[queued.id, deferred.id]).count() == 2  # once each


def test_a_task_enqueued_while_the_broker_is_down_runs_once_it_is_back(live_env, processes, broker_server):
    processes.worker(live_env)  # no scheduler: the workers' relay sends it
    broker_server.stop()
    try:
        result = taskfns.add.enqueue(5, 6)  # no exception: the row waits for the relay
        assert Job.objects.get(result_id=result.id).message_id == ""  # the broker holds none
    finally:
        broker_server.start()

    # The scheduler's relay sweep (every JOBS_RELAY_INTERVAL_S, 1 s in the tests) publishes it.
    wait_until(lambda: status_of(result.id) == Status.SUCCEEDED, 30, "the task ran once the broker was back")
    result.refresh()
    assert result.return_value == 11 and result.attempts == 1
