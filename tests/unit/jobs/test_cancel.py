"""The cancel service's state rules: what may be cancelled, what it becomes, and what the claim then refuses."""

import threading
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from jobs import services
from jobs.errors import JobCancelled
from jobs.models import Attempt, Job
from jobs.tasks_api import TaskResultStatus
from jobs.worker import tracking
from jobs.worker.cancels import CancelWatch
from tests.support import taskfns
from tests.support.factories import make_job
from tests.support.inprocess import drain
from tests.support.task_signals import of
from tests.support.waiting import wait_until


def finished(heard, result_id):
    """Each task_finished sent for the job: its status and the classes of its errors."""
    return [(event.status, event.errors) for event in of(heard, result_id, "finished")]


def test_a_queued_job_is_cancelled_at_once_and_reads_failed_with_one_cancel_error(db):
    result = taskfns.add.enqueue(1, 2)

    job = services.cancel_job(job_id=result.id, by="ops")

    assert job.status == Job.Status.CANCELLED and job.finished_at is not None
    assert job.cancelled_by == "ops" and job.last_error == "Cancelled by ops before it ran."
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert [error.exception_class for error in result.errors] == [JobCancelled]


def test_a_retrying_job_is_cancelled_before_its_next_attempt(db):
    job = make_job(status=Job.Status.RETRYING, attempt_count=1)

    cancelled = services.cancel_job(job_id=job.pk, by="ops")

    assert cancelled.status == Job.Status.CANCELLED
    assert cancelled.last_error == "Cancelled by ops before its next attempt."


def test_the_claim_refuses_a_cancelled_job(db):
    job = make_job(status=Job.Status.QUEUED)
    services.cancel_job(job_id=job.pk)

    assert tracking.claim_job(job.pk, worker_id="w1", message_id="m", first_hand=True) is None
    assert tracking.claim_job(job.pk, worker_id="w1", message_id="m") is None
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and job.attempt_count == 0 and job.worker_id == ""


def test_a_running_job_is_marked_for_its_worker_and_keeps_running_until_it_stops(db):
    job = make_job(status=Job.Status.RUNNING, worker_id="w1", claimed_at=timezone.now(), attempt_count=1)

    marked = services.cancel_job(job_id=job.pk, by="ops")

    assert marked.status == Job.Status.RUNNING and marked.cancel_requested_at is not None
    assert marked.cancelled_by == "ops"
    with pytest.raises(services.CancelRefused, match="being cancelled already"):
        services.cancel_job(job_id=job.pk)


@pytest.mark.parametrize("status", [Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED])
def test_a_finished_job_is_refused_and_left_as_it_was(db, status):
    job = make_job(status=status, finished_at=timezone.now(), last_error="as it was")

    with pytest.raises(services.CancelRefused, match=f"already finished: it is {status.label.lower()}"):
        services.cancel_job(job_id=job.pk, by="ops")

    job.refresh_from_db()
    assert (job.status, job.last_error, job.cancel_requested_at) == (status, "as it was", None)


@pytest.mark.parametrize("job_id", [987654, "987654", "nine", "", None, 2**80])
def test_an_unknown_or_malformed_id_is_refused(db, job_id):
    with pytest.raises(services.CancelRefused, match="No job with id"):
        services.cancel_job(job_id=job_id)


def test_task_finished_is_sent_after_commit_for_a_job_cancelled_before_it_ran(
    db, django_capture_on_commit_callbacks, heard
):
    result = taskfns.add.enqueue(2, 2)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_job(job_id=result.id)
        assert finished(heard, result.id) == []
    assert finished(heard, result.id) == [(TaskResultStatus.FAILED, [JobCancelled])]


def test_cancel_jobs_reports_each_row(db):
    queued = make_job("a@example.com")
    done = make_job("b@example.com", status=Job.Status.SUCCEEDED, finished_at=timezone.now())

    cancelled, refused = services.cancel_jobs([queued.pk, done.pk, 424242], by="ops")

    assert [job.pk for job in cancelled] == [queued.pk]
    assert [job_id for job_id, _ in refused] == [done.pk, 424242]
    assert "already finished" in refused[0][1] and "No job with id 424242" in refused[1][1]


