"""The django-tasks documentation's examples, unchanged, on Herald's backend with a real worker process.

Define a task, enqueue it, read its result by id, defer it, inspect its
errors: a ``rundramatiq`` process runs each task; this process only enqueues
and reads, as a web process would.
"""

import os
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from jobs.models import Attempt, Job
from jobs.tasks_api import TaskResultStatus, task_backends
from tests.support import taskfns
from tests.support.waiting import until_finished

pytestmark = pytest.mark.integration


def test_define_enqueue_and_read_the_return_value(worker):
    result = taskfns.calculate_meaning_of_life.enqueue()
    assert result.status == TaskResultStatus.READY
    until_finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 42
    assert len(result.worker_ids) == 1 and result.attempts == 1
    assert result.started_at <= result.finished_at


def test_get_result_by_id_through_the_task_and_the_backend(worker):
    result_id = taskfns.add.enqueue(2, 40).id
    until_finished(taskfns.add.get_result(result_id))
    assert taskfns.add.get_result(result_id).return_value == 42
    assert task_backends["default"].get_result(result_id).args == [2, 40]


def test_an_async_task_runs_on_the_worker_and_its_return_value_reads_back(worker):
    result_id = taskfns.add_async.enqueue(40, 2).id
    result = until_finished(taskfns.add_async.get_result(result_id))
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 42
    assert result.attempts == 1 and result.worker_ids


def test_an_async_task_is_retried_with_its_own_policy_like_any_other(worker):
    result = until_finished(taskfns.flaky_async.enqueue(f"flaky-{uuid.uuid4()}", 2))
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 3
    assert [error.exception_class for error in result.errors] == [ConnectionError, ConnectionError]
    outcomes = list(Attempt.objects.filter(job__result_id=result.id).values_list("outcome", flat=True))
    assert outcomes == ["retry", "retry", "succeeded"]


def test_inspect_the_errors_of_a_failed_task(worker):
    result = until_finished(taskfns.refuse.enqueue("nope"))
    assert result.status == TaskResultStatus.FAILED
    [error] = result.errors  # a ValueError is permanent: one attempt, no retry
    assert error.exception_class is ValueError
    assert "ValueError: nope" in error.traceback


def test_a_transient_error_is_retried_with_the_tasks_own_policy(worker):
    result = until_finished(taskfns.flaky.enqueue(f"flaky-{uuid.uuid4()}", 2))
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 3
    assert [error.exception_class for error in result.errors] == [ConnectionError, ConnectionError]
    assert result.attempts == 3
    outcomes = list(Attempt.objects.filter(job__result_id=result.id).values_list("outcome", flat=True))
    assert outcomes == ["retry", "retry", "succeeded"]


def test_a_transient_error_past_the_tasks_retry_limit_fails(worker):
    result = until_finished(taskfns.flaky.enqueue(f"flaky-{uuid.uuid4()}", 10))
    assert result.status == TaskResultStatus.FAILED
    assert len(result.errors) == 4  # the first run and max_retries=3 retries


def test_defer_with_run_after(worker):
    run_after = timezone.now() + timedelta(seconds=2)
    result = taskfns.add.using(run_after=run_after).enqueue(1, 1)
    until_finished(result)
    assert result.return_value == 2
    assert result.started_at >= run_after
    assert Job.objects.get(result_id=result.id).run_after == run_after


def test_a_task_that_takes_context_sees_its_own_result(worker):
    result = until_finished(taskfns.which_attempt.enqueue())
    assert result.return_value == {"id": result.id, "attempt": 1}


def test_the_frameworks_signals_are_sent_enqueued_here_started_and_finished_by_the_worker(worker):
    key = f"noted-{uuid.uuid4()}"
    result = until_finished(taskfns.noted.enqueue(key))

    enqueued, started, done = (
        cache.get(f"{key}:{name}") for name in ("task_enqueued", "task_started", "task_finished")
    )
    assert enqueued == {
        "status": "READY",
        "sender": "DramatiqTaskBackend",
        "pid": os.getpid(),
        "worker_ids": [],
        "errors": 0,
    }
    assert started["pid"] == done["pid"] != os.getpid()  # sent in the worker process
    assert started == {
        **started,
        "status": "RUNNING",
        "sender": "DramatiqTaskBackend",
        "worker_ids": result.worker_ids,
    }
    assert done == {
        **done,
        "status": "SUCCESSFUL",
        "worker_ids": result.worker_ids,
        "return_value": key,
        "errors": 0,
    }
