"""django-tasks' own cases, on Herald's backend: those of 0.12.0's ``tests/test_tasks.py`` and of
django-tasks-db's backend tests that fit a backend whose worker is another process.

Enqueueing and reading run here; the tasks run in a ``rundramatiq`` process.
The coroutine cases run through ``async_to_sync``, as Django's test case runs
an ``async def`` test. Left out: the framework's own dummy and immediate
backends, priorities (Herald refuses them), and django-tasks-db's worker,
pruning and row locking, which Herald does its own way.
"""

import dataclasses
import re
import uuid
from datetime import datetime

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone
from django.utils.module_loading import import_string

from jobs.backends import DramatiqTaskBackend
from jobs.enqueue.outbox import publish
from jobs.models import Attempt, Job
from jobs.tasks_api import (
    InvalidTask,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task,
    task_backends,
    task_enqueued,
)
from tests.support import framework_tasks as tasks
from tests.support.waiting import until_finished, wait_until

pytestmark = pytest.mark.integration

backend = task_backends["default"]
NOT_JSON = re.escape("Unsupported type: <class 'datetime.datetime'>")


@pytest.fixture
def enqueued_signals():
    received = []

    def receive(sender, task_result, **kwargs):
        received.append((sender, task_result))

    task_enqueued.connect(receive)
    yield received
    task_enqueued.disconnect(receive)


def run_unimportable(task_path):
    """A job naming ``task_path``, published as enqueue() would; its row once a worker has finished it."""
    job = Job.objects.create(task_path=task_path, args=[], due_at=timezone.now())
    publish(job.pk, "default")
    wait_until(lambda: Job.objects.get(pk=job.pk).is_final, 20, f"job of {task_path} finished")
    return Job.objects.get(pk=job.pk)


# Enqueue and read back ---------------------------------------------------------------------


@pytest.mark.parametrize("enqueued", [tasks.noop_task, tasks.noop_task_async])
def test_enqueue_task(transactional_db, enqueued_signals, enqueued):
    result = enqueued.enqueue(1, two=3)

    assert uuid.UUID(result.id).version == 4
    assert result.status == TaskResultStatus.READY and not result.is_finished
    assert (result.started_at, result.last_attempted_at, result.finished_at) == (None, None, None)
    with pytest.raises(ValueError, match="Task has not finished yet"):
        result.return_value  # noqa: B018
    assert result.task == enqueued and result.args == [1] and result.kwargs == {"two": 3}
    assert result.attempts == 0
    assert enqueued_signals == [(DramatiqTaskBackend, result)]


@pytest.mark.parametrize("enqueued", [tasks.noop_task, tasks.noop_task_async])
def test_enqueue_task_async(transactional_db, enqueued_signals, enqueued):
    result = async_to_sync(enqueued.aenqueue)()

    assert uuid.UUID(result.id).version == 4 and result.status == TaskResultStatus.READY
    assert result.task == enqueued and (result.args, result.kwargs, result.attempts) == ([], {}, 0)
    assert enqueued_signals == [(DramatiqTaskBackend, result)]


def test_enqueue_with_invalid_argument(transactional_db):
    with pytest.raises(TypeError, match=NOT_JSON):
        tasks.noop_task.enqueue(datetime.now())
    with pytest.raises(TypeError, match=NOT_JSON):
        async_to_sync(tasks.noop_task.aenqueue)(datetime.now())
    assert not Job.objects.exists()


def test_get_result(transactional_db):
    result = backend.enqueue(tasks.noop_task, [], {})
    assert backend.get_result(result.id) == result
    assert tasks.noop_task.get_result(result.id) == result


def test_get_result_async(transactional_db):
    result = async_to_sync(backend.aenqueue)(tasks.noop_task, [], {})
    assert async_to_sync(backend.aget_result)(result.id) == result
    assert async_to_sync(tasks.noop_task.aget_result)(result.id) == result


def test_refresh_result_changes_nothing_while_the_job_waits(transactional_db):
    result = async_to_sync(tasks.noop_task.aenqueue)()
    original = dataclasses.asdict(result)

    result.refresh()
    assert dataclasses.asdict(result) == original
    async_to_sync(result.arefresh)()
    assert dataclasses.asdict(result) == original


@pytest.mark.parametrize("result_id", [str(uuid.uuid4()), "123"])
def test_get_missing_result_and_invalid_uuid(transactional_db, result_id):
    with pytest.raises(TaskResultDoesNotExist):
        backend.get_result(result_id)
    with pytest.raises(TaskResultDoesNotExist):
        async_to_sync(backend.aget_result)(result_id)
    with pytest.raises(TaskResultDoesNotExist):
        tasks.noop_task.get_result(result_id)


