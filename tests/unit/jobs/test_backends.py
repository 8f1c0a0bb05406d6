"""Herald's django.tasks backend: enqueue writes the row in the caller's transaction, get_result reads it."""

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from jobs.backends import PRIORITY_REFUSED
from jobs.enqueue.outbox import relay_unsent
from jobs.models import Attempt, Job
from jobs.tasks_api import InvalidTask, TaskResultDoesNotExist, TaskResultStatus, task_backends
from tests.support import taskfns

pytestmark = pytest.mark.django_db(transaction=True)


def published(broker, queue="default"):
    """Message ids waiting on ``queue`` (not yet fetched by a worker)."""
    counts = broker.queue_counts(queue)
    return counts["queue_depth"] + counts["delayed"]


def test_enqueue_in_a_transaction_writes_the_row_and_publishes_on_commit(broker):
    with transaction.atomic():
        result = taskfns.add.enqueue(2, 3)
        job = Job.objects.get(result_id=result.id)
        assert published(broker) == 0
    assert (job.task_path, job.args, job.kwargs, job.queue_name) == (
        "tests.support.taskfns.add",
        [2, 3],
        {},
        "default",
    )
    assert result.status == TaskResultStatus.READY and result.args == [2, 3]
    assert published(broker) == 1
    job.refresh_from_db()
    assert job.message_id and job.enqueued_at is None  # one write: named before the publish


def test_a_rolled_back_enqueue_leaves_nothing(broker):
    with pytest.raises(RuntimeError), transaction.atomic():
        taskfns.add.enqueue(1, 1)
        raise RuntimeError("rollback")
    assert not Job.objects.exists()
    assert published(broker) == 0


def test_outside_a_transaction_the_message_goes_at_once(broker):
    taskfns.calculate_meaning_of_life.enqueue()
    assert published(broker) == 1


def test_arguments_that_are_not_json_are_refused_and_nothing_is_written(broker):
    with pytest.raises(TypeError):
        taskfns.add.enqueue(object(), 1)
    assert not Job.objects.exists()


def test_get_result_reads_the_row_and_its_attempts(db):
    result = taskfns.refuse.enqueue("no")
    job = Job.objects.get(result_id=result.id)
    now = timezone.now()
    for number, outcome, error_class, traceback in [
        (1, Attempt.Outcome.RETRY, "builtins.ConnectionError", "Traceback: ConnectionError"),
        (2, Attempt.Outcome.FAILED, "builtins.ValueError", "Traceback: ValueError: no"),
    ]:
        Attempt.objects.create(
            job=job,
            number=number,
            worker_id=f"w{number}",
            started_at=now,
            finished_at=now,
            outcome=outcome,
            error_class=error_class,
            traceback=traceback,
        )
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.FAILED, attempt_count=2, finished_at=now, last_attempt_at=now
    )

    fetched = taskfns.refuse.get_result(result.id)
    assert fetched.status == TaskResultStatus.FAILED
    assert [error.exception_class for error in fetched.errors] == [ConnectionError, ValueError]
    assert fetched.worker_ids == ["w1", "w2"] and fetched.attempts == 2
    with pytest.raises(ValueError):
        fetched.return_value  # noqa: B018 - a failed task has none


def test_a_successful_result_has_its_return_value(db):
    result = taskfns.add.enqueue(20, 22)
    Job.objects.filter(result_id=result.id).update(
        status=Job.Status.SUCCEEDED, return_value=42, finished_at=timezone.now()
    )
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 42


@pytest.mark.parametrize(
    "result_id",
    [str(uuid.uuid4()), "999999", "not-a-number", "", "1" * 30, "x" * 5000, None, 12, ["a"]],
)
def test_get_result_of_an_unknown_or_malformed_id_raises_does_not_exist(db, result_id):
    with pytest.raises(TaskResultDoesNotExist):
        task_backends["default"].get_result(result_id)


def test_a_result_id_is_a_random_uuid_not_the_row_number(db):
    taskfns.add.enqueue(0, 0)
    first = taskfns.add.enqueue(1, 2)
    job = Job.objects.get(result_id=first.id)
    assert uuid.UUID(first.id).version == 4 and first.id != str(job.pk)
    with pytest.raises(TaskResultDoesNotExist):
        task_backends["default"].get_result(str(job.pk))  # the row number reads nothing
    assert task_backends["default"].get_result(first.id).args == [1, 2]
    assert task_backends["default"].get_result(first.id.upper()).args == [1, 2]


def test_a_result_of_another_task_is_refused(db):
    result = taskfns.add.enqueue(1, 2)
    with pytest.raises(Exception, match="Task does not match"):
        taskfns.refuse.get_result(result.id)


def test_a_queued_task_waits_on_its_queue(broker):
    taskfns.on_the_email_queue.enqueue()
    assert published(broker, "emails") == 1 and published(broker, "default") == 0


def test_run_after_within_minutes_is_a_delayed_message(broker):
    taskfns.add.using(run_after=timezone.now() + timedelta(seconds=30)).enqueue(1, 2)
    assert broker.queue_counts("default")["delayed"] == 1


def test_run_after_far_off_waits_in_the_database_until_due(broker):
    run_after = timezone.now() + timedelta(hours=2)
    result = taskfns.add.using(run_after=run_after).enqueue(1, 2)
    job = Job.objects.get(result_id=result.id)
    assert job.message_id == "" and job.due_at == run_after and job.run_after == run_after
    assert published(broker) == 0
    assert relay_unsent(now=timezone.now() + timedelta(minutes=30)) == []
    assert relay_unsent(now=run_after + timedelta(seconds=3)) == [job.pk]
    assert published(broker) == 1


def test_priority_is_refused_with_the_reason_and_what_to_do_instead():
    with pytest.raises(InvalidTask) as refused:
        taskfns.add.using(priority=10)

    assert str(refused.value) == PRIORITY_REFUSED
    assert "x-max-priority" in PRIORITY_REFUSED and "--queues" in PRIORITY_REFUSED