def test_cancel_result_takes_the_task_result_that_enqueue_returned(db):
    result = taskfns.add.enqueue(3, 4)

    services.cancel_result(result, by="code")

    result.refresh()
    assert result.status == TaskResultStatus.FAILED and len(result.errors) == 1


def test_a_retry_recorded_after_a_cancel_was_asked_cancels_the_job_instead(db):
    job = make_job(status=Job.Status.QUEUED)
    claim = tracking.claim_job(job.pk, worker_id="w1", message_id="m", first_hand=True)
    services.cancel_job(job_id=job.pk, by="ops")

    attempt = tracking.record_failure(claim, ConnectionError("reset"), retry_in_ms=100)

    job.refresh_from_db()
    assert attempt.job_status == Job.Status.CANCELLED and job.status == Job.Status.CANCELLED
    assert job.last_error == "Cancelled by ops while it ran."
    assert list(Attempt.objects.filter(job=job).values_list("outcome", flat=True)) == [Attempt.Outcome.FAILED]


def test_a_cancelled_job_whose_worker_died_is_ended_by_the_take_over_not_run_again(db):
    long_ago = timezone.now() - timedelta(minutes=5)
    job = make_job(status=Job.Status.RUNNING, worker_id="", claimed_at=long_ago, attempt_count=1)
    services.cancel_job(job_id=job.pk, by="ops")

    claim = tracking.claim_job(job.pk, worker_id="w2", message_id="m2")

    job.refresh_from_db()
    assert isinstance(claim, tracking.GaveUp)
    assert job.status == Job.Status.CANCELLED and job.attempt_count == 1
    assert list(job.attempts.values_list("outcome", flat=True)) == [Attempt.Outcome.LOST]


def test_the_watch_interrupts_the_thread_running_a_cancelled_job_once(db):
    job = make_job(status=Job.Status.RUNNING, worker_id="w1", claimed_at=timezone.now(), attempt_count=1)
    watch = CancelWatch()
    entered, outcome = threading.Event(), []

    def run():
        try:
            with watch.interruptible(job.pk):
                entered.set()
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    time.sleep(0.01)
            outcome.append("ran to the end")
        except JobCancelled:
            outcome.append("interrupted")

    thread = threading.Thread(target=run)
    thread.start()
    entered.wait(5)
    assert watch.interrupt_cancelled() == []  # not cancelled: left alone
    services.cancel_job(job_id=job.pk)
    assert watch.interrupt_cancelled() == [job.pk]
    thread.join(5)
    assert outcome == ["interrupted"] and watch.running == {}
    assert watch.interrupt_cancelled() == []


def test_a_job_cancelled_while_running_sends_task_finished_once_failed_with_the_cancel(
    in_process_worker, broker, heard
):
    result = taskfns.counted_busy_for.enqueue("signalled", 30)
    wait_until(lambda: cache.get("signalled") == 1, 10, "the task started")
    services.cancel_job(job_id=result.id)
    wait_until(lambda: finished(heard, result.id), 10, "task_finished sent")
    drain(broker, in_process_worker)
    assert finished(heard, result.id) == [(TaskResultStatus.FAILED, [JobCancelled])]


def test_a_cancel_racing_a_claim_either_keeps_the_job_from_running_or_reaches_it_running(transactional_db):
    job_ids = [make_job(f"race{n}@example.com").pk for n in range(40)]
    start, claimed = threading.Barrier(2), {}

    def claim_all():
        start.wait()
        for job_id in job_ids:
            claimed[job_id] = tracking.claim_job(job_id, worker_id="w1", message_id="m") is not None
        connection.close()

    def cancel_all():
        start.wait()
        for job_id in reversed(job_ids):  # the two meet somewhere in the middle
            services.cancel_job(job_id=job_id, by="race")
        connection.close()

    threads = [threading.Thread(target=claim_all), threading.Thread(target=cancel_all)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    rows = {row.pk: row for row in Job.objects.filter(pk__in=job_ids)}
    print(f"{sum(claimed.values())} of {len(job_ids)} reached running first")
    for job_id in job_ids:
        row = rows[job_id]
        if claimed[job_id]:  # reached running: marked for its worker, never cancelled under it
            assert (row.status, row.attempt_count) == (Job.Status.RUNNING, 1) and row.cancel_requested_at
        else:  # kept from running
            assert (row.status, row.attempt_count) == (Job.Status.CANCELLED, 0)