def test_get_incorrect_result(transactional_db):
    result = backend.enqueue(tasks.noop_task_async, [], {})
    with pytest.raises(Exception, match="Task does not match"):
        tasks.noop_task.get_result(result.id)
    with pytest.raises(Exception, match="Task does not match"):
        async_to_sync(tasks.noop_task.aget_result)(result.id)


# Validation --------------------------------------------------------------------------------


def test_validate_on_enqueue_an_unknown_queue():
    with pytest.raises(InvalidTask, match="Queue 'queue-2' is not valid for backend"):
        tasks.noop_task.using(queue_name="queue-2")


def test_naive_run_after_is_refused():
    with pytest.raises(InvalidTask, match="run_after must be an aware datetime"):
        tasks.noop_task.using(run_after=datetime.now())


def test_priority_is_refused():
    with pytest.raises(InvalidTask, match="does not support priority"):
        tasks.noop_task.using(priority=1)


def test_invalid_function():
    def local_function():
        return None

    for invalid_function in [any, local_function]:
        with pytest.raises(InvalidTask, match="Task function must be defined at a module level"):
            task()(invalid_function)


def test_takes_context_without_taking_context():
    with pytest.raises(
        InvalidTask, match="Task takes context but does not have a first argument of 'context'"
    ):
        task(takes_context=True)(tasks.calculate_meaning_of_life.func)


def test_name_and_module_path():
    assert (tasks.noop_task.name, tasks.noop_task_async.name) == ("noop_task", "noop_task_async")
    for each in (tasks.noop_task, tasks.noop_task_async):
        assert import_string(each.module_path) is each


def test_call_task_and_async_task_both_ways():
    assert tasks.calculate_meaning_of_life.call() == 42
    assert async_to_sync(tasks.calculate_meaning_of_life.acall)() == 42
    assert tasks.noop_task_async.call() is None
    assert async_to_sync(tasks.noop_task_async.acall)() is None


# Run by a worker ---------------------------------------------------------------------------


@pytest.mark.parametrize("enqueued", [tasks.noop_task, tasks.noop_task_async])
def test_run_enqueued_task(worker, enqueued):
    result = enqueued.enqueue()
    assert result.status == TaskResultStatus.READY

    until_finished(result)

    assert result.status == TaskResultStatus.SUCCESSFUL and result.attempts == 1
    assert result.enqueued_at <= result.started_at <= result.finished_at
    assert result.last_attempted_at is not None and result.return_value is None


def test_refresh_result_after_the_worker_ran_it(worker):
    result = tasks.calculate_meaning_of_life.enqueue()
    assert (result.status, result.started_at, result.attempts) == (TaskResultStatus.READY, None, 0)

    until_finished(result)

    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 42
    assert result.started_at and result.last_attempted_at and result.finished_at and result.attempts == 1


def test_failing_task(worker):
    result = until_finished(tasks.failing_task_value_error.enqueue())

    assert result.status == TaskResultStatus.FAILED
    assert result.enqueued_at <= result.started_at <= result.finished_at
    with pytest.raises(ValueError, match="Task failed"):
        result.return_value  # noqa: B018
    assert result.errors[0].exception_class is ValueError
    assert result.errors[0].traceback.endswith("ValueError: This task failed due to ValueError\n")


def test_complex_exception(worker):
    result = until_finished(tasks.complex_exception.enqueue())

    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class is ValueError
    assert 'ValueError(ValueError("This task failed"))' in result.errors[0].traceback


def test_complex_return_value(worker):
    result = until_finished(tasks.complex_return_value.enqueue())

    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class is TypeError
    assert "Unsupported type" in result.errors[0].traceback  # Herald's JSON check: normalize_json's words


def test_takes_context(worker):
    result = until_finished(tasks.get_task_id.enqueue())
    assert result.return_value == result.id


def test_context(worker):
    result = until_finished(tasks.check_context.enqueue(1))
    assert result.status == TaskResultStatus.SUCCESSFUL


def test_invalid_task_path(worker):
    assert run_unimportable("subprocess.check_output").status == Job.Status.FAILED


def test_missing_task_path(worker):
    assert run_unimportable("missing.func").status == Job.Status.FAILED


def test_task_import_string(worker):
    job = run_unimportable("tests.support.framework_tasks.some_test")
    assert job.status == Job.Status.FAILED
    assert "ImportError" in Attempt.objects.get(job=job).traceback
