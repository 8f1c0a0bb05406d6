"""One job per key: while a job with a task's key waits, enqueueing it again returns that job."""

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from jobs.models import Job
from jobs.tasks_api import InvalidTask, TaskResultStatus, task_enqueued
from jobs.worker import tracking
from tests.support import taskfns

pytestmark = pytest.mark.django_db(transaction=True)


def job_of(result):
    return Job.objects.get(result_id=result.id)


def claim(result):
    return tracking.claim_job(job_of(result).pk, worker_id="w-1", message_id="m-1")


def test_a_second_enqueue_while_the_first_waits_returns_the_first(broker):
    first = taskfns.count_runs.enqueue("ada")
    again = taskfns.count_runs.enqueue("ada")

    assert again.id == first.id and again.status == TaskResultStatus.READY
    assert Job.objects.count() == 1 and job_of(first).unique_key == "runs:ada"
    assert broker.queue_counts("default")["queue_depth"] == 1  # one message: nothing published twice


def test_an_enqueue_that_returns_the_waiting_job_sends_no_task_enqueued(db):
    sent = []

    def receive(sender, task_result, **kwargs):
        sent.append(task_result.id)

    task_enqueued.connect(receive)
    try:
        first = taskfns.count_runs.enqueue("ada")
        taskfns.count_runs.enqueue("ada")
    finally:
        task_enqueued.disconnect(receive)
    assert sent == [first.id]


def test_another_key_makes_another_job(db):
    assert taskfns.count_runs.enqueue("ada").id != taskfns.count_runs.enqueue("bob").id


def test_a_task_without_a_key_makes_a_job_each_time(db):
    assert taskfns.add.enqueue(1, 2).id != taskfns.add.enqueue(1, 2).id
    assert set(Job.objects.values_list("unique_key", flat=True)) == {""}


def test_the_same_key_inside_one_transaction_returns_the_first_and_the_transaction_goes_on(db):
    with transaction.atomic():
        first = taskfns.count_runs.enqueue("ada")
        again = taskfns.count_runs.enqueue("ada")
        other = taskfns.add.enqueue(1, 1)  # the transaction is still usable
    assert again.id == first.id and Job.objects.count() == 2 and job_of(other)


def test_a_deferred_job_holds_its_key(db):
    later = timezone.now() + timedelta(hours=1)
    first = taskfns.count_runs.using(run_after=later).enqueue("ada")

    again = taskfns.count_runs.enqueue("ada")  # "at once" joins the deferred job: it keeps its run_after

    assert again.id == first.id and job_of(first).run_after == later


def test_once_the_job_runs_a_new_enqueue_makes_a_new_job(db):
    first = taskfns.count_runs.enqueue("ada")
    claim(first)

    second = taskfns.count_runs.enqueue("ada")

    assert second.id != first.id
    assert Job.objects.filter(unique_key="runs:ada").count() == 2


def test_a_retrying_job_holds_its_key(db):
    first = taskfns.keyed_and_flaky.enqueue("ada")
    tracking.record_failure(claim(first), ConnectionError("down"), retry_in_ms=60_000)
    assert job_of(first).status == Job.Status.RETRYING

    assert taskfns.keyed_and_flaky.enqueue("ada").id == first.id


def test_a_job_that_goes_back_to_waiting_while_a_newer_one_holds_its_key_waits_without_it(db):
    first = taskfns.keyed_and_flaky.enqueue("ada")
    held = claim(first)
    newer = taskfns.keyed_and_flaky.enqueue("ada")  # the first is running: a new job

    tracking.record_failure(held, ConnectionError("down"), retry_in_ms=60_000)

    retrying = job_of(first)
    assert (retrying.status, retrying.unique_key) == (Job.Status.RETRYING, "")
    assert job_of(newer).unique_key == "ada"
    assert taskfns.keyed_and_flaky.enqueue("ada").id == newer.id


def test_a_finished_job_frees_its_key(db):
    first = taskfns.count_runs.enqueue("ada")
    tracking.record_success(claim(first), 1)

    assert taskfns.count_runs.enqueue("ada").id != first.id


@pytest.mark.parametrize("name", ["", "x" * 201, 7])
def test_a_key_that_is_not_a_short_text_is_refused_and_nothing_is_written(db, name):
    with pytest.raises(
        InvalidTask, match=re.escape("The job key of tests.support.taskfns.keyed_and_flaky must be a text")
    ):
        taskfns.keyed_and_flaky.enqueue(name)
    assert not Job.objects.exists()
